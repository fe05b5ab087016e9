import BitViTCore
import Foundation

/// One op's golden-vector file (a test target's `Fixtures/golden/<op>.json`; the format is
/// described in Tests/BitViTQuantTests/Fixtures/README.md): cases with params, inputs, upstream
/// gradients, outputs and expected input gradients.
public struct GoldenOp {
    public var op: String
    public var method: String
    public var cases: [GoldenCase]

    /// Loads `<name>.json` from `directory`.
    public static func load(_ name: String, in directory: URL) throws -> GoldenOp {
        let url = directory.appendingPathComponent(name + ".json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let root = object as? [String: Any], let cases = root["cases"] as? [[String: Any]] else {
            throw BitViTError.malformed(file: url.path, reason: "not a golden-vector file")
        }
        return GoldenOp(op: root["op"] as? String ?? name, method: root["method"] as? String ?? "",
                        cases: try cases.map { try GoldenCase($0, file: url.path) })
    }
}

public struct GoldenCase {
    public var id: String
    public var note: String
    /// Numeric params (booleans as 0/1).
    public var params: [String: Double]
    public var inputs: [String: Tensor]
    public var gradOutput: [String: Tensor]
    public var outputs: [String: Tensor]
    public var grads: [String: Tensor]

    public func flag(_ name: String) -> Bool { (params[name] ?? 0) != 0 }

    init(_ json: [String: Any], file: String) throws {
        func tensors(_ key: String) throws -> [String: Tensor] {
            guard let dict = json[key] as? [String: Any] else { return [:] }
            var out: [String: Tensor] = [:]
            for (name, value) in dict {
                guard let t = value as? [String: Any], let shape = t["shape"] as? [Int],
                      let data = t["data"] as? [NSNumber] else {
                    throw BitViTError.malformed(file: file, reason: "\(key).\(name) is not a tensor")
                }
                out[name] = Tensor(shape: shape, scalars: data.map { Float($0.doubleValue) })
            }
            return out
        }
        id = json["case"] as? String ?? "?"
        note = json["note"] as? String ?? ""
        var p: [String: Double] = [:]
        for (k, v) in json["params"] as? [String: Any] ?? [:] {
            // JSON booleans and numbers both arrive as NSNumber; true/false map to 1/0.
            if let n = v as? NSNumber { p[k] = n.doubleValue } else if let b = v as? Bool { p[k] = b ? 1 : 0 }
        }
        params = p
        inputs = try tensors("inputs")
        gradOutput = try tensors("grad_output")
        outputs = try tensors("outputs")
        grads = try tensors("grads")
    }
}
