import ArgumentParser
import BitViTPlatform
import BitViTTools

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run preprocessed input tensors through a model and write the logits (safetensors), for parity checks.",
        discussion: """
            The input file holds images [N, C, H, W] (float32), already resized and normalized: its only \
            tensor, or the one --key names. The output holds 'logits' [N, classes]. A .bitvit model runs on \
            the inference engine (bit kernels, or --float-kernels); a BitViT checkpoint on the training graph \
            in evaluation mode; an official PyTorch checkpoint is imported first (the import options apply).
            """)

    @Argument(help: "A .bitvit model, a BitViT checkpoint or an official PyTorch checkpoint.") var source: String
    @Option(help: "Input tensors (.safetensors).") var input: String
    @Option(help: "Name of the input tensor (default: the file's only tensor).") var key: String?
    @Option(name: .shortAndLong, help: "Output file for the logits (.safetensors).") var output: String
    @Option(parsing: .unconditional, help: "Images per forward pass (default: all at once; GSB's logits depend on the batch).")
    var batchSize: Int?
    @Flag(help: "Run a .bitvit model on the engine's float kernels.") var floatKernels = false
    @Option(parsing: .unconditional, help: "int8 GEMMs per Q-ViT linear layer in the engine (1…4).") var int8Digits = 3
    @OptionGroup var flags: ImportFlags
    @Option(parsing: .unconditional, help: "Worker threads.") var threads: Int?

    func validate() throws {
        try checkOption("--batch-size", batchSize, 1...(1 << 20))
        try checkOption("--int8-digits", int8Digits, 1...4)
        try checkThreads(threads)
    }

    func run() throws {
        setThreads(threads)
        let forward = TensorForward(model: source, input: input, key: key, batchSize: batchSize, floatKernels: floatKernels,
                                    int8Digits: int8Digits, importing: try flags.importing(source))
        print(try forward.run(writingTo: output).text(output: output))
    }
}
