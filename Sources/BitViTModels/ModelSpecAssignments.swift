import BitViTCore

extension ModelSpec {
    /// Family options from `key=value` assignments (command-line `--option` flags), e.g.
    /// `["downsampling=binary", "shift=false"]`; a later assignment of the same key wins.
    /// Throws for an assignment without `=` or with an empty key.
    public static func options(fromAssignments assignments: [String]) throws -> [String: String] {
        var options: [String: String] = [:]
        for text in assignments {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw BitViTError.invalidArgument("model option '\(text)': expected key=value, e.g. downsampling=binary")
            }
            options[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return options
    }
}
