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
                      ImportCommand.self, ForwardCommand.self,
                      BenchCommand.self])

    /// Parses and runs the command; every error is printed in one place, readably
    /// (`PresentableError`).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: PresentableError.wrap(error))
        }
    }
}

/// Prints `value` as one line of JSON (keys sorted; non-finite numbers as the strings "nan",
/// "inf", "-inf").
func printJSON<T: Encodable>(_ value: T) throws {
    print(try jsonLine(value))
}

/// Applies `--threads`.
func setThreads(_ threads: Int?) {
    if let threads { Parallel.threadCount = threads }
}
