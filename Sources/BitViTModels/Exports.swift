// Importing BitViTModels gives the quantizers, layers and the tensor engine too.
@_exported import BitViTQuant
