// Public tracking links of a shipment: found by the sha256 of their token, valid until they
// expire or are revoked.
import type { Kysely } from 'kysely';
import type { Database, ShareLinkRow, ShipmentRow } from '../schema.js';
import { uuidOrNil } from './pagination.js';

export async function insertShareLink(
  db: Kysely<Database>,
  link: { id: string; tenantId: string; shipmentId: string; tokenHash: string; expiresAt: Date; createdByKeyId: string },
): Promise<ShareLinkRow> {
  return db
    .insertInto('share_links')
    .values({
      id: link.id,
      tenant_id: link.tenantId,
      shipment_id: link.shipmentId,
      token_hash: link.tokenHash,
      expires_at: link.expiresAt,
      created_by_key_id: link.createdByKeyId,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every link of the shipment, newest first, revoked and expired ones included. */
export async function listShareLinks(db: Kysely<Database>, tenantId: string, shipmentId: string): Promise<ShareLinkRow[]> {
  return db
    .selectFrom('share_links')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('shipment_id', '=', shipmentId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(500)
    .execute();
}

/** Revokes the link (a repeat keeps the first revocation time); undefined when the shipment has no such link. */
export async function revokeShareLink(db: Kysely<Database>, tenantId: string, shipmentId: string, linkId: string): Promise<ShareLinkRow | undefined> {
  const id = uuidOrNil(linkId);
  await db
    .updateTable('share_links')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .where('shipment_id', '=', shipmentId)
    .where('revoked_at', 'is', null)
    .execute();
  return db.selectFrom('share_links').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId).where('shipment_id', '=', shipmentId).executeTakeFirst();
}

/** The shipment a valid link points at: unknown, expired and revoked tokens all give undefined. */
export async function findSharedShipment(db: Kysely<Database>, tokenHash: string): Promise<ShipmentRow | undefined> {
  return db
    .selectFrom('share_links')
    .innerJoin('shipments', 'shipments.id', 'share_links.shipment_id')
    .selectAll('shipments')
    .where('share_links.token_hash', '=', tokenHash)
    .where('share_links.revoked_at', 'is', null)
    .where('share_links.expires_at', '>', new Date())
    .executeTakeFirst();
}
