import BitViTTools
import Foundation
import FuzzSupport

/// Comparison plans (YAML) and run records (JSON), read as `bitvit compare` reads them: the
/// first byte chooses the reader (even: plan, odd: record), the rest is the file. A plan that
/// reads must name every run it refers to; a record that reads must encode and decode back to
/// the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzComparison(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    if selector % 2 == 0 {
        guard let plan = FuzzInput.expectReadable({ try ComparisonPlan.parse(String(decoding: body, as: UTF8.self), source: "plan.yaml") })
        else { return 0 }
        let names = Set(plan.runs.map(\.name))
        for run in plan.runs where !ComparisonPlan.references(in: plan.set + run.set).allSatisfy(names.contains) {
            fatalError("a validated plan refers to a run it does not have")
        }
        for (run, seed) in plan.trials { _ = plan.overrides(for: run, seed: seed) }
        return 0
    }
    guard let record = FuzzInput.expectReadable({ try ComparisonRecord.decode(Data(body), source: "seed-0.json") }) else { return 0 }
    // Encoded, decoded and encoded again: the same bytes (NaNs included, which == would not see).
    do {
        let bytes = try record.encoded()
        guard try ComparisonRecord.decode(bytes, source: "re-encoded").encoded() == bytes else {
            fatalError("a record does not read back to itself")
        }
    } catch {
        fatalError("a record that decoded cannot be encoded and decoded again: \(error)")
    }
    return 0
}

runLibFuzzer(fuzzComparison)
