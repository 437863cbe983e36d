// Bundling the workflow code is what the worker does at start-up: a stray Node or I/O import
// in workflows/ (or anything they import) fails here, in CI, rather than in production.
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { shipmentWorkflowsPath } from '../../worker/worker.js';

describe('workflow bundle', () => {
  it('bundles the shipment workflows without Node-only modules', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: shipmentWorkflowsPath(), logger: new DefaultLogger('WARN') });
    expect(bundle.code).toContain('shipmentWorkflow');
    expect(bundle.code.length).toBeGreaterThan(1000);
  });
});
