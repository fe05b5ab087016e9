import ArgumentParser
import BitViTTools

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's loss and accuracy curves (train and validation) and, when it has diagnostics.jsonl, its quantizer diagnostics, as SVG and PNG.")

    @Argument(help: "Run directory holding metrics.jsonl (or the metrics file itself).") var runDirectory: String
    @Option(help: "Output directory (default: the run directory).") var output: String?
    @Option(help: "Figure title (default: the run directory's name).") var title: String?

    func run() throws {
        for file in try plotRun(runDirectory, output: output, title: title) { print(file.path) }
    }
}
