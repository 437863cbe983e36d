// Request and response schemas: the same zod objects validate requests and generate /openapi.json.
import { z } from '@hono/zod-openapi';
import { ANOMALY_STATUSES, ANOMALY_TYPES, MILESTONE_TYPES, SHIPMENT_STATUSES, STOP_STATUSES, STOP_TYPES } from '../domain/types.js';
import { isoTime, pathId, resourceId, text } from './primitives.js';

export { isoTime, pathId, resourceId, text, uuid } from './primitives.js';

const latitude = z.number().min(-90, 'must be between -90 and 90').max(90, 'must be between -90 and 90');
const longitude = z.number().min(-180, 'must be between -180 and 180').max(180, 'must be between -180 and 180');
const id = resourceId();

export const LatLonSchema = z.strictObject({ lat: latitude, lon: longitude }).openapi('LatLon');

/** Devices send these for "unknown": stored as null, never a reason to refuse the batch. */
const unknownWhen = (schema: z.ZodNumber, isUnknown: (value: number) => boolean, description: string) =>
  schema
    .optional()
    .transform((value) => (value !== undefined && isUnknown(value) ? undefined : value))
    .openapi({ description });

export const ATTRIBUTE_LIMITS = { keys: 32, keyLength: 64, textLength: 256, totalBytes: 2048 } as const;
const ATTRIBUTE_KEY = new RegExp(`^[A-Za-z0-9_.:-]{1,${ATTRIBUTE_LIMITS.keyLength}}$`);
const ATTRIBUTE_KEY_MESSAGE = `keys are 1-${ATTRIBUTE_LIMITS.keyLength} letters, digits or . _ : -`;

const AttributesSchema = z
  .record(
    text({ max: ATTRIBUTE_LIMITS.keyLength, trim: false }).regex(ATTRIBUTE_KEY, ATTRIBUTE_KEY_MESSAGE),
    z.union([z.number(), z.boolean(), text({ max: ATTRIBUTE_LIMITS.textLength, trim: false })], {
      error: `values are numbers, booleans or text up to ${ATTRIBUTE_LIMITS.textLength} characters`,
    }),
    { error: (issue) => (issue.code === 'invalid_key' ? ATTRIBUTE_KEY_MESSAGE : undefined) },
  )
  .refine((attributes) => Object.keys(attributes).length <= ATTRIBUTE_LIMITS.keys, { message: `at most ${ATTRIBUTE_LIMITS.keys} keys` })
  .refine((attributes) => Buffer.byteLength(JSON.stringify(attributes)) <= ATTRIBUTE_LIMITS.totalBytes, {
    message: `at most ${ATTRIBUTE_LIMITS.totalBytes} bytes of JSON`,
  })
  .openapi({
    description:
      `Vendor-specific readings (e.g. Teltonika IO elements, Traccar attributes): at most ${ATTRIBUTE_LIMITS.keys} keys of ` +
      `${ATTRIBUTE_LIMITS.keyLength} characters, values numbers, booleans or text up to ${ATTRIBUTE_LIMITS.textLength} characters, ` +
      `${ATTRIBUTE_LIMITS.totalBytes} bytes of JSON in all. Stored as sent and returned on reads.`,
  });

/** Typed telemetry a tracker may add to a fix; every field optional. */
const telemetryFields = {
  altitudeM: z.number().min(-1000).max(20_000).optional().openapi({ description: 'Metres above mean sea level' }),
  satellites: z.number().int().min(0).max(100).optional().openapi({ description: 'Satellites used for the fix' }),
  hdop: z.number().min(0).max(100).optional().openapi({ description: 'Horizontal dilution of precision' }),
  ignition: z.boolean().optional(),
  batteryPct: z.number().min(0).max(100).optional().openapi({ description: 'Device battery charge, %' }),
  batteryV: z.number().min(0).max(100).optional().openapi({ description: 'Battery or supply voltage, V' }),
  odometerKm: z.number().min(0).max(10_000_000).optional().openapi({ description: 'Vehicle or device odometer, km' }),
  temperatureC: z.number().min(-100).max(150).optional().openapi({ description: 'Cargo temperature, °C (drives TEMPERATURE_EXCURSION)' }),
  humidityPct: z.number().min(0).max(100).optional().openapi({ description: 'Relative humidity, %' }),
  doorOpen: z.boolean().optional(),
  eventCode: text({ min: 1, max: 64 }).optional().openapi({ description: "The device's event or alarm code, e.g. ignition_on, sos, 240" }),
  attributes: AttributesSchema.optional(),
};

const NOT_A_FIX_FIELD = 'is not a field of a fix: send vendor-specific values in `attributes`';

export const FixSchema = z
  .strictObject(
    {
      recordedAt: isoTime,
      lat: latitude,
      lon: longitude,
      speedKmh: unknownWhen(z.number().max(400, 'must be at most 400'), (v) => v < 0, 'km/h, 0..400; a negative value (e.g. -1) means unknown'),
      headingDeg: unknownWhen(z.number(), (v) => v < 0 || v > 360, 'Degrees clockwise from north, 0..360; a negative value or one above 360 means unknown'),
      accuracyM: unknownWhen(z.number().max(100_000, 'must be at most 100000'), (v) => v <= 0, 'Horizontal accuracy radius, m; 0 or a negative value means unknown'),
      ...telemetryFields,
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? NOT_A_FIX_FIELD : undefined) },
  )
  .openapi('Fix', { example: { recordedAt: '2026-11-26T08:00:00Z', lat: 45.7485, lon: 4.8467, speedKmh: 0 } });

/** A fix as the API answers it (last position, stored positions): sentinels already dropped. */
const fixViewFields = {
  recordedAt: z.string(),
  lat: z.number(),
  lon: z.number(),
  speedKmh: z.number().optional(),
  headingDeg: z.number().optional(),
  accuracyM: z.number().optional(),
  altitudeM: z.number().optional(),
  satellites: z.number().int().optional(),
  hdop: z.number().optional(),
  ignition: z.boolean().optional(),
  batteryPct: z.number().optional(),
  batteryV: z.number().optional(),
  odometerKm: z.number().optional(),
  temperatureC: z.number().optional(),
  humidityPct: z.number().optional(),
  doorOpen: z.boolean().optional(),
  eventCode: z.string().optional(),
  attributes: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).optional(),
};
export const FixViewSchema = z.object(fixViewFields).openapi('FixView');

export const MAX_POSITIONS_PER_REQUEST = 1000;

export const PositionsBodySchema = z
  .strictObject({
    positions: z
      .array(FixSchema)
      .min(1, 'at least one position is required')
      .max(MAX_POSITIONS_PER_REQUEST, `at most ${MAX_POSITIONS_PER_REQUEST} positions per request`),
  })
  .openapi('PositionsBody');

export const DevicePositionsBodySchema = z
  .strictObject({
    deviceId: id,
    positions: PositionsBodySchema.shape.positions,
  })
  .openapi('DevicePositionsBody');

export const PositionsAcceptedSchema = z
  .object({
    accepted: z.number().int().openapi({ description: 'Fixes stored by this request' }),
    duplicates: z.number().int().openapi({ description: 'Fixes already stored (repeats are ignored)' }),
    shipmentClosed: z.boolean().optional().openapi({ description: 'The shipment workflow has completed: fixes are stored but no longer processed' }),
    deferred: z.boolean().optional().openapi({ description: 'Stored inside the shipment\'s calm zone (far from every stop and on its route, at a stop it is confirmed at, parked where an unplanned stop is open, or after delivery): the workflow reads them within the deferral window (INGEST_DEFER_MS) instead of at once' }),
  })
  .openapi('PositionsAccepted');

export const DevicePositionsAcceptedSchema = z
  .object({
    accepted: z.number().int().openapi({ description: 'Fixes stored by this request, summed over the shipments they were routed to' }),
    duplicates: z.number().int(),
    unrouted: z.number().int().openapi({ description: 'Fixes stored for the device only, because it has no active shipment' }),
    shipments: z.array(
      z.object({ shipmentId: z.string(), accepted: z.number().int(), duplicates: z.number().int(), shipmentClosed: z.boolean().optional(), deferred: z.boolean().optional() }),
    ).openapi({ description: "The device's active shipments the fixes were routed to; empty when none (fixes kept for the device only)" }),
  })
  .openapi('DevicePositionsAccepted');

const LineStringSchema = z
  .strictObject({
    type: z.literal('LineString'),
    coordinates: z.array(z.tuple([longitude, latitude])).min(2, 'a LineString needs at least two positions'),
  })
  .openapi('LineString', { description: 'GeoJSON LineString; coordinates are [lon, lat]' });

const WindowSchema = z
  .strictObject({ start: isoTime, end: isoTime })
  .refine((w) => Date.parse(w.end) > Date.parse(w.start), { message: 'end must be after start', path: ['end'] });

const minutes = z.number().positive().max(30 * 24 * 60);
/** 0 is allowed for arrival rules: the first fix inside confirms. */
const arrivalMinutes = z.number().min(0).max(24 * 60);
const arrivalFixes = z.number().int().min(1).max(1000);

const ArrivalConfirmationSchema = z
  .strictObject({
    dwellMin: arrivalMinutes.optional().openapi({ description: 'Minutes from the first fix inside to a later fix still within the exit radius (default 10)' }),
    stationaryMin: arrivalMinutes.optional().openapi({ description: 'Minutes standing still inside, within `stationaryRadiusM` of where it stopped (default 3)' }),
    fixes: arrivalFixes.optional().openapi({ description: 'Fixes of the visit (default: no count rule)' }),
  })
  .openapi('ArrivalConfirmation', { description: "What confirms an arrival at this stop, over the shipment's thresholds: any rule reached" });

export const StopInputSchema = z
  .strictObject({
    type: z.enum(STOP_TYPES),
    name: text({ min: 1, max: 200 }),
    location: LatLonSchema,
    geofenceRadiusM: z.number().positive().max(50_000).default(300),
    window: WindowSchema.optional(),
    plannedDwellMin: z.number().min(0).max(7 * 24 * 60).optional(),
    arrivalConfirmation: ArrivalConfirmationSchema.optional(),
  })
  .openapi('StopInput');

const metres = z.number().positive().max(100_000);
const celsius = z.number().min(-100).max(150);
// Mirrors domain ShipmentThresholds; every field optional, the workflow applies its defaults.
export const ThresholdsSchema = z
  .strictObject({
    signalLossMin: minutes.optional(),
    longDwellMin: minutes.optional(),
    dwellToleranceMin: minutes.optional(),
    unplannedStopMin: minutes.optional(),
    stationarySpeedKmh: z.number().min(0).max(50).optional(),
    stationaryRadiusM: metres.optional(),
    offRouteCorridorM: metres.optional(),
    offRouteReentryM: metres.optional(),
    offRouteConsecutiveFixes: z.number().int().min(1).max(100).optional(),
    lateToleranceMin: minutes.optional(),
    lateRecoveryMin: minutes.optional(),
    temperatureRange: z
      .strictObject({ minC: celsius, maxC: celsius })
      .refine((r) => r.maxC > r.minC, { message: 'maxC must be above minC', path: ['maxC'] })
      .optional(),
    temperatureExcursionMin: minutes.optional(),
    temperatureHysteresisC: z.number().min(0).max(20).optional(),
    arrivalDwellMin: arrivalMinutes.optional(),
    arrivalStationaryMin: arrivalMinutes.optional(),
    arrivalFixes: arrivalFixes.optional(),
    trackerGapMin: minutes.optional(),
  })
  .openapi('Thresholds');

export const CreateShipmentSchema = z
  .strictObject({
    reference: text({ min: 1, max: 100 }),
    stops: z.array(StopInputSchema).min(2, 'a shipment needs at least a pickup and a delivery').max(100),
    route: LineStringSchema.optional(),
    carrierId: id.optional(),
    vehicleId: id.optional(),
    driverId: id.optional(),
    deviceId: id.optional(),
    thresholds: ThresholdsSchema.default({}),
  })
  .openapi('CreateShipment', {
    example: {
      reference: 'PO-1234',
      stops: [
        { type: 'pickup', name: 'Lyon DC', location: { lat: 45.7485, lon: 4.8467 }, geofenceRadiusM: 500, plannedDwellMin: 45 },
        { type: 'delivery', name: 'Paris XV', location: { lat: 48.8414, lon: 2.2873 }, geofenceRadiusM: 300 },
      ],
      deviceId: 'tracker-42',
      thresholds: { signalLossMin: 30, longDwellMin: 120 },
    },
  });
export type CreateShipmentBody = z.infer<typeof CreateShipmentSchema>;

const AnomalySchema = z
  .object({
    type: z.enum(ANOMALY_TYPES),
    status: z.enum(ANOMALY_STATUSES),
    openedAt: z.string(),
    resolvedAt: z.string().optional(),
    stopSequence: z.number().int().optional(),
    detail: z.string().optional(),
  })
  .openapi('Anomaly');

const StopViewSchema = z
  .object({
    sequence: z.number().int(),
    type: z.enum(STOP_TYPES),
    name: z.string(),
    location: LatLonSchema,
    geofenceRadiusM: z.number(),
    window: z.object({ start: z.string(), end: z.string() }).optional(),
    plannedDwellMin: z.number().optional(),
    arrivalConfirmation: ArrivalConfirmationSchema.optional(),
    status: z.enum(STOP_STATUSES),
    arrivedAt: z.string().optional(),
    departedAt: z.string().optional(),
    eta: z.string().optional(),
  })
  .openapi('StopView');

export const ShipmentViewSchema = z
  .object({
    id: z.string().uuid(),
    reference: z.string(),
    status: z.enum(SHIPMENT_STATUSES),
    createdAt: z.string(),
    updatedAt: z.string().optional(),
    workflowId: z.string(),
    carrierId: z.string().optional(),
    vehicleId: z.string().optional(),
    driverId: z.string().optional(),
    deviceId: z.string().optional(),
    stops: z.array(StopViewSchema),
    route: LineStringSchema.optional(),
    lastPosition: FixViewSchema.optional().openapi({ description: 'The newest position the workflow has applied: milestones, anomalies and the ETA are decided up to it' }),
    reportedPosition: FixViewSchema.optional().openapi({
      description:
        'Where the truck was last reported: the newest stored fix good enough to be a position, whether the workflow has read it yet or not (fixes inside its calm zone wait up to INGEST_DEFER_MS for the read and decide nothing meanwhile); otherwise `lastPosition`',
    }),
    eta: z.string().optional(),
    anomalies: z.array(AnomalySchema),
    milestones: z.array(z.object({ type: z.enum(MILESTONE_TYPES), stopSequence: z.number().int(), at: z.string() })),
    cancellation: z.object({ reason: z.string(), at: z.string() }).optional(),
    fixCounts: z
      .object({ applied: z.number().int(), duplicates: z.number().int(), late: z.number().int(), ignored: z.number().int(), rewinds: z.number().int() })
      .optional()
      .openapi({ description: 'What the workflow did with the fixes it received; only in live state (`x-state-source: workflow`)' }),
  })
  .openapi('Shipment');

export const ShipmentSummarySchema = z
  .object({
    id: z.string().uuid(),
    reference: z.string(),
    status: z.enum(SHIPMENT_STATUSES),
    createdAt: z.string(),
    updatedAt: z.string(),
    workflowId: z.string(),
    carrierId: z.string().optional(),
    vehicleId: z.string().optional(),
    driverId: z.string().optional(),
    deviceId: z.string().optional(),
    openAnomalies: z.array(z.string()),
    lastPosition: FixViewSchema.optional(),
    eta: z.string().optional(),
  })
  .openapi('ShipmentSummary');

const nextCursor = z.string().nullable().openapi({ description: 'Pass as `cursor` to get the next page; null on the last page' });

export const ShipmentListSchema = z.object({ items: z.array(ShipmentSummarySchema), nextCursor }).openapi('ShipmentList');

export const limitParam = (max: number, fallback: number) =>
  z.coerce.number().int('must be an integer').min(1).max(max).default(fallback).openapi({ description: `Page size (1..${max})` });
export const cursorParam = text({ min: 1, max: 500, trim: false }).optional().openapi({ description: 'Opaque cursor from a previous page' });

export const ListShipmentsQuerySchema = z.object({
  status: z.enum(SHIPMENT_STATUSES).optional(),
  carrierId: id.optional(),
  anomaly: z.enum(ANOMALY_TYPES).optional().openapi({ description: 'Only shipments with this anomaly open' }),
  reference: id.optional(),
  limit: limitParam(200, 50),
  cursor: cursorParam,
});

export const ShipmentIdParamSchema = z.object({ id: pathId('id', '6f1c2b1e-8a7d-4c1e-9a51-2f9e7f3b8e10') });
export const DeviceIdParamSchema = z.object({ deviceId: pathId('deviceId', '9d5a1f0e-3c1b-4f7a-8e2d-6b0c4a9e1f23') });

export const TimelineQuerySchema = z.object({ limit: limitParam(500, 100), cursor: cursorParam });

export const TimelineEventSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    occurredAt: z.string(),
    stopSequence: z.number().int().optional(),
    data: z.record(z.string(), z.unknown()),
    actor: z.string().optional(),
  })
  .openapi('TimelineEvent');
export const TimelineSchema = z.object({ items: z.array(TimelineEventSchema), nextCursor }).openapi('Timeline');

export const PositionsQuerySchema = z
  .object({ from: isoTime.optional(), to: isoTime.optional(), limit: limitParam(5000, 1000), cursor: cursorParam })
  .refine((q) => !q.from || !q.to || Date.parse(q.to) >= Date.parse(q.from), { message: 'to must not be before from', path: ['to'] });

// One object schema (not an allOf with the closed request Fix), so stored fixes satisfy it.
export const StoredPositionSchema = z
  .object({ id: z.string(), ...fixViewFields, shipmentId: z.string().optional(), deviceId: z.string().optional(), receivedAt: z.string() })
  .openapi('StoredPosition');
export const PositionListSchema = z.object({ items: z.array(StoredPositionSchema), nextCursor }).openapi('PositionList');

export const CancelBodySchema = z.strictObject({ reason: text({ min: 1, max: 500 }) }).openapi('CancelShipment');

export const FeatureCollectionSchema = z
  .object({
    type: z.literal('FeatureCollection'),
    features: z.array(
      z.object({
        type: z.literal('Feature'),
        geometry: z.object({ type: z.enum(['Point', 'LineString']), coordinates: z.unknown() }),
        properties: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .openapi('TrackFeatureCollection', { description: 'GeoJSON: the driven track, the stops and the planned route' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** At most this many shipments per batch: a morning plan arrives in a few requests, each answered well inside a proxy's timeout. */
export const MAX_SHIPMENT_BATCH = 200;

export const CreateShipmentBatchSchema = z
  .strictObject({
    shipments: z.array(CreateShipmentSchema).min(1, 'a batch holds at least one shipment').max(MAX_SHIPMENT_BATCH, `a batch holds at most ${MAX_SHIPMENT_BATCH} shipments`),
  })
  .openapi('CreateShipmentBatch');

export const ShipmentBatchResultSchema = z
  .object({
    results: z.array(
      z.object({
        reference: z.string(),
        /** What a single create would have answered: 201, 200 (an identical repeat), 409, 422 or 503. */
        status: z.number().int(),
        shipment: ShipmentViewSchema.optional(),
        problem: ProblemSchema.optional(),
      }),
    ),
    created: z.number().int(),
    existing: z.number().int(),
    failed: z.number().int(),
  })
  .openapi('ShipmentBatchResult');

export const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');
export const ReadySchema = z
  .object({ status: z.literal('ok'), checks: z.object({ postgres: z.string(), temporal: z.string() }) })
  .openapi('Ready');

export const problemContent = { 'application/problem+json': { schema: ProblemSchema } };
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: PROBLEM_DESCRIPTIONS[s] ?? 'Error', content: problemContent }]));

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Validation failed (errors name each field)',
  401: 'Missing or invalid API key',
  403: 'The key role may not do this',
  404: 'Not found (including another tenant\'s object)',
  409: 'Conflict with the current state',
  422: 'A referenced id does not exist in your tenant (errors name each field)',
  429: 'Rate limit of the API key exceeded; see Retry-After',
  413: 'Body too large',
  503: 'A dependency is unavailable; retry',
};

/** `x-request-id` as the API keeps and echoes it. */
export const RequestIdSchema = text({ max: 100, trim: false }).regex(/^[\w.:-]{1,100}$/);

/** PATCH bodies must change something. */
export const atLeastOneField = (body: Record<string, unknown>): boolean => Object.values(body).some((value) => value !== undefined);
