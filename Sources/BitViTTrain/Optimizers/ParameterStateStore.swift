import BitViTModels

/// Per-parameter optimizer buffers (moments, momentum), created zero-filled on demand and
/// saved/restored by parameter name with a prefix such as `exp_avg.`.
final class ParameterStateStore {
    /// The buffer kinds, e.g. `["exp_avg", "exp_avg_sq"]`; each becomes a name prefix.
    let kinds: [String]
    private var buffers: [ObjectIdentifier: [Tensor]] = [:]

    init(kinds: [String], groups: [ParameterGroup]) {
        self.kinds = kinds
        for g in groups {
            for (_, p) in g.parameters {
                buffers[ObjectIdentifier(p)] = kinds.map { _ in Tensor.zeros(p.shape) }
            }
        }
    }

    /// The buffers of `parameter`, in `kinds` order.
    func buffers(of parameter: Tensor) -> [Tensor] {
        guard let b = buffers[ObjectIdentifier(parameter)] else {
            preconditionFailure("parameter \(parameter.shape) is not managed by this optimizer")
        }
        return b
    }

    /// Adds `kind.name` entries for every parameter of `groups` to `state`.
    func save(into state: inout [String: Tensor], groups: [ParameterGroup]) {
        for g in groups {
            for (name, p) in g.parameters {
                for (kind, t) in zip(kinds, buffers(of: p)) { state[kind + "." + name] = t }
            }
        }
    }

    /// Copies `kind.name` entries from `state`, checking presence and shapes.
    func load(from state: [String: Tensor], groups: [ParameterGroup]) throws {
        for g in groups {
            for (name, p) in g.parameters {
                for (kind, t) in zip(kinds, buffers(of: p)) {
                    let key = kind + "." + name
                    guard let source = state[key] else { throw BitViTError.missing("optimizer state '\(key)'") }
                    guard source.shape == t.shape else {
                        throw BitViTError.shapeMismatch("optimizer state '\(key)': \(source.shape) vs \(t.shape)")
                    }
                    t.assign(source)
                }
            }
        }
    }
}
