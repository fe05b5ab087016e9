import ArgumentParser
import BitViTPlatform
import BitViTTools

/// The command-line tool: every command parses its arguments, calls the BitViTTools function
/// behind it and prints the result.
@main
struct BitViTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bitvit",
        abstract: "Train, compress and run 1-bit and low-bit Vision Transformers on the CPU.",
        subcommands: [TrainCommand.self, EvalCommand.self, InfoCommand.self, PlotCommand.self, DemoCommand.self, CompareCommand.self,
                      ExportCommand.self, PredictCommand.self, ParityCommand.self,
                      BenchCommand.self])
}

/// Prints `value` as one line of JSON (keys sorted).
func printJSON<T: Encodable>(_ value: T) throws {
    print(try jsonLine(value))
}

/// Applies `--threads`.
func setThreads(_ threads: Int?) {
    if let threads { Parallel.threadCount = threads }
}
