import Foundation

/// Ctrl-C handling for long runs: the first SIGINT asks the trainer to save `last.safetensors`
/// after the current step and stop; a second one exits at once. SIGUSR1 (which `mpirun`
/// forwards to every process, and batch systems send before a time limit) does the same.
enum Interrupt {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0
    nonisolated(unsafe) private static var announces: sig_atomic_t = 1

    static var isRequested: Bool { requested != 0 }

    /// `announce`: print the notice (rank 0 of a data-parallel run only).
    static func install(announce: Bool = true) {
        announces = announce ? 1 : 0
        for number in [SIGINT, SIGUSR1] {
            signal(number) { _ in
                if Interrupt.requested != 0 { _exit(130) }
                Interrupt.requested = 1
                guard Interrupt.announces != 0 else { return }
                let message = "\ninterrupt: saving a checkpoint after this step (Ctrl-C again to quit at once)\n"
                message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
    }
}
