import BitViTNN

/// A model whose official code names some parameters `….bias` that BitViT names otherwise.
///
/// timm's weight-decay rule exempts every name ending in `.bias`, so the official training
/// runs never decay these parameters; BitViT's optimizer groups (`ParameterGroup.timmGroups`)
/// read this list to do the same.
public protocol OfficialBiasParameters: Module {
    /// Full (BitViT) names of the parameters the official code calls `….bias`.
    var officialBiasParameterNames: Set<String> { get }
}
