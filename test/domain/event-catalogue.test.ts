// Timeline rows as catalogue events: corrections and retractions are events of their own that name
// what they supersede; every timeline type has a catalogue type; shapes drop unknown fields.
import { describe, expect, it } from 'vitest';
import { catalogueType, EVENT_TYPES, toCatalogueEvent, type FeedRow } from '../../domain/events/catalogue.js';
import { TIMELINE_EVENT_TYPES } from '../../domain/timeline.js';
import { milestoneCorrected, milestoneRetracted, etaChanged, initialTimelineKeys } from '../../domain/shipment/timeline.js';

const ctx = { stops: new Map([[1, { sequence: 1, type: 'pickup', name: 'Lyon DC', location: { lat: 45.7, lon: 4.8 }, geofenceRadiusM: 500 }]]) } as never;

function row(event: { type: string; occurredAt: string; stopSequence?: number; data: Record<string, unknown>; actor?: string }, supersedesEventId: string | null = null): FeedRow {
  return {
    id: 'evt-id',
    seq: '42',
    tenantId: 't1',
    shipmentId: 's1',
    shipmentReference: 'PO-1',
    timelineType: event.type,
    occurredAt: event.occurredAt,
    recordedAt: '2026-12-02T08:00:00.000000Z',
    stopSequence: event.stopSequence ?? null,
    data: event.data,
    actor: event.actor ?? null,
    supersedesEventId,
  };
}

describe('event catalogue', () => {
  it('names every timeline type and the assignment event', () => {
    for (const type of [...TIMELINE_EVENT_TYPES, 'ASSIGNMENT_CHANGED']) expect(EVENT_TYPES).toContain(catalogueType(type));
    expect(catalogueType('ARRIVED')).toBe('stop.arrived');
    expect(catalogueType('MILESTONE_RETRACTED')).toBe('stop.milestone_retracted');
  });

  it('tells a corrected arrival as a new stop.arrived superseding the first, and a retraction as its own event', () => {
    const corrected = milestoneCorrected(initialTimelineKeys(), 'ARRIVED', 1, '2026-12-02T07:10:00Z', '2026-12-02T07:04:00Z', { lat: 45.7, lon: 4.8 }, ctx);
    const event = toCatalogueEvent(row(corrected.events[0]!, 'first-arrival-id'));
    expect(event).toEqual({
      id: 'evt-id',
      type: 'stop.arrived',
      cursor: '42',
      tenantId: 't1',
      shipmentId: 's1',
      shipmentReference: 'PO-1',
      occurredAt: '2026-12-02T07:04:00Z',
      recordedAt: '2026-12-02T08:00:00.000000Z',
      data: { stopSequence: 1, stopName: 'Lyon DC', stopType: 'pickup', position: { lat: 45.7, lon: 4.8 }, corrected: true, supersedesEventId: 'first-arrival-id', previousAt: '2026-12-02T07:10:00Z' },
    });
    const retracted = milestoneRetracted(corrected.keys, 'ARRIVED', 1, '2026-12-02T07:04:00Z', ctx);
    expect(toCatalogueEvent(row(retracted.events[0]!, 'corrected-id'))).toMatchObject({
      type: 'stop.milestone_retracted',
      data: { milestone: 'ARRIVED', stopSequence: 1, stopName: 'Lyon DC', supersedesEventId: 'corrected-id' },
    });
  });

  it('keeps the ETA change with its delta, and only catalogue fields', () => {
    const eta = etaChanged(initialTimelineKeys(), 1, '2026-12-02T10:30:00Z', '2026-12-02T10:00:00Z', '2026-12-02T07:00:00Z', ctx);
    const event = toCatalogueEvent(row({ ...eta.events[0]!, data: { ...eta.events[0]!.data, internal: 'x' } }));
    expect(event.data).toEqual({ stopSequence: 1, stopName: 'Lyon DC', stopType: 'pickup', eta: '2026-12-02T10:30:00Z', previousEta: '2026-12-02T10:00:00Z', deltaMin: 30 });
  });
});
