// Measures the raw signal ceiling of a Temporal server: counter workflows on a task queue of
// their own, a worker in this process, `concurrency` senders signalling them round-robin for
// `durationSec`. Reports signals sent per second and signals the workflows had counted by the
// end of the window (drained), per second.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { signalCounter, tickSignal, ticksQuery } from './workflow.js';

export interface RawCeiling {
  workflows: number;
  concurrency: number;
  durationSec: number;
  signalsSentPerSec: number;
  signalsDrainedPerSec: number;
}

export async function measureRawCeiling(options: { address: string; durationSec: number; workflows?: number; concurrency?: number }): Promise<RawCeiling> {
  const { address, durationSec, workflows = 100, concurrency = 64 } = options;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const taskQueue = `raw-ceiling-${randomUUID()}`;
  const workerConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection: workerConnection, taskQueue, workflowsPath: fileURLToPath(new URL('./workflow.ts', import.meta.url)) });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  try {
    const handles = await Promise.all(Array.from({ length: workflows }, (_, i) => client.workflow.start(signalCounter, { taskQueue, workflowId: `${taskQueue}-${i}` })));
    let sent = 0;
    const end = performance.now() + durationSec * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, sender) => {
        for (let i = sender; performance.now() < end; i += concurrency) {
          await handles[i % handles.length]!.signal(tickSignal);
          sent += 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const counted = (await Promise.all(handles.map((h) => h.query(ticksQuery)))).reduce((a, b) => a + b, 0);
    await Promise.all(handles.map((h) => h.terminate('raw ceiling measured')));
    return { workflows, concurrency, durationSec, signalsSentPerSec: Math.round(sent / seconds), signalsDrainedPerSec: Math.round(counted / seconds) };
  } finally {
    await connection.close();
    worker.shutdown();
    await running;
    await workerConnection.close();
  }
}
