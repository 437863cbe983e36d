// Determinism: every saved history under test/workflow/histories replays on today's workflow code.
// A change that alters the commands of a running shipment fails here unless it is behind patched().
// New histories come from `npx tsx scripts/record-histories.ts --prefix vN`. Histories of runs that
// got stuck (histories/stuck/) are not replayable as a whole: test/workflow/repair.test.ts has them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleShipmentWorkflows } from '../../worker/worker.js';
import { loadHistory } from './harness.js';

const HISTORIES = join(import.meta.dirname, 'histories');
const files = readdirSync(HISTORIES).filter((name) => /\.json(\.gz)?$/.test(name)).sort();


describe('saved workflow histories', () => {
  it('are there to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays on the current code', async (name) => {
    const history = historyFromJSON(loadHistory(join(HISTORIES, name)));
    await Worker.runReplayHistory({ workflowBundle: await bundleShipmentWorkflows() }, history, name);
  });
});
