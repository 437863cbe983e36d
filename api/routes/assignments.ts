// A shipment's fleet assignment (carrier, vehicle, driver, device), changed through the shipment
// workflow's Update: the workflow validates, writes the projection through an activity and only
// then answers, so a device's next POST /v1/positions already routes to the new assignment.
import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ASSIGNMENT_FAILURES, updateAssignmentUpdate } from '../../workflows/contract.js';
import type { RouteDeps } from '../context.js';
import { assertFleetReferences, assignmentReferences } from '../fleet.js';
import { secured } from '../permissions.js';
import { ProblemError, type FieldError } from '../problem.js';
import { createRouter, loadShipment } from '../router.js';
import { ShipmentIdParamSchema, ShipmentViewSchema, atLeastOneField, problemResponses, resourceId } from '../schemas.js';

const ref = resourceId().nullable().optional();

const AssignmentSchema = z
  .strictObject({ carrierId: ref, vehicleId: ref, driverId: ref, deviceId: ref })
  .refine(atLeastOneField, { message: 'send at least one of carrierId, vehicleId, driverId, deviceId' })
  .openapi('AssignmentChange', {
    description: 'Fields left out stay as they are; null removes the assignment of that kind.',
    example: { vehicleId: '3b241101-e2bb-4255-8caf-4136c566a962', deviceId: '9d5a1f0e-3c1b-4f7a-8e2d-6b0c4a9e1f23' },
  });

const assignmentRoute = createRoute(
  secured({
    method: 'patch',
    path: '/v1/shipments/{id}/assignment',
    tags: ['Shipments'],
    summary: 'Change the carrier, vehicle, driver or device of a shipment',
    description:
      'Applied by the shipment workflow as an Update and written to the projection before the answer: fixes a device sends ' +
      'after this returns go to its new shipments only. Ids must name fleet resources of your tenant (422); ' +
      'a delivered or cancelled shipment cannot be reassigned (409). Recorded in the timeline as ASSIGNMENT_CHANGED.',
    request: { params: ShipmentIdParamSchema, body: { required: true, content: { 'application/json': { schema: AssignmentSchema } } } },
    responses: {
      200: { description: 'The shipment with its new assignment', content: { 'application/json': { schema: ShipmentViewSchema } } },
      ...problemResponses(400, 401, 403, 404, 409, 422, 503),
    },
  }),
);

export function assignmentRoutes({ db, temporal, config }: RouteDeps) {
  const router = createRouter();

  router.openapi(assignmentRoute, async (c) => {
    const change = c.req.valid('json');
    const { tenantId, keyId } = c.get('auth');
    const row = await loadShipment(c, db, c.req.valid('param').id);
    // Checked here for a quick, precise answer; the activity checks again under a lock.
    await assertFleetReferences(db, tenantId, assignmentReferences(change));
    const handle = temporal.workflow.getHandle(row.workflow_id);
    try {
      const view = await temporal.connection.withDeadline(Date.now() + config.updateTimeoutMs, () =>
        handle.executeUpdate(updateAssignmentUpdate, { args: [{ ...change, actor: `api-key:${keyId}` }] }),
      );
      return c.json(view, 200);
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        const { type, message, details } = error.cause;
        if (type === ASSIGNMENT_FAILURES.unknownFleetReference) {
          throw new ProblemError('invalidReference', 422, message, { errors: (details ?? []) as FieldError[] });
        }
        if (type === ASSIGNMENT_FAILURES.closed) throw new ProblemError('conflict', 409, `Shipment cannot be reassigned: ${message}`);
      }
      if (error instanceof WorkflowUpdateFailedError) {
        c.get('logger').warn({ err: error }, 'assignment update failed');
        throw new ProblemError('unavailable', 503, 'The assignment could not be written; retry.', { headers: { 'retry-after': '2' } });
      }
      if (error instanceof WorkflowNotFoundError) throw new ProblemError('conflict', 409, 'Shipment is closed and can no longer be reassigned.');
      throw error;
    }
  });

  return router;
}
