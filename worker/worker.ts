// The shipment worker: workflow code bundled once per process, activities injected by the caller.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Worker, type BundleOptions, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

type Configuration = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];
import type { ShipmentActivities } from '../activities/index.js';
import { SHIPMENT_TASK_QUEUE } from '../workflows/contract.js';

/** The bundle's entry: every workflow type the worker registers. */
export function shipmentWorkflowsPath(): string {
  return workflowsModulePath('index');
}

/** A module of workflows/: the TypeScript source under tsx and tests, the compiled file in a built image. */
function workflowsModulePath(name: string): string {
  const source = fileURLToPath(new URL(`../workflows/${name}.ts`, import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL(`../workflows/${name}.js`, import.meta.url));
}

let bundling: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * The SDK compiles workflow TypeScript for ES2017, which turns every object spread into a helper
 * call: half of a replay's time went there. Node 20 runs ES2022 natively.
 */
function modernTarget(config: Configuration): Configuration {
  for (const rule of config.module?.rules ?? []) {
    const use = rule && typeof rule === 'object' ? rule.use : undefined;
    const options = use && typeof use === 'object' && !Array.isArray(use) ? (use.options as { jsc?: { target?: string } } | undefined) : undefined;
    if (options?.jsc?.target) options.jsc.target = 'es2022';
  }
  return config;
}

/** Bundles the workflow code once per process (webpack takes seconds); later workers reuse it. */
export function bundleShipmentWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  bundling ??= bundleWorkflowCode({
    workflowsPath: shipmentWorkflowsPath(),
    preloadModules: [workflowsModulePath('sandbox-stack-depth')],
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: modernTarget,
  }).catch((error: unknown) => {
    bundling = undefined;
    throw error;
  });
  return bundling;
}

export interface ShipmentWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  activities: ShipmentActivities;
  /** A prebuilt bundle; by default the process-wide one from `bundleShipmentWorkflows()`. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  tuning?: WorkerTuning;
}

/** What the worker keeps in memory and runs at once (WORKER_* settings; the SDK's defaults otherwise). */
export interface WorkerTuning {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  workflowThreadPoolSize: number;
}

export async function createShipmentWorker(options: ShipmentWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? SHIPMENT_TASK_QUEUE,
    workflowBundle: options.workflowBundle ?? (await bundleShipmentWorkflows()),
    activities: options.activities,
    ...options.tuning,
  });
}
