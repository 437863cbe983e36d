// Every resource router shares the validation hook, so a zod failure anywhere becomes the same
// problem+json with one `errors` entry per offending field.
import { OpenAPIHono } from '@hono/zod-openapi';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Database, ShipmentRow } from '../db/schema.js';
import { findShipment } from '../db/repositories/shipments.js';
import type { AppEnv } from './context.js';
import { notFound, ProblemError, validationProblem, zodFieldErrors } from './problem.js';
import type { ZodError } from 'zod';

export function validationHook(result: { success: true } | { success: false; error: ZodError }): void {
  if (!result.success) throw validationProblem(zodFieldErrors(result.error));
}

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** The caller's tenant's shipment or a 404 that looks the same whether it is missing or someone else's. */
export async function loadShipment(c: Context<AppEnv>, db: Kysely<Database>, shipmentId: string): Promise<ShipmentRow> {
  const row = await findShipment(db, c.get('auth').tenantId, shipmentId);
  if (!row) throw notFound('Shipment not found.');
  c.set('logFields', { ...c.get('logFields'), shipmentId: row.id, workflowId: row.workflow_id });
  return row;
}

/**
 * Runs a shipment workflow Update within the API's deadline. A rejection by the workflow (its
 * validator or handler) and a closed workflow are both 409s: `what` names the refused action.
 */
export async function executeShipmentUpdate<T>(
  temporal: Client,
  deadlineMs: number,
  what: string,
  update: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  workflowId: string,
): Promise<T> {
  try {
    return await temporal.connection.withDeadline(Date.now() + deadlineMs, () => update(temporal.workflow.getHandle(workflowId)));
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause instanceof Error ? error.cause.message : 'the workflow refused it';
      throw new ProblemError('conflict', 409, `Shipment cannot ${what}: ${cause}`);
    }
    if (error instanceof WorkflowNotFoundError) throw new ProblemError('conflict', 409, `Shipment is closed and cannot ${what}.`);
    throw error;
  }
}
