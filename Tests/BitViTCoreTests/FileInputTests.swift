import BitViTCore
import Foundation
import Testing

/// Content sniffing, bounded reads and readable errors (class 6 of the hostile inputs).
@Suite("File kinds and bounded reads")
struct FileInputTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("Kinds are recognized by content, not by name")
    func sniffing() throws {
        let checkpoint = [UInt8](try Safetensors.encode(["w": Tensor(shape: [1], scalars: [1])]))
        let cases: [([UInt8], FileKind)] = [
            ([0x89, 0x42, 0x49, 0x54, 0x56, 0x49, 0x54, 0x0A, 1, 2], .bitvitModel),
            (checkpoint, .safetensors),
            ([0x1F, 0x8B, 8, 0], .gzip),
            ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
            ([0xFF, 0xD8, 0xFF, 0xE0], .jpeg),
            ([0, 0, 8, 3, 0, 0, 0, 1], .idx),
            (Array("name: x\nmodel: {dim: 32}  # é\n".utf8), .text),
            ([], .empty),
            ([1, 2, 3, 0, 200], .unknown),
        ]
        for (bytes, kind) in cases { #expect(FileKind.sniff(head: bytes, fileSize: bytes.count) == kind, "\(bytes.prefix(8))") }
        // A header length that begins like another format's magic (640 bytes: 80 02, a pickle
        // stream's start) is still a safetensors file.
        let header = "{\"__metadata__\": {\"pad\": \"" + String(repeating: "x", count: 640 - 29) + "\"}}"
        #expect(header.utf8.count == 640)
        let tricky = [0x80, 0x02, 0, 0, 0, 0, 0, 0] + Array(header.utf8)
        #expect(FileKind.sniff(head: tricky, fileSize: tricky.count) == .safetensors)
        #expect(try Safetensors.decode(Data(tricky), name: "tricky").metadata["pad"]?.count == 611)
        #expect(FileKind.sniff(head: [0x80, 0x02, 0x7D, 0x71], fileSize: 4) == .torchSave)
        #expect(FileKind.sniff(head: [0x50, 0x4B, 0x03, 0x04, 0], fileSize: 5) == .torchSave)
        // A header length beyond the file is no safetensors file.
        #expect(FileKind.sniff(head: Array(checkpoint.prefix(20)), fileSize: 20) != .safetensors)
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let named = dir.appendingPathComponent("model.yaml")
        try Data(checkpoint).write(to: named)
        #expect(FileKind.sniff(named) == .safetensors)
        #expect(FileKind.sniff(dir) == .directory)
        #expect(FileKind.sniff(dir.appendingPathComponent("nothing")) == .missing)
    }

    @Test("Bounded reads refuse large files, directories and missing files with readable messages")
    func boundedReads() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("data.bin")
        try Data(repeating: 7, count: 1000).write(to: file)
        #expect(try FileInput.read(file, limit: 1000, what: "test file").count == 1000)
        #expect(throws: BitViTError.malformed(file: file.path, reason: "1000 bytes is larger than the 999-byte limit for a test file")) {
            _ = try FileInput.read(file, limit: 999, what: "test file")
        }
        #expect(throws: BitViTError.malformed(file: dir.path, reason: "this is a directory, expected a test file file")) {
            _ = try FileInput.read(dir, limit: 999, what: "test file")
        }
        let missing = dir.appendingPathComponent("nothing")
        #expect(throws: BitViTError.missing("\(missing.path) (the recipe)")) { _ = try FileInput.read(missing, limit: 10, what: "recipe") }
        do {
            _ = try FileInput.readText(file, limit: 1000, what: "recipe")
            Issue.record("read control bytes as text")
        } catch let error as BitViTError {
            #expect("\(error)".contains("expected a recipe (UTF-8 text)"))
        }
    }

    @Test("Foundation and Codable errors become one readable line")
    func readableErrors() throws {
        struct Spec: Decodable { var classes: Int; var name: String }
        do {
            _ = try JSONDecoder().decode(Spec.self, from: Data(#"{"classes": "ten", "name": "x"}"#.utf8))
        } catch {
            #expect(ReadableError.decoding(error) == "field 'classes' should be an integer")
        }
        do {
            _ = try JSONDecoder().decode(Spec.self, from: Data(#"{"classes": 3}"#.utf8))
        } catch {
            #expect(ReadableError.decoding(error) == "field 'name' is required")
        }
        do {
            _ = try String(contentsOfFile: "/nonexistent-bitvit/x.yaml", encoding: .utf8)
        } catch {
            let text = ReadableError.describe(error)
            #expect(text == "/nonexistent-bitvit/x.yaml: No such file or directory", "\(text)")
            #expect(!text.contains("NSCocoaErrorDomain"))
        }
    }
}
