// Importing BitViTQuant gives the layers and the tensor engine too.
@_exported import BitViTNN
