// Importing BitViTTrain gives the models, layers, data pipeline and tensor engine too.
@_exported import BitViTModels
@_exported import BitViTData
