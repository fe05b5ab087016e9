import BitViTNN

/// DeiT's heads: token 0 → `head`, token 1 → `distillationHead`; training returns both,
/// evaluation their mean.
func classify(_ x: Tensor, head: any Layer, distillationHead: (any Layer)?, training: Bool) -> ClassifierOutput {
    let (b, dim) = (x.shape[0], x.shape[2])
    let cls = head(x.slice(axis: 1, 0..<1).reshaped([b, dim]))
    guard let distillationHead else { return ClassifierOutput(logits: cls) }
    let dist = distillationHead(x.slice(axis: 1, 1..<2).reshaped([b, dim]))
    if training { return ClassifierOutput(logits: cls, distillationLogits: dist) }
    return ClassifierOutput(logits: (cls + dist) * 0.5)
}
