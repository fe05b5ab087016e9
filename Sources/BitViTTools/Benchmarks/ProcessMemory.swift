import Foundation

/// Memory figures of the running process.
public enum ProcessMemory {
    /// Peak resident set size since the process started, in bytes (`getrusage` maxrss; the
    /// figure `/usr/bin/time -v` reports as "Maximum resident set size").
    public static var peakResidentBytes: Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss
        #endif
    }
}
