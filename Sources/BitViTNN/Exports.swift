// Importing BitViTNN gives the tensor engine too.
@_exported import BitViTCore
