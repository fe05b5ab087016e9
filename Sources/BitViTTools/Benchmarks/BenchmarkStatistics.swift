import Foundation

/// The median of `values` (the mean of the two middle values for an even count).
public func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
}

/// The `q`-quantile (nearest rank) of `values`.
public func percentile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((q * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank - 1, 0), sorted.count - 1)]
}

/// The 1-, 5- and 15-minute load averages (empty where unavailable): other processes share the
/// cores, so every timing report carries them.
public func loadAverage() -> [Double] {
    var values = [Double](repeating: 0, count: 3)
    return getloadavg(&values, 3) == 3 ? values : []
}
