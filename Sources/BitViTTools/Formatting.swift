import BitViTRuntime
import Foundation

/// `5717416` → `5,717,416`.
public func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

/// `text` padded on the left to `width` characters.
public func rightAligned(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

/// `value` as one line of JSON with sorted keys, non-finite numbers as the strings "nan",
/// "inf", "-inf" (the commands' `--json` output).
public func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// The storage table of `bitvit export` and `bitvit info <file.bitvit>`: tensors, values and
/// bytes per stored precision, with the tensor roles each holds.
public func storageTable(_ cost: ModelCost) -> String {
    var lines = ["storage  tensors        values         bytes  holds"]
    for s in cost.storage {
        let roles = s.roles.prefix(6).joined(separator: ", ") + (s.roles.count > 6 ? ", …" : "")
        lines.append(s.name.padding(toLength: 7, withPad: " ", startingAt: 0) + rightAligned(String(s.tensors), 8)
                     + rightAligned(grouped(s.values), 14) + rightAligned(grouped(s.bytes), 14) + "  " + roles)
    }
    return lines.joined(separator: "\n")
}
