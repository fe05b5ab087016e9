/// A closed set of names that a recipe or the command line chooses from (optimizers, schedules,
/// data sets): the cases are the one list of valid names, and an unknown name is an error
/// that lists them.
public protocol NamedChoice: RawRepresentable<String>, CaseIterable, Codable, Sendable, CustomStringConvertible {}

extension NamedChoice {
    /// The valid names, comma-separated, in declaration order.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The choice called `name`; `field` names the setting in the error (`optimizer.name`).
    public init(named name: String, field: String) throws {
        guard let value = Self(rawValue: name) else {
            throw BitViTError.invalidArgument("\(field) is '\(name)'; use one of \(Self.names)")
        }
        self = value
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "is '\(name)'; use one of \(Self.names)")
        }
        self = value
    }

    public var description: String { rawValue }
}
