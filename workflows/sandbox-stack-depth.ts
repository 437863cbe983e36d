// Preloaded into every workflow sandbox (worker/worker.ts), before the SDK freezes its globals.
// The SDK captures and source-maps a stack for each promise a workflow creates, for the stack-trace
// query: a third of the workflow threads' busy time in a replay's profile. Fewer frames made replays
// 3-8 % faster (README); six still name the line a shipment waits on (the SDK's hook takes two).
Error.stackTraceLimit = 6;
