// Entry point of the workflow bundle: every workflow type the worker registers.
export { shipmentWorkflow } from './shipment.js';
export { webhookDeliveryWorkflow } from './webhook-delivery.js';
export { etaHistoryRefreshWorkflow } from './eta-history.js';
