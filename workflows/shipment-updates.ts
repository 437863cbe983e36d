// The shipment's Updates: cancellation, delivery events (manual milestones and proof of delivery
// among them) and assignment changes. Validators refuse before anything reaches history; handlers
// answer once their change is persisted, or after a short wait with it decided anyway, so an Update
// never waits on a failing write.
import { ActivityFailure, ApplicationFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ShipmentActivities } from '../activities/index.js';
import { decideCancellation, decideManualMilestone, decideProofOfDelivery, deliveryEventTimeline, manualMilestoneProblem, type Decision, type DecisionContext } from '../domain/shipment/decide.js';
import { toIso } from '../domain/fixes.js';
import { isClosed } from '../domain/shipment/rules.js';
import type { ShipmentView } from '../domain/types.js';
import { mergeAssignment, validateAssignmentChange } from './assignment.js';
import {
  ASSIGNMENT_FAILURES,
  CANCEL_FAILURES,
  cancelShipmentUpdate,
  DELIVERY_EVENT_REFUSED,
  recordDeliveryEventUpdate,
  updateAssignmentUpdate,
  type AssignmentChange,
  type CancelRequest,
  type DeliveryEvent,
} from './contract.js';
import type { ProjectionWriter } from './shipment-effects.js';
import { currentAssignment, type ShipmentShape, type ShipmentState } from './shipment-state.js';

// The assignment Update waits for this write, so it is bounded well inside the API's deadline.
const { persistAssignment } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '5 seconds',
  scheduleToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', nonRetryableErrorTypes: [ASSIGNMENT_FAILURES.unknownFleetReference] },
});

/** Updates answer once their change is persisted, or after this long with the change decided anyway. */
const UPDATE_WRITE_WAIT = '5 seconds';

/** What the Updates need of the running workflow. */
export interface ShipmentUpdateContext {
  state: ShipmentState;
  shape: ShipmentShape;
  ctx: DecisionContext;
  writer: ProjectionWriter;
  /** A decision into state: events to the outbox, ETA requests out. */
  apply(decision: Decision): void;
  /** Search attributes and current details brought up to date. */
  publish(): void;
  view(): ShipmentView;
  nowIso(): string;
  /** Fix-time now (see the workflow). */
  fixNowMs(): number;
}

export function registerShipmentUpdates({ state, shape, ctx, writer, apply, publish, view, nowIso, fixNowMs }: ShipmentUpdateContext): void {
  const { plan } = shape;
  const closed = (): boolean => isClosed(state.decisions.rules);
  const lastStopSequence = Math.max(...plan.stops.map((stop) => stop.sequence));
  let assignmentInFlight = false;

  function rejectIfDelivered(): void {
    if (state.decisions.rules.tracking.status === 'DELIVERED') {
      throw ApplicationFailure.nonRetryable(`shipment ${plan.reference} was delivered and can no longer be cancelled`, CANCEL_FAILURES.alreadyDelivered);
    }
  }

  /** Answers an Update once its change is persisted, or after a short wait with it decided anyway. */
  async function answerAfterWrite(): Promise<ShipmentView> {
    const change = writer.change();
    writer.request();
    await condition(() => writer.persisted(change), UPDATE_WRITE_WAIT);
    return view();
  }

  setHandler(
    cancelShipmentUpdate,
    async (request: CancelRequest) => {
      if (state.decisions.rules.tracking.status !== 'CANCELLED') {
        rejectIfDelivered();
        const at = nowIso();
        state.cancellation = { reason: request.reason, at, actor: request.actor };
        apply(decideCancellation(state.decisions, at, toIso(fixNowMs()), { reason: request.reason, actor: request.actor }, ctx));
        log.info('shipment cancelled', { reason: request.reason, actor: request.actor });
      }
      return answerAfterWrite();
    },
    {
      validator: (request: CancelRequest) => {
        if (typeof request?.reason !== 'string' || request.reason.trim() === '') {
          throw ApplicationFailure.nonRetryable('a cancellation needs a non-empty reason', CANCEL_FAILURES.invalid);
        }
        rejectIfDelivered();
      },
    },
  );

  const deliveryStop = (event: DeliveryEvent): number | undefined => event.stopSequence ?? (event.type === 'PROOF_OF_DELIVERY' ? lastStopSequence : undefined);

  /** Why the shipment cannot take this delivery event now, or undefined when it can. */
  function deliveryEventRefusal(event: DeliveryEvent): string | undefined {
    if (state.decisions.rules.tracking.status === 'CANCELLED') return `shipment ${plan.reference} is cancelled`;
    const stopSequence = deliveryStop(event);
    if (stopSequence !== undefined && !shape.stops.has(stopSequence)) return `the shipment has no stop ${stopSequence}`;
    if (event.type === 'MANUAL_ARRIVAL' || event.type === 'MANUAL_DEPARTURE') {
      if (stopSequence === undefined) return 'a manual arrival or departure names its stop';
      return manualMilestoneProblem(state.decisions, event.type === 'MANUAL_ARRIVAL' ? 'ARRIVED' : 'DEPARTED', stopSequence, ctx);
    }
    return undefined;
  }

  const recorded = (event: DeliveryEvent): boolean => state.deliveryEventIds.includes(event.eventId);

  function refuseDeliveryEventIfInvalid(event: DeliveryEvent): void {
    const refusal = deliveryEventRefusal(event);
    if (refusal !== undefined) throw ApplicationFailure.nonRetryable(refusal, DELIVERY_EVENT_REFUSED);
  }

  setHandler(
    recordDeliveryEventUpdate,
    async (event: DeliveryEvent) => {
      if (!recorded(event)) {
        refuseDeliveryEventIfInvalid(event);
        const stopSequence = deliveryStop(event);
        const { eventId, type, at, stopSequence: _stop, actor, ...details } = event;
        state.deliveryEventIds.push(eventId);
        apply({ state: state.decisions, events: [deliveryEventTimeline({ eventId, type, at, actor, details }, stopSequence === undefined ? undefined : shape.stops.get(stopSequence))] });
        if (stopSequence !== undefined && (type === 'MANUAL_ARRIVAL' || type === 'MANUAL_DEPARTURE')) {
          apply(decideManualMilestone(state.decisions, type === 'MANUAL_ARRIVAL' ? 'ARRIVED' : 'DEPARTED', stopSequence, at, ctx));
        }
        if (type === 'PROOF_OF_DELIVERY' && stopSequence === lastStopSequence) apply(decideProofOfDelivery(state.decisions, at, ctx));
        log.info('delivery event recorded', { eventId, type, stopSequence, actor });
      }
      return answerAfterWrite();
    },
    { validator: (event: DeliveryEvent) => (recorded(event) ? undefined : refuseDeliveryEventIfInvalid(event)) },
  );

  function rejectAssignmentIfClosed(): void {
    if (closed()) {
      throw ApplicationFailure.nonRetryable(`shipment ${plan.reference} is ${state.decisions.rules.tracking.status} and can no longer be reassigned`, ASSIGNMENT_FAILURES.closed);
    }
  }

  setHandler(
    updateAssignmentUpdate,
    async (change: AssignmentChange) => {
      // One change at a time, so the projection receives them in the order the workflow applies them.
      await condition(() => !assignmentInFlight);
      assignmentInFlight = true;
      try {
        rejectAssignmentIfClosed();
        const previous = currentAssignment(state, plan);
        const next = mergeAssignment(previous, change);
        const ordinal = state.assignmentChanges + 1;
        try {
          await persistAssignment({ tenantId: plan.tenantId, shipmentId: plan.shipmentId, assignment: next, previous, eventKey: `ASSIGNMENT:${ordinal}`, occurredAt: nowIso(), actor: change.actor });
        } catch (error) {
          // Surface the activity's business failure (an unknown fleet id) as the Update's own.
          if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
            throw ApplicationFailure.nonRetryable(error.cause.message, error.cause.type, ...(error.cause.details ?? []));
          }
          throw error;
        }
        state.assignment = next;
        state.assignmentChanges = ordinal;
        state.updatedAt = nowIso();
        log.info('assignment changed', { ordinal, actor: change.actor });
        publish();
        return view();
      } finally {
        assignmentInFlight = false;
      }
    },
    {
      validator: (change: AssignmentChange) => {
        validateAssignmentChange(change);
        rejectAssignmentIfClosed();
      },
    },
  );
}
