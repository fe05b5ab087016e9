// Importing BitViTTrain gives the models, layers and tensor engine too.
@_exported import BitViTModels
