/// Range checks of configuration and metadata values whose errors name the field, the value
/// and the allowed range: `model.dim is 65536; allowed 1…8192`. Recipes, checkpoints, command
/// flags and `.bitvit` metadata check their values through these, so one value gets one
/// message wherever it comes from.
public struct FieldRules: Sendable {
    /// Put before every field name (`model.`, `loss.distillation.teacher_model.`).
    public var prefix: String

    public init(prefix: String = "") { self.prefix = prefix }

    /// The rules for the fields of a nested section `name`.
    public func nested(_ name: String) -> FieldRules { FieldRules(prefix: prefix + name + ".") }

    /// An error about `field` (`reason` follows the field name).
    public func failure(_ field: String, _ reason: String) -> BitViTError {
        .invalidArgument("\(prefix)\(field) \(reason)")
    }

    /// Throws unless `range` contains `value`.
    public func count(_ field: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else { throw failure(field, "is \(value); allowed \(Self.text(range))") }
    }

    /// Throws unless `value` is finite and within the interval from `lower` to `upper`, each end
    /// included unless marked open.
    public func number(_ field: String, _ value: Double, _ lower: Double, _ upper: Double,
                       lowerOpen: Bool = false, upperOpen: Bool = false) throws {
        let aboveLower = lowerOpen ? value > lower : value >= lower
        let belowUpper = upperOpen ? value < upper : value <= upper
        guard value.isFinite, aboveLower, belowUpper else {
            let interval = (lowerOpen ? "(" : "[") + Self.text(lower) + ", " + Self.text(upper) + (upperOpen ? ")" : "]")
            throw failure(field, "is \(Self.text(value)); allowed a finite number in \(interval)")
        }
    }

    /// Throws unless `value` is finite.
    public func finite(_ field: String, _ value: Double) throws {
        guard value.isFinite else { throw failure(field, "is \(Self.text(value)); allowed a finite number") }
    }

    static func text(_ range: ClosedRange<Int>) -> String {
        range.upperBound == .max ? "≥ \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
    }

    /// `1e+308`, `0.5`, `nan`, `inf`: short and exact.
    static func text(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
