import Foundation

/// Ctrl-C handling for long runs: the first SIGINT asks the trainer to save `last.safetensors`
/// after the current step and stop; a second one exits at once.
enum Interrupt {
    nonisolated(unsafe) private static var requested: sig_atomic_t = 0

    static var isRequested: Bool { requested != 0 }

    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested != 0 { _exit(130) }
            Interrupt.requested = 1
            let message = "\ninterrupt: saving a checkpoint after this step (Ctrl-C again to quit at once)\n"
            message.withCString { _ = write(STDERR_FILENO, $0, strlen($0)) }
        }
    }
}
