import BitViTTrain
import FuzzSupport

/// Recipes (YAML or JSON) and `--set` overrides, resolved and validated as `bitvit train`
/// does: the text up to the first NUL byte is the recipe, each further NUL-separated part an
/// override (`optimizer.lr=5e-4`). A configuration that resolves must resolve to itself again
/// from the YAML a checkpoint stores for it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let parts = FuzzInput.bytes(data, size).split(separator: 0, omittingEmptySubsequences: false)
    let recipe = String(decoding: parts[0], as: UTF8.self)
    let overrides = parts.dropFirst().map { String(decoding: $0, as: UTF8.self) }
    guard let config = FuzzInput.expectReadable({ try TrainConfig.resolve(recipeText: recipe, overrides: overrides) }) else {
        return 0
    }
    let stored: TrainConfig
    do { stored = try TrainConfig.resolve(recipeText: try config.yaml(), source: "stored configuration") } catch {
        fatalError("a resolved configuration does not resolve again from its stored YAML: \(error)")
    }
    if stored != config { fatalError("the stored YAML of a configuration resolves to another configuration") }
    return 0
}

runLibFuzzer(fuzzRecipe)
