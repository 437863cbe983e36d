// Preloaded into every workflow sandbox (worker/worker.ts), before the SDK freezes its globals.
// The SDK captures and source-maps a stack for each promise a workflow creates, for the stack-trace
// query; on a replay that was a third of the workflow threads' time. Six frames still name the
// line a shipment waits on (the first two are the SDK's own hook).
Error.stackTraceLimit = 6;
