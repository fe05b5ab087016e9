import BitViTRuntime
import CBitViTAPI
import Foundation

// The functions of bitvit.h (Sources/CBitViTAPI/include/bitvit.h) that need the runtime; each
// has the type of its declaration there (checked in HeaderConformance.swift). None lets a Swift
// error or trap cross the boundary: every argument is checked first, and failures become a
// status and this thread's message.

@_cdecl("bitvit_last_error")
public func bitvitLastError() -> UnsafePointer<CChar>? {
    LastError.message
}

@_cdecl("bitvit_model_load")
public func bitvitModelLoad(_ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?) -> bitvit_status {
    guard let path, let model else { return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_load: path and model must not be NULL") }
    model.pointee = nil
    do {
        model.pointee = ModelHandle(try Classifier(contentsOf: URL(fileURLWithPath: String(cString: path)))).retainedPointer()
        return BITVIT_OK
    } catch {
        return LastError.fail(error, loading: true)
    }
}

@_cdecl("bitvit_model_load_memory")
public func bitvitModelLoadMemory(_ data: UnsafeRawPointer?, _ size: Int,
                                  _ model: UnsafeMutablePointer<OpaquePointer?>?) -> bitvit_status {
    guard let model, data != nil || size == 0 else {
        return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_load_memory: data (for a non-zero size) and model must not be NULL")
    }
    model.pointee = nil
    do {
        let file = try ModelFile(copying: UnsafeRawBufferPointer(start: data, count: size))
        model.pointee = ModelHandle(try Classifier(file)).retainedPointer()
        return BITVIT_OK
    } catch {
        return LastError.fail(error, loading: true)
    }
}

@_cdecl("bitvit_model_free")
public func bitvitModelFree(_ model: OpaquePointer?) {
    if let model { ModelHandle.release(model) }
}

@_cdecl("bitvit_model_channels")
public func bitvitModelChannels(_ model: OpaquePointer?) -> Int {
    model.map { ModelHandle.of($0).classifier.inputShape[0] } ?? 0
}

@_cdecl("bitvit_model_image_size")
public func bitvitModelImageSize(_ model: OpaquePointer?) -> Int {
    model.map { ModelHandle.of($0).classifier.inputShape[1] } ?? 0
}

@_cdecl("bitvit_model_classes")
public func bitvitModelClasses(_ model: OpaquePointer?) -> Int {
    model.map { ModelHandle.of($0).classifier.classCount } ?? 0
}

@_cdecl("bitvit_model_class_name")
public func bitvitModelClassName(_ model: OpaquePointer?, _ label: Int) -> UnsafePointer<CChar>? {
    guard let model else { return nil }
    let names = ModelHandle.of(model).classNames
    return names.indices.contains(label) ? UnsafePointer(names[label]) : nil
}

@_cdecl("bitvit_model_family")
public func bitvitModelFamily(_ model: OpaquePointer?) -> UnsafePointer<CChar>? {
    model.map { UnsafePointer(ModelHandle.of($0).family) }
}

@_cdecl("bitvit_model_normalization")
public func bitvitModelNormalization(_ model: OpaquePointer?, _ mean: UnsafeMutablePointer<Float>?,
                                     _ std: UnsafeMutablePointer<Float>?) -> bitvit_status {
    guard let model, let mean, let std else {
        return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_normalization: model, mean and std must not be NULL")
    }
    let p = ModelHandle.of(model).classifier.preprocessing
    mean.update(from: p.mean, count: p.channels)
    std.update(from: p.std, count: p.channels)
    return BITVIT_OK
}

@_cdecl("bitvit_model_set_threads")
public func bitvitModelSetThreads(_ model: OpaquePointer?, _ threads: Int32) -> bitvit_status {
    guard let model else { return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_set_threads: model must not be NULL") }
    guard (0...1024).contains(threads) else {
        return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_set_threads: threads is \(threads), expected 1…1024 or 0 (the default)")
    }
    ModelHandle.of(model).classifier.threads = threads == 0 ? nil : Int(threads)
    return BITVIT_OK
}

@_cdecl("bitvit_model_logits")
public func bitvitModelLogits(_ model: OpaquePointer?, _ images: UnsafePointer<Float>?, _ batch: Int,
                              _ logits: UnsafeMutablePointer<Float>?, _ logitsCapacity: Int) -> bitvit_status {
    guard let model, let images, let logits else {
        return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_logits: model, images and logits must not be NULL")
    }
    let classifier = ModelHandle.of(model).classifier
    let (values, overflow) = batch.multipliedReportingOverflow(by: classifier.valuesPerImage)
    guard batch >= 1, !overflow else {
        return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT, "bitvit_model_logits: batch is \(batch), expected at least 1 (and a size that fits in memory)")
    }
    let (needed, tooMany) = batch.multipliedReportingOverflow(by: classifier.classCount)
    guard !tooMany, logitsCapacity >= needed else {
        return LastError.fail(BITVIT_ERROR_INVALID_ARGUMENT,
                              "bitvit_model_logits: logits holds \(logitsCapacity) floats, \(batch) images need \(needed) (\(classifier.classCount) classes each)")
    }
    do {
        let result = try classifier.logits(UnsafeBufferPointer(start: images, count: values))
        logits.update(from: result, count: result.count)
        return BITVIT_OK
    } catch {
        return LastError.fail(error, loading: false)
    }
}
