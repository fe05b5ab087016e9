// Importing BitViTCore gives the platform layer (errors, `Parallel`, `BLAS`, `AtomicFile`) too.
@_exported import BitViTPlatform
