// Importing BitViTData gives the tensor engine and the image module too.
@_exported import BitViTCore
@_exported import BitViTImage
