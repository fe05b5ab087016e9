import BitViTTrain
import Foundation

/// How this process was started, and the process group that follows from it.
public enum DistributedLaunch {
    /// Whether an MPI launcher started this process: `mpirun`/`mpiexec` of Open MPI
    /// (`OMPI_COMM_WORLD_SIZE`), or a PMIx/PMI launcher such as Slurm's `srun --mpi=pmix`.
    public static func isUnderMPILauncher(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }

    /// An `MPIProcessGroup` when an MPI launcher started this process; otherwise one process,
    /// which makes no MPI call at all.
    public static func processGroup(timeoutSeconds: Double = 1800) throws -> any ProcessGroup {
        isUnderMPILauncher() ? try MPIProcessGroup(timeoutSeconds: timeoutSeconds) : SingleProcessGroup()
    }

    /// The cores one process should use: the cores it is bound to (its CPU affinity; Open MPI
    /// binds each of up to two processes per machine to a core by default), divided among the
    /// `localProcesses` processes of this machine when they are not bound and share all cores.
    public static func coresPerProcess(localProcesses: Int) -> Int {
        let machine = ProcessInfo.processInfo.activeProcessorCount
        let allowed = affinityCoreCount() ?? machine
        if allowed < machine { return max(1, allowed) }
        return max(1, allowed / max(1, localProcesses))
    }

    /// Cores in this process's CPU affinity (Linux `/proc/self/status`), nil where unknown.
    static func affinityCoreCount() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return nil }
        return coreCount(list: String(line.dropFirst("Cpus_allowed_list:".count)))
    }

    /// Cores in a Linux CPU list such as `0-3,8,10-11`.
    public static func coreCount(list: String) -> Int? {
        var total = 0
        for part in list.split(separator: ",") {
            let bounds = part.trimmingCharacters(in: .whitespaces).split(separator: "-").map { Int($0) }
            switch bounds.count {
            case 1: guard bounds[0] != nil else { return nil }; total += 1
            case 2:
                guard let lo = bounds[0], let hi = bounds[1], hi >= lo else { return nil }
                total += hi - lo + 1
            default: return nil
            }
        }
        return total > 0 ? total : nil
    }
}

extension DistributedLaunch {
    /// Runs `body` with this process's group (see `processGroup`), then finalizes MPI. An
    /// error thrown on a process of an MPI job ends the whole job (`ProcessGroup.abort`) with
    /// the error's message instead of leaving the other processes waiting; with one process
    /// the error is rethrown.
    public static func run(_ body: (any ProcessGroup) throws -> Void) throws {
        let group = try processGroup()
        guard let mpi = group as? MPIProcessGroup else { return try body(group) }
        do {
            try body(mpi)
        } catch {
            mpi.abort("error: \(error)")
        }
        mpi.finish()
    }

    /// Worker threads for this process: `requested`, else all cores alone, else the cores of
    /// this process under an MPI launcher (`coresPerProcess`).
    public static func threadCount(requested: Int?, group: any ProcessGroup) -> Int? {
        if let requested { return requested }
        guard let mpi = group as? MPIProcessGroup else { return nil }
        return coresPerProcess(localProcesses: mpi.localProcessCount)
    }
}

/// Starts a program on this machine under Open MPI's `mpirun` (with `--oversubscribe`, the
/// options in `BITVIT_MPIRUN_OPTIONS`, and for root Open MPI's explicit permission to run as
/// root).
public struct MPILauncher {
    public var processes: Int
    public var options = ["--oversubscribe"]
        + (ProcessInfo.processInfo.environment["BITVIT_MPIRUN_OPTIONS"] ?? "").split(separator: " ").map(String.init)

    public init(processes: Int) { self.processes = processes }

    /// `mpirun` on the search path, nil when Open MPI is not installed.
    public static var mpirun: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// A `Process` (not started) running `executable arguments` on `processes` processes.
    public func process(executable: String, arguments: [String]) throws -> Process {
        guard let mpirun = Self.mpirun else {
            throw BitViTError.missing("mpirun (Open MPI: install openmpi-bin, or run scripts/setup)")
        }
        let process = Process()
        process.executableURL = mpirun
        process.arguments = options + ["-np", String(processes), executable] + arguments
        var environment = ProcessInfo.processInfo.environment
        if getuid() == 0 {
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        process.environment = environment
        return process
    }

    /// Runs `executable arguments` on `processes` processes and returns what rank 0 and the
    /// launcher printed on standard output; throws with the standard error when it fails.
    public func run(executable: String, arguments: [String]) throws -> String {
        let process = try process(executable: executable, arguments: arguments)
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorData = ReadAllInBackground(errors.fileHandleForReading)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BitViTError.io("mpirun -np \(processes) \(executable) failed (status \(process.terminationStatus)): \(errorData.wait())")
        }
        return text
    }
}

/// Reads a pipe to its end on a background thread (so that neither pipe of a child fills up).
private final class ReadAllInBackground: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }.start()
    }

    func wait() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
