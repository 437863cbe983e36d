// Preload (node --import) that records a V8 CPU profile of the worker or API process and writes it
// to $BENCH_CPU_PROFILE_DIR when the process exits. Node refuses --cpu-prof in NODE_OPTIONS, and
// the processes are started by scripts/dev.ts, so bench/ingest.ts passes this through NODE_OPTIONS.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
const role = process.argv.find((arg) => /(worker|api)\/main\.ts$/.test(arg))?.match(/(worker|api)\/main\.ts$/)?.[1];
if (dir && role) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // An in-thread session answers synchronously, so the profile can be written from 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `${role}-${process.pid}${threadId ? `-thread${threadId}` : ''}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
