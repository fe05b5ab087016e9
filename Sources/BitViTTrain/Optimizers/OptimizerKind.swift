/// The optimizers a recipe can name (`optimizer.name`).
public enum OptimizerKind: String, NamedChoice {
    case sgd, adam, adamw, lamb
    /// apex's FusedLAMB: LAMB whose trust ratio applies only to the decayed groups, with
    /// gradient clipping at 1.0 unless the recipe sets it.
    case fusedlamb
}
