import BitViTRuntime
import CBitViTAPI
import Foundation

/// The message behind `bitvit_last_error()`: one C string per thread, replaced by the thread's
/// next failure and freed when the thread exits.
enum LastError {
    /// nil when the system has no thread-specific key left (then every message reads "").
    private static let key: pthread_key_t? = {
        var key = pthread_key_t()
        return pthread_key_create(&key) { free($0) } == 0 ? key : nil
    }()

    /// Records `message` as this thread's last error and returns `status`.
    static func fail(_ status: bitvit_status, _ message: String) -> bitvit_status {
        if let key {
            free(pthread_getspecific(key))
            pthread_setspecific(key, strdup(message))
        }
        return status
    }

    /// Records `error` as one readable line, with `BITVIT_ERROR_IO` for files that cannot be
    /// read and otherwise `BITVIT_ERROR_INVALID_MODEL` while loading,
    /// `BITVIT_ERROR_INVALID_ARGUMENT` in calls on a model.
    static func fail(_ error: Error, loading: Bool) -> bitvit_status {
        let status: bitvit_status
        switch error as? BitViTError {
        case .io?, .missing?: status = BITVIT_ERROR_IO
        default: status = loading ? BITVIT_ERROR_INVALID_MODEL : BITVIT_ERROR_INVALID_ARGUMENT
        }
        return fail(status, ReadableError.describe(error))
    }

    /// This thread's last message, or "" (a static string) before its first failure.
    static var message: UnsafePointer<CChar> {
        if let key, let text = pthread_getspecific(key) { return UnsafePointer(text.assumingMemoryBound(to: CChar.self)) }
        return UnsafeRawPointer(StaticString("").utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
