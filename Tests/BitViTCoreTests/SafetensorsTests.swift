import BitViTCore
import Foundation
import Testing

@Suite struct SafetensorsTests {
    static func tempURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-st-\(UUID().uuidString)-\(name)")
    }

    @Test func roundTripKeepsNamesShapesValuesAndMetadata() throws {
        let url = Self.tempURL("a.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let tensors = ["w": Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, 1e-8, -0.0]), "s": Tensor(7)]
        try Safetensors.save(tensors, to: url, metadata: ["format": "pt"])
        let file = try Safetensors.load(url)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensors["w"]?.shape == [2, 3] && file.tensors["w"]?.scalars == tensors["w"]!.scalars)
        #expect(file.tensors["s"]?.shape == [] && file.tensors["s"]?.item() == 7)
    }

    @Test func convertsOtherDtypes() throws {
        // F16 [1.0, -2.0], BF16 [0.5], I64 [3]
        var header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"i":{"dtype":"I64","shape":[1],"data_offsets":[6,14]}}"#
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(contentsOf: [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x3F, 3, 0, 0, 0, 0, 0, 0, 0])
        let file = try Safetensors.decode(data, name: "mixed")
        #expect(file.tensors["h"]?.scalars == [1, -2])
        #expect(file.tensors["b"]?.scalars == [0.5])
        #expect(file.tensors["i"]?.scalars == [3])
    }

    static func expectMalformed(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Safetensors.decode(data, name: "bad.safetensors")
            Issue.record("accepted a malformed file (\(fragment))", sourceLocation: sourceLocation)
        } catch let error as BitViTError {
            let text = error.description
            #expect(text.contains("bad.safetensors") && text.contains(fragment), "\(text)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func malformedFilesGiveClearErrors() throws {
        let good = try Safetensors.encode(["w": Tensor(shape: [4], scalars: [1, 2, 3, 4])])
        Self.expectMalformed(Data([1, 2, 3]), "shorter than")
        let dataStart = 8 + Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for cut in [9, dataStart - 1] { Self.expectMalformed(good.prefix(cut), "header length") }
        for cut in [dataStart + 4, good.count - 1] { Self.expectMalformed(good.prefix(cut), "outside") }
        var hugeHeader = good
        hugeHeader.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0])
        Self.expectMalformed(hugeHeader, "header length")
        func withHeader(_ json: String, payload: Int) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(Data(json.utf8))
            d.append(Data(count: payload))
            return d
        }
        Self.expectMalformed(withHeader("not json", payload: 0), "not valid JSON")
        Self.expectMalformed(withHeader(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, payload: 8), "needs 12 bytes")
        Self.expectMalformed(withHeader(#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}"#, payload: 4), "unsupported dtype")
        Self.expectMalformed(withHeader(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, payload: 4), "invalid shape")
        Self.expectMalformed(withHeader(#"{"w":{"dtype":"F32","shape":[1]}}"#, payload: 4), "lacks")
        Self.expectMalformed(withHeader(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, payload: 12), "overlap")
    }

    @Test func missingFileIsAnIOError() {
        #expect(throws: BitViTError.self) { try Safetensors.load(URL(fileURLWithPath: "/nonexistent/x.safetensors")) }
    }

    @Test func atomicWriteReplacesWholeFiles() throws {
        let url = Self.tempURL("atomic.txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try AtomicFile.write("first", to: url)
        try AtomicFile.write("second", to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "second")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(".\(url.lastPathComponent)") }
        #expect(leftovers.isEmpty)
    }
}
