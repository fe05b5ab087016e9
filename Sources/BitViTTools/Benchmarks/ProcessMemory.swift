import Foundation

/// Memory and CPU-time figures of the running process.
public enum ProcessMemory {
    /// Peak resident set size since the process started, in bytes (on Linux `VmHWM` of
    /// `/proc/self/status`, the peak of this program image: `getrusage`'s maxrss, which
    /// `/usr/bin/time -v` reports, keeps the peak of the process it was exec'ed from).
    public static var peakResidentBytes: Int {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            return kB * 1024
        }
        return usage.ru_maxrss * 1024
        #else
        return usage.ru_maxrss
        #endif
    }

    /// Current resident set size in bytes (`/proc/self/statm` on Linux; the peak elsewhere).
    public static var currentResidentBytes: Int {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = text.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { return pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        #endif
        return peakResidentBytes
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
