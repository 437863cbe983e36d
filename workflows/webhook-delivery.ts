// One long-lived workflow per webhook endpoint. An activity reads the tenant's feed from the
// endpoint's cursor and delivers event after event in feed order (so in order per shipment), and
// waits a while for new ones when there are none: no signal per event. A failure comes back here,
// where the back-off is a durable timer and the retry window is counted; a 410 or the end of the
// window disables the endpoint with the reason. `endpointChanged` cuts a back-off short.
import { condition, continueAsNew, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ShipmentActivities } from '../activities/index.js';
import { decideRetry, type Failing } from '../domain/events/retry.js';
import { endpointChangedSignal, type WebhookDeliveryInput } from './webhook-contract.js';

const { deliverWebhookEvents } = proxyActivities<ShipmentActivities>({
  // Each request is bounded by its own 5 s timeout; the activity heartbeats after each one and while it waits.
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const { disableWebhookEndpointActivity } = proxyActivities<ShipmentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<void> {
  const { tenantId, endpointId, settings } = input;
  let failing: Failing | undefined = input.failing;
  let changed = false;
  setHandler(endpointChangedSignal, () => {
    changed = true;
  });

  for (let step = 0; step < settings.maxStepsPerRun && !workflowInfo().continueAsNewSuggested; step++) {
    changed = false;
    const result = await deliverWebhookEvents({ tenantId, endpointId, idleWaitMs: settings.idleWaitMs });
    if (result.kind === 'stopped') {
      log.info('webhook delivery stopped', { tenantId, endpointId, reason: result.reason });
      return;
    }
    if (result.kind === 'delivered') {
      failing = undefined;
      continue;
    }
    const decision = decideRetry(failing, result, Date.now(), Math.random(), settings);
    if (decision.kind === 'disable') {
      log.warn('webhook endpoint disabled', { tenantId, endpointId, reason: decision.reason });
      await disableWebhookEndpointActivity({ tenantId, endpointId, reason: decision.reason });
      return;
    }
    failing = decision.failing;
    // A change to the endpoint (a fix on the receiver's side, a replay) starts a fresh window.
    if (await condition(() => changed, decision.delayMs)) failing = undefined;
  }
  await continueAsNew<typeof webhookDeliveryWorkflow>({ tenantId, endpointId, settings, ...(failing ? { failing } : {}) });
}
