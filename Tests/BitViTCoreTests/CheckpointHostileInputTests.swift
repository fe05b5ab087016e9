import BitViTCore
import Foundation
import Testing

/// Hostile and damaged checkpoints get clear errors; mutated real checkpoints either decode or
/// throw `BitViTError`, and never trap (a trap would end the test process).
@Suite struct CheckpointHostileInputTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/pytorch")

    static let hostile: [String: String] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("hostile/manifest.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: String]
    }()

    @Test(arguments: hostile.keys.sorted())
    func hostileFilesAreRefusedClearly(_ file: String) {
        let url = Self.folder.appendingPathComponent("hostile/\(file)")
        do {
            let checkpoint = try PyTorchCheckpoint.load(url)
            Issue.record("\(file) decoded to \(checkpoint.root)")
        } catch let error as BitViTError {
            let text = error.description
            #expect(text.contains(url.path) && text.contains(Self.hostile[file]!), "\(file): \(text)")
        } catch {
            Issue.record("\(file): unexpected error \(error)")
        }
    }

    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct Mutator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

        /// One random damage to `bytes` inside `region`: flipped bits, a byte set to an edge
        /// value, a cut, an inserted or deleted run, or a copied run.
        mutating func mutate(_ bytes: [UInt8], in region: Range<Int>) -> [UInt8] {
            var b = bytes
            let at = region.lowerBound + below(region.count)
            switch below(7) {
            case 0: b[at] ^= UInt8(1 << below(8))
            case 1: b[at] = [0x00, 0xFF, 0x7F, 0x80, 0x2E, 0x28, 0x52, 0x51][below(8)]
            case 2: b[at] = UInt8(truncatingIfNeeded: next())
            case 3: b.removeSubrange(at...)
            case 4: b.insert(contentsOf: (0..<(1 + below(8))).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
            case 5: b.removeSubrange(at..<min(b.count, at + 1 + below(16)))
            default:
                let from = below(b.count), n = min(1 + below(32), b.count - from, b.count - at)
                b.replaceSubrange(at..<(at + n), with: b[from..<(from + n)])
            }
            return b
        }
    }

    /// Runs the whole read path on `count` mutants of a fixture; every outcome must be a result
    /// or a `BitViTError`. Returns how many mutants decoded.
    static func survive(_ file: String, count: Int, seed: UInt64, region: ((([UInt8]) -> Range<Int>))? = nil) throws -> Int {
        let original = [UInt8](try Data(contentsOf: folder.appendingPathComponent(file)))
        let range = region?(original) ?? 0..<original.count
        var mutator = Mutator(state: seed)
        var decoded = 0
        for i in 0..<count {
            var bytes = mutator.mutate(original, in: range)
            if mutator.below(4) == 0, bytes.count > 1 { bytes = mutator.mutate(bytes, in: 0..<bytes.count) }
            do {
                try PyTorchCheckpoint.readAll(bytes: Data(bytes))
                decoded += 1
            } catch is BitViTError {
            } catch {
                Issue.record("\(file) mutant \(i): \(error) is not a BitViTError")
            }
        }
        return decoded
    }

    /// The pickle of an archive without CRCs, so mutants reach the interpreter rather than
    /// failing the checksum.
    static func pickleRegion(_ bytes: [UInt8]) -> Range<Int> {
        let name = Array("data.pkl".utf8)
        let at = (0..<(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name }!
        let start = (at..<bytes.count).first { bytes[$0] == 0x80 && bytes[$0 + 1] == 0x02 }!
        let stop = (start..<bytes.count).first { bytes[$0] == 0x2E && bytes[$0 + 1] == 0x50 }! // STOP, then "PK"
        return start..<(stop + 1)
    }

    @Test func mutatedCheckpointsNeverTrap() throws {
        // Pickle-level damage (no CRC to stop it), the legacy stream, whole zip archives,
        // and safetensors headers.
        let pickleSurvivors = try Self.survive("no_crc.pt", count: 3000, seed: 1, region: Self.pickleRegion)
        let legacySurvivors = try Self.survive("legacy.pt", count: 3000, seed: 2)
        _ = try Self.survive("deit_training.pt", count: 600, seed: 3)
        _ = try Self.survive("shared.pt", count: 600, seed: 4)
        _ = try Self.survive("dtypes.pt", count: 600, seed: 5)
        _ = try Self.survive("deflated.pt", count: 600, seed: 6)
        _ = try Self.survive("mixed.safetensors", count: 600, seed: 7)
        // Some mutants must survive (changed values, harmless opcodes), or the mutations never
        // reached the interpreter's success paths.
        #expect(pickleSurvivors > 0 && legacySurvivors > 0, "\(pickleSurvivors) / \(legacySurvivors) mutants decoded")
    }

    @Test func mutatedPicklesNeverTrap() throws {
        for version in [0, 2, 4] {
            let original = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("pickles/protocol\(version).pkl")))
            var mutator = Mutator(state: UInt64(10 + version))
            for i in 0..<1500 {
                let bytes = mutator.mutate(original, in: 0..<original.count)
                do { _ = try PyTorchCheckpoint.decodePickle(Data(bytes), limits: .fuzzing).description } catch is BitViTError {} catch {
                    Issue.record("protocol \(version) mutant \(i): \(error) is not a BitViTError")
                }
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var mutator = Mutator(state: 99)
        for prefix: [UInt8] in [[0x80, 0x02], [0x50, 0x4B, 0x03, 0x04], [0x80, 0x04, 0x95], []] {
            for _ in 0..<500 {
                let bytes = prefix + (0..<mutator.below(200)).map { _ in UInt8(truncatingIfNeeded: mutator.next()) }
                #expect(throws: BitViTError.self) { try PyTorchCheckpoint.readAll(bytes: Data(bytes)) }
            }
        }
    }
}
