import ArgumentParser
import BitViTTrain
import Foundation

/// Range checks of numeric options, called from the commands' `validate()`: a zero, negative
/// or absurd value is refused with the flag's name, its value and the allowed range before
/// anything runs. (Numeric options parse `.unconditional`ly, so `--batch-size -1` reaches this
/// check instead of being taken for a flag.)
func checkOption(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
    guard let value, !range.contains(value) else { return }
    let allowed = range.upperBound == .max ? "≥ \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
    throw ValidationError("\(flag) is \(value); allowed \(allowed)")
}

/// `value` must be finite and positive, at most `upper`.
func checkOption(_ flag: String, _ value: Double?, positiveUpTo upper: Double) throws {
    guard let value, !(value.isFinite && value > 0 && value <= upper) else { return }
    throw ValidationError("\(flag) is \(value); allowed a number in (0, \(upper)]")
}

/// `--threads`.
func checkThreads(_ value: Int?) throws { try checkOption("--threads", value, 1...TrainConfig.maxThreads) }

/// Errors that are not BitViT's own or the argument parser's (Foundation's file errors,
/// Codable's decoding errors) as one readable line, so that no Foundation or Decodable dump
/// reaches the user.
struct PresentableError: LocalizedError {
    let message: String
    var errorDescription: String? { message }

    /// `error` itself, or its readable form where it would print as a dump.
    static func wrap(_ error: Error) -> Error {
        if error is DecodingError || error is EncodingError { return PresentableError(message: ReadableError.describe(error)) }
        let domain = (error as NSError).domain
        if domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain { return PresentableError(message: ReadableError.describe(error)) }
        return error
    }
}
