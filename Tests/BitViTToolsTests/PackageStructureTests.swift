import Foundation
import Testing

/// The package's structure as Package.swift declares it (read with `swift package dump-package`):
/// every target declares exactly the modules its sources import, and the runtime library's
/// dependency closure holds no training code. (`scripts/check-runtime-only` checks the same
/// closure on an actual build of an app that depends on the runtime product alone.)
@Suite("Package structure")
struct PackageStructureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Target {
        var name: String
        var type: String
        var path: String
        var dependencies: Set<String>
    }

    /// The manifest's targets, their source folders and the module names of their dependencies.
    static let targets: [String: Target] = {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-manifest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try! process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let manifest = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var targets: [String: Target] = [:]
        for t in manifest["targets"] as! [[String: Any]] {
            let name = t["name"] as! String, type = t["type"] as! String
            let dependencies = (t["dependencies"] as! [[String: Any]]).map { dependency -> String in
                // `byName`/`target`: the target's name; `product`: ArgumentParser, Yams (module = product name).
                let entry = dependency.values.first as! [Any?]
                return entry[0] as! String
            }
            let path = t["path"] as? String ?? (type == "test" ? "Tests/\(name)" : "Sources/\(name)")
            targets[name] = Target(name: name, type: type, path: path, dependencies: Set(dependencies))
        }
        return targets
    }()

    static let systemModules: Set<String> = ["Foundation", "FoundationXML", "Dispatch", "Glibc", "Darwin", "Testing", "XCTest"]

    /// Modules a product brings besides its own (Yams' C parser).
    static let productModules: [String: Set<String>] = ["Yams": ["CYaml"]]

    /// The modules the sources of `target` import (`import M`, `@_exported import M`, C `#include <M.h>` of a package target).
    static func imports(of target: Target) throws -> Set<String> {
        var found = Set<String>()
        let folder = root.appendingPathComponent(target.path)
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
        for file in files where ["swift", "c", "h"].contains(file.pathExtension) && !file.path.contains("/Fixtures/") {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                if file.pathExtension == "swift" {
                    if words.first == "import", words.count == 2 { found.insert(String(words[1])) }
                    if words.count == 3, words[0] == "@_exported", words[1] == "import" { found.insert(String(words[2])) }
                } else if words.count == 2, words[0] == "#include", words[1].hasPrefix("<"), words[1].hasSuffix(".h>") {
                    let header = String(words[1].dropFirst().dropLast(3))
                    if targets[header] != nil && header != target.name { found.insert(header) }
                }
            }
        }
        return found.subtracting(systemModules)
    }

    @Test("Every target declares exactly what its sources import")
    func declaredDependencies() throws {
        #expect(Self.targets.count > 20)
        for target in Self.targets.values where target.type != "system" {
            let imported = try Self.imports(of: target)
            let available = target.dependencies.union(target.dependencies.flatMap { Self.productModules[$0] ?? [] })
            #expect(imported.subtracting(available).isEmpty,
                    "\(target.name) imports \(imported.subtracting(available).sorted()) without declaring them")
            #expect(target.dependencies.subtracting(imported).isEmpty,
                    "\(target.name) declares \(target.dependencies.subtracting(imported).sorted()) but imports none of it")
        }
    }

    @Test("The runtime's dependency closure is the platform layer and the kernels, nothing that trains")
    func runtimeClosure() {
        var closure = Set<String>(), pending = ["BitViTRuntime"]
        while let name = pending.popLast() {
            for dependency in Self.targets[name]?.dependencies ?? [] where closure.insert(dependency).inserted {
                pending.append(dependency)
            }
        }
        #expect(closure == ["BitViTPlatform", "CBitViTPlatform", "CBitKernels", "CBLAS"])
    }
}
