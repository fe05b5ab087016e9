// Importing BitViTRuntimeImages gives the runtime and the image module (`Image`) too.
@_exported import BitViTImage
@_exported import BitViTRuntime
