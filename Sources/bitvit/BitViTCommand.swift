import ArgumentParser
import BitViTTrain
import Foundation

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
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
