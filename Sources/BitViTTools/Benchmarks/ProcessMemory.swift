import Foundation

/// Memory and CPU-time figures of the running process.
public enum ProcessMemory {
    /// Peak resident set size since the process started, in bytes (`getrusage` maxrss; the
    /// figure `/usr/bin/time -v` reports as "Maximum resident set size").
    public static var peakResidentBytes: Int {
        let usage = self.usage
        #if os(Linux)
        return usage.ru_maxrss * 1024
        #else
        return usage.ru_maxrss
        #endif
    }

    /// CPU seconds (user + system) of all threads since the process started.
    public static var cpuSeconds: Double {
        let u = usage
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    private static var usage: rusage {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return usage
    }
}
