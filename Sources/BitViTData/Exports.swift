// Importing BitViTData gives the tensor engine too.
@_exported import BitViTCore
