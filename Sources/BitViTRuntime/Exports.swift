// Importing BitViTRuntime gives the platform layer too: `BitViTError` (what the runtime
// throws) and `Parallel` (the process-wide thread count).
@_exported import BitViTPlatform
