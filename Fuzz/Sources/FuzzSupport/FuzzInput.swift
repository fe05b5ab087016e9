import BitViTPlatform
import CFuzzerDriver
import Foundation

/// What every fuzz target checks besides "no trap": a rejected input ends in a `BitViTError`
/// whose message is readable (bounded length, no Foundation or Codable dump). Anything else
/// stops the process, and libFuzzer saves the input as a crash.
public enum FuzzInput {
    /// The bytes libFuzzer hands to `LLVMFuzzerTestOneInput`.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The longest error message accepted (names and values quoted in messages are bounded).
    public static let maxMessageCharacters = 8192

    /// Fragments of `Swift.DecodingError`, `NSError` and `CodingKey` descriptions: an error
    /// message holding one has passed a Foundation or Codable error through unconverted.
    static let dumpMarkers = ["DecodingError", "CodingKeys(", "Error Domain=", "NSCocoaErrorDomain",
                              "debugDescription", "NSUnderlyingError"]

    /// Runs `body`; returns its value, or nil when it threw a readable `BitViTError`.
    @discardableResult
    public static func expectReadable<T>(_ body: () throws -> T) -> T? {
        do { return try body() } catch let error as BitViTError {
            let message = error.description
            if message.count > maxMessageCharacters {
                fatalError("error message of \(message.count) characters: \(message.prefix(600))…")
            }
            if let marker = dumpMarkers.first(where: { message.contains($0) }) {
                fatalError("error message holds an unconverted error ('\(marker)'): \(message.prefix(2000))")
            }
            return nil
        } catch {
            fatalError("an error other than BitViTError escaped: \(type(of: error)): \(String(describing: error).prefix(2000))")
        }
    }
}

/// A fuzz target's `main`: runs libFuzzer on `testOneInput` with the process's arguments
/// (corpus directories, input files, `-flag=value` options) and exits with its status.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
