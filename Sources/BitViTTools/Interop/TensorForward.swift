import BitViTCore
import BitViTInterop
import BitViTModels
import BitViTRuntime
import BitViTTrain
import Foundation

/// `bitvit forward`: preprocessed input tensors through a model, logits out, for parity checks
/// against any framework.
///
/// Input: a safetensors file holding images `[N, C, H, W]` (float32; other float and integer
/// types are converted), already resized and normalized as the model expects; the tensor is
/// the file's only one, or the one named by `key`. Output: a safetensors file with `logits`
/// `[N, classes]` (float32) and metadata naming the model, the runner and the input.
///
/// The model is, recognized by content: a `.bitvit` file (the inference engine; bit kernels,
/// or float kernels with `floatKernels`), a BitViT checkpoint (the training graph in
/// evaluation mode), or an official PyTorch checkpoint (imported on the fly by `importing`,
/// then the training graph in evaluation mode).
public struct TensorForward {
    public var model: String
    public var input: String
    /// The input tensor's name (nil: the file's only tensor).
    public var key: String?
    /// Images per forward pass (nil: all in one). GSB's binarizers use batch-global maxima, so
    /// its logits depend on how the images are batched.
    public var batchSize: Int?
    /// A `.bitvit` model runs on the engine's float kernels.
    public var floatKernels: Bool
    /// int8 GEMMs per Q-ViT linear layer in the engine (1…4).
    public var int8Digits: Int
    /// How an official checkpoint is imported (its `source` is ignored: `model` is read).
    public var importing: OfficialImport?

    public init(model: String, input: String, key: String? = nil, batchSize: Int? = nil, floatKernels: Bool = false,
                int8Digits: Int = 3, importing: OfficialImport? = nil) {
        self.model = model
        self.input = input
        self.key = key
        self.batchSize = batchSize
        self.floatKernels = floatKernels
        self.int8Digits = int8Digits
        self.importing = importing
    }

    public struct Result {
        public var model: String
        /// What computed the logits: `engine, bit kernels`, `engine, float kernels`,
        /// `training graph (evaluation mode)`.
        public var runner: String
        public var modelName: String
        public var input: String
        public var key: String
        public var inputShape: [Int]
        /// `[N, classes]`.
        public var logits: Tensor
        /// The import report, for an official checkpoint.
        public var importReport: String?

        /// Per-row arg-max.
        public var top1: [Int] {
            let (n, k) = (logits.shape[0], logits.shape[1])
            let v = logits.scalars
            return (0..<n).map { i in (0..<k).max { v[i * k + $0] < v[i * k + $1] }! }
        }

        public func text(output: String) -> String {
            let shown = top1.prefix(16).map(String.init).joined(separator: ", ") + (top1.count > 16 ? ", …" : "")
            return (importReport.map { $0 + "\n" } ?? "")
                + "\(input)[\(key)] \(inputShape) → \(modelName) (\(runner)) → \(output) logits \(logits.shape)\n"
                + "top-1: \(shown)"
        }
    }

    /// Runs the input through the model.
    public func run() throws -> Result {
        let (images, name) = try Self.readInput(input, key: key)
        let url = URL(fileURLWithPath: model)
        let n = images.shape[0]
        let chunk = min(batchSize ?? n, n)
        if FileKind.sniff(url) == .bitvitModel {
            let engine = try InferenceEngine(ModelFile(contentsOf: url), floatKernels: floatKernels, int8Digits: int8Digits)
            try Self.check(images, name: name, expected: engine.inputShape)
            var logits = [Float]()
            let per = images.count / n
            for start in stride(from: 0, to: n, by: chunk) {
                let b = min(chunk, n - start)
                logits += engine.logits(UnsafePointer(images.data + start * per), batch: b)
            }
            return Result(model: model, runner: floatKernels ? "engine, float kernels" : "engine, bit kernels",
                          modelName: (try? engine.metadata.model.decoded(as: ModelSpec.self).name) ?? engine.metadata.family.rawValue,
                          input: input, key: name, inputShape: images.shape,
                          logits: Tensor(shape: [n, engine.classes], scalars: logits), importReport: nil)
        }
        if floatKernels { throw BitViTError.invalidArgument("--float-kernels applies to a .bitvit model; \(model) is not one") }
        let network: any ImageClassifier, spec: ModelSpec
        var report: String?
        switch try WeightsFile(path: model, field: "model", otherwise: "give a BitViT checkpoint, an official checkpoint or a .bitvit file").kind {
        case .bitvit:
            let checkpoint = try Checkpoint.load(url)
            (network, spec) = (try checkpoint.makeModel(), checkpoint.modelSpec)
        case .official:
            var importing = self.importing ?? OfficialImport(source: model)
            importing.source = model
            let imported = try importing.load()
            (network, spec) = (imported.model, imported.spec)
            report = importText(imported)
        }
        let geometry = try ModelZoo.inputGeometry(spec)
        try Self.check(images, name: name, expected: [geometry.inChannels, geometry.imageSize, geometry.imageSize])
        network.eval()
        var parts: [Tensor] = []
        for start in stride(from: 0, to: n, by: chunk) {
            let batch = chunk == n ? images : images.slice(axis: 0, start..<min(start + chunk, n))
            parts.append(withNoGrad { network(batch).logits })
        }
        let logits = parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
        return Result(model: model, runner: "training graph (evaluation mode)", modelName: spec.name, input: input, key: name,
                      inputShape: images.shape, logits: logits, importReport: report)
    }

    /// Runs and writes the logits to `output` (safetensors, atomically).
    @discardableResult
    public func run(writingTo output: String) throws -> Result {
        let result = try run()
        try Safetensors.save(["logits": result.logits], to: URL(fileURLWithPath: output), metadata: [
            "format": "pt", "model": model, "model_name": result.modelName, "runner": result.runner,
            "input": "\(input)[\(result.key)]",
        ])
        return result
    }

    /// The input tensor: `key`, or the file's only tensor; rank 4 with at least one image.
    static func readInput(_ path: String, key: String?) throws -> (Tensor, String) {
        let file = try Safetensors.load(URL(fileURLWithPath: path))
        let names = file.order
        let name: String
        if let key {
            guard file.tensors[key] != nil else {
                throw BitViTError.invalidArgument("\(path) has no tensor '\(key)'; it holds \(names.joined(separator: ", "))")
            }
            name = key
        } else {
            guard names.count == 1 else {
                throw BitViTError.invalidArgument("\(path) holds \(names.count) tensors (\(names.prefix(8).joined(separator: ", ")))"
                                                  + "; name the input with --key")
            }
            name = names[0]
        }
        let t = file.tensors[name]!
        guard t.rank == 4, t.shape[0] > 0 else {
            throw BitViTError.shapeMismatch("\(path)[\(name)] has shape \(t.shape); expected images [N, C, H, W] with N ≥ 1")
        }
        return (t, name)
    }

    static func check(_ images: Tensor, name: String, expected: [Int]) throws {
        guard Array(images.shape.dropFirst()) == expected else {
            throw BitViTError.shapeMismatch("input '\(name)' has images \(Array(images.shape.dropFirst())) (C, H, W); the model takes \(expected)")
        }
    }
}
