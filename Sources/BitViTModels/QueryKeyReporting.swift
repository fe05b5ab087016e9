import BitViTQuant

/// A classifier that can report every attention block's per-head queries and keys during a
/// forward pass: what Q-ViT's DGD loss compares between student and teacher.
public protocol QueryKeyReporting: ImageClassifier {
    /// Runs the model on `images` and returns its output with one `QueryKeyPair` per attention
    /// block, in order. Student pairs stay in the autograd graph.
    func forwardRecordingQueriesKeys(_ images: Tensor, tap: QueryKeyTap) -> (output: ClassifierOutput, pairs: [QueryKeyPair])
}

extension QueryKeyReporting {
    /// Models built from `QueryKeyRecording` attention modules record through a recorder.
    public func forwardRecordingQueriesKeys(_ images: Tensor, tap: QueryKeyTap = .beforeQuantizer)
        -> (output: ClassifierOutput, pairs: [QueryKeyPair]) {
        let (output, pairs) = recordingQueriesKeys(tap: tap) { self(images) }
        return (output, pairs)
    }
}

extension DeiT: QueryKeyReporting {
    /// The full-precision teacher's per-head q and k straight from each block's qkv
    /// projection (no IRM; `tap` is irrelevant). The fused attention kernel does not expose
    /// them, so each block's projection is evaluated once more.
    public func forwardRecordingQueriesKeys(_ images: Tensor, tap: QueryKeyTap = .beforeQuantizer)
        -> (output: ClassifierOutput, pairs: [QueryKeyPair]) {
        let c = config
        let b = images.shape[0]
        var x = tokens.sequence(patches: patchEmbed(images))
        var pairs: [QueryKeyPair] = []
        let n = x.shape[1], d = c.dim / c.heads
        for block in blocks {
            let parts = block.attn.qkv(block.norm1(x)).reshaped([b, n, 3, c.heads, d]).permuted([2, 0, 3, 1, 4])
            pairs.append(QueryKeyPair(queries: parts.slice(axis: 0, 0..<1).reshaped([b, c.heads, n, d]),
                                      keys: parts.slice(axis: 0, 1..<2).reshaped([b, c.heads, n, d])))
            x = block(x)
        }
        x = norm(x)
        return (classify(x, head: head, distillationHead: headDist, training: isTraining), pairs)
    }
}
