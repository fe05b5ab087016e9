import BitViTRuntime
import Foundation

/// What a `bitvit_model *` points to: the classifier and the C strings handed out for it,
/// which live as long as the handle.
final class ModelHandle {
    let classifier: Classifier
    let classNames: [UnsafeMutablePointer<CChar>]
    let family: UnsafeMutablePointer<CChar>

    init(_ classifier: Classifier) {
        self.classifier = classifier
        classNames = classifier.classNames.map { strdup($0)! }
        family = strdup(classifier.metadata.family.rawValue)!
    }

    deinit {
        classNames.forEach { free($0) }
        free(family)
    }

    /// A retained reference for C (released by `release(_:)`).
    func retainedPointer() -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    /// The handle behind a pointer from `retainedPointer()`.
    static func of(_ pointer: OpaquePointer) -> ModelHandle {
        Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    static func release(_ pointer: OpaquePointer) {
        Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer)).release()
    }
}
