// A background job that runs every `intervalMs`, never twice at once, until stopped (sweepers,
// repair loops). Failures are logged and the next run happens as planned.
import type { Logger } from './logger.js';

export interface PeriodicJob {
  stop(): Promise<void>;
}

/** With `runAtStart`, the first run starts at once instead of after one interval. */
export function startPeriodic(run: () => Promise<unknown>, options: { intervalMs: number; logger: Logger; name: string; runAtStart?: boolean }): PeriodicJob {
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    current = run()
      .catch((error: unknown) => options.logger.error({ err: error, job: options.name }, `${options.name} failed`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
      });
  };
  timer = setTimeout(tick, options.runAtStart ? 0 : options.intervalMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
