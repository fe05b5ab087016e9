import BitViTCore
import Foundation
import Testing

/// Real `torch.save` and safetensors files (written by scripts/interop/make_checkpoint_fixtures.py)
/// read back and compared with what `torch.load` read from the same files (`expected.json`).
@Suite struct PyTorchCheckpointTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/pytorch")

    static func load(_ name: String) throws -> PyTorchCheckpoint {
        try PyTorchCheckpoint.load(folder.appendingPathComponent(name))
    }

    static let expected: [String: [String: Any]] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }()

    /// Compares a state dict with torch.load's view of it: names, dtypes, shapes, every value
    /// (bit-exact in float32) and exact integers.
    static func expectTensors(_ weights: StateDict, _ want: [String: Any], _ file: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(weights.names) == Set(want.keys), "\(file): names \(weights.names.sorted())", sourceLocation: sourceLocation)
        for (name, any) in want {
            let spec = any as! [String: Any]
            guard let t = weights[name] else { continue }
            #expect(t.dtype.rawValue == spec["dtype"] as! String, "\(file) \(name): dtype \(t.dtype)", sourceLocation: sourceLocation)
            #expect(t.shape == spec["shape"] as! [Int], "\(file) \(name): shape \(t.shape)", sourceLocation: sourceLocation)
            let values = t.float32()
            let want = (spec["values"] as! [NSNumber]).map { Float($0.doubleValue) }
            #expect(values.shape == t.shape)
            #expect(values.scalars.map(\.bitPattern) == want.map(\.bitPattern), "\(file) \(name): \(values.scalars) vs \(want)",
                    sourceLocation: sourceLocation)
            if let integers = spec["integers"] as? [NSNumber] {
                #expect(t.integers() == integers.map(\.int64Value), "\(file) \(name): integers \(t.integers() ?? [])",
                        sourceLocation: sourceLocation)
            }
        }
    }

    @Test(arguments: expected.keys.sorted())
    func readsWhatTorchLoadReads(_ file: String) throws {
        let spec = Self.expected[file]!
        let checkpoint = try Self.load(file)
        #expect("\(checkpoint.format)" == spec["format"] as! String)
        let weights = try checkpoint.stateDict()
        #expect(weights.path == spec["path"] as! [String])
        #expect(weights.removedPrefixes == spec["removedPrefixes"] as! [String])
        #expect(weights.ignored.map(\.key) == spec["ignored"] as! [String])
        Self.expectTensors(weights, spec["tensors"] as! [String: Any], file)
        // Tensors share a storage exactly when PyTorch's did.
        let groups = (spec["shared"] as! [[String]]).map(Set.init)
        for a in weights.entries {
            for b in weights.entries where a.name < b.name {
                let together = groups.contains { $0.contains(a.name) && $0.contains(b.name) }
                #expect(a.tensor.sharesStorage(with: b.tensor) == together, "\(file): \(a.name) / \(b.name)")
            }
        }
        if let ema = spec["ema"] as? [String: Any] {
            let averaged = try checkpoint.stateDict(.ema)
            #expect(averaged.path == ema["path"] as! [String])
            #expect(averaged.removedPrefixes == (ema["prefixes"] as? [String] ?? []))
            Self.expectTensors(averaged, ema["tensors"] as! [String: Any], file + " (EMA)")
        }
    }

    @Test func trainingCheckpointKeepsArgsEpochAndOptimizerReadable() throws {
        let checkpoint = try Self.load("deit_training.pt")
        #expect(checkpoint.stateDictKeys == ["model", "model_ema"])
        #expect(checkpoint.root["epoch"]?.intValue == 7)
        #expect(checkpoint.root["max_accuracy"]?.doubleValue == 71.25)
        let args = try #require(checkpoint.root["args"]?.recordValue)
        #expect(args.typeName == "argparse.Namespace")
        #expect(args["lr"]?.doubleValue == 5e-4)
        #expect(args["model"]?.stringValue == "deit_tiny_patch16_224")
        #expect(args["epochs"]?.intValue == 300)
        #expect(args["model_ema"]?.boolValue == true)
        if case .none? = args["mixup_mode"] {} else { Issue.record("mixup_mode should be None") }
        #expect(args["milestones"]?.items?.compactMap(\.intValue) == [30, 60])
        let optimizer = try #require(checkpoint.root["optimizer"]?.dictValue)
        let state = try #require(optimizer["state"]?.dictValue)
        #expect(state.count == 9) // every parameter has AdamW moments; buffers do not
        #expect(state.entries.first?.key.intValue == 0)
        #expect(state.entries.first?.value["exp_avg"]?.tensorValue?.shape == [1, 1, 3])
        #expect(optimizer["param_groups"]?.items?.first?["lr"]?.doubleValue == 1e-3)
        let summaries = checkpoint.entries.map(\.summary)
        #expect(summaries.contains("optimizer: optimizer state (9 parameter states, 1 parameter groups)"))
        #expect(summaries.contains("args: argparse.Namespace with 11 fields"))
        #expect(summaries.contains("epoch: 7"))
        #expect(summaries.contains { $0.hasPrefix("model_ema: state dict of 12 tensors") })
        let report = try checkpoint.stateDict().report
        #expect(report.contains("weights: 12 tensors"))
        #expect(report.contains("from 'model'"))
        #expect(report.contains("int64 ×1"))
        #expect(report.contains("ignored optimizer: optimizer state"))
        #expect(report.contains("ignored args: argparse.Namespace"))
        // The state dict's _metadata attribute (module versions) is kept on the dict.
        #expect(checkpoint.root["model"]?.dictValue?.attributes["_metadata"] != nil)
    }

    @Test func selectsByKeyAndExplainsMissingChoices() throws {
        let checkpoint = try Self.load("deit_training.pt")
        let byKey = try checkpoint.stateDict(.key("model_ema"))
        #expect(byKey.path == ["model_ema"])
        #expect(byKey.ignored.map(\.key).contains("model"))
        let fromModelOnly = try Self.load("no_crc.pt")
        do {
            _ = try fromModelOnly.stateDict(.ema)
            Issue.record("found EMA weights in a file without any")
        } catch let error as BitViTError {
            #expect(error.description.contains("no EMA weights") && error.description.contains("model"), "\(error)")
        }
        #expect(throws: BitViTError.self) { try checkpoint.stateDict(.key("nope")) }
    }

    @Test func dtypesAndIntegersSurviveExactly() throws {
        let weights = try Self.load("dtypes.pt").stateDict()
        #expect(weights.dtypes["u16"] == .uint16) // written by _rebuild_tensor_v3 on an untyped storage
        #expect(weights["i64"]?.integers()?[2] == 1 << 40)
        #expect(weights["i64"]?.integers()?[5] == 16_777_217) // float32 would round this
        #expect(weights["bool"]?.integers() == [1, 0, 1, 1, 0, 0])
        #expect(weights["f32"]?.integers() == nil)
        #expect(weights["scalar"]?.shape == [] && weights["scalar"]?.float32().item() == 2.5)
        let stateDictModel = try Self.load("deit_training.pt").stateDict()
        #expect(stateDictModel.dtypes["bn.num_batches_tracked"] == .int64)
        #expect(stateDictModel["bn.num_batches_tracked"]?.integers() == [2])
    }

    @Test func viewsKeepOffsetsStridesAndShareTheirStorage() throws {
        let weights = try Self.load("shared.pt").stateDict()
        let w = try #require(weights["w"]), column = try #require(weights["column"])
        #expect(column.storageOffset == 2 && column.strides == [6] && !column.isContiguous)
        #expect(weights["transposed"]?.strides == [1, 6])
        #expect(weights["broadcast"]?.strides == [1, 0])
        #expect(weights["rows"]?.storageOffset == 6)
        #expect(weights["empty"]?.count == 0 && weights["empty"]?.float32().shape == [0, 6])
        let full = w.float32().scalars
        #expect(column.float32().scalars == (0..<4).map { full[$0 * 6 + 2] })
        let transposed: [Float] = (0..<24).map { (k: Int) -> Float in full[(k % 4) * 6 + k / 4] }
        #expect(weights["transposed"]?.float32().scalars == transposed)
        // A tied head (a distinct tensor object on the embedding's storage).
        let tied = try #require(weights["tied.1.weight"])
        #expect(tied.sharesStorage(with: try #require(weights["tied.0.weight"])) && !tied.sharesStorage(with: w))
    }

    @Test func legacyFilesShareStoragesAcrossViews() throws {
        let checkpoint = try Self.load("legacy.pt")
        #expect(checkpoint.format == .torchLegacy)
        #expect(checkpoint.metadata["sys_info.little_endian"] == "True")
        let rows = try #require(checkpoint.root["rows"]?.tensorValue), w = try #require(checkpoint.root["w"]?.tensorValue)
        #expect(rows.sharesStorage(with: w) && rows.storageOffset == 6)
        #expect(rows.float32().scalars == Array(w.float32().scalars[6..<18]))
        #expect(checkpoint.root["args"]?["lr"]?.doubleValue == 5e-4)
    }

    @Test func rebuildFunctionsMarkParameters() throws {
        let weights = try Self.load("rebuilds.pt").stateDict()
        #expect(weights["param"]?.isParameter == true && weights["param"]?.requiresGrad == true)
        #expect(weights["param_with_state"]?.isParameter == true)
        #expect(weights["with_attribute"]?.isParameter == false)
        #expect(weights["with_attribute"]?.float32().scalars == [5, 6])
    }

    @Test func containerDetailsAreReported() throws {
        #expect(try Self.load("dtypes.pt").metadata["byteorder"] == "little")
        #expect(try Self.load("big_endian.pt").metadata["byteorder"] == "big")
        let f16 = try Self.load("timm_f16.safetensors")
        #expect(f16.format == .safetensors && f16.metadata["format"] == "pt")
        #expect(try Self.load("mixed.safetensors").metadata["source"] == "bitvit fixtures")
        // The float32 safetensors reader agrees with the dtype-preserving one.
        let plain = try Safetensors.load(Self.folder.appendingPathComponent("timm_f16.safetensors"))
        for entry in try f16.stateDict().entries {
            #expect(plain.tensors[entry.name]?.scalars == entry.tensor.float32().scalars, "\(entry.name)")
        }
    }

    @Test func formatIsSniffedFromContentNotExtension() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("timm_f16.safetensors"))
        #expect(PyTorchCheckpoint.detectFormat(data) == .safetensors)
        let renamed = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-\(UUID().uuidString).pth")
        defer { try? FileManager.default.removeItem(at: renamed) }
        try data.write(to: renamed)
        #expect(try PyTorchCheckpoint.load(renamed).format == .safetensors)
        #expect(PyTorchCheckpoint.detectFormat(try Data(contentsOf: Self.folder.appendingPathComponent("legacy.pt"))) == .torchLegacy)
        #expect(PyTorchCheckpoint.detectFormat(try Data(contentsOf: Self.folder.appendingPathComponent("deflated.pt"))) == .torchZip)
        #expect(PyTorchCheckpoint.detectFormat(Data()) == nil)
        // A slice of a larger buffer (non-zero start index) decodes the same.
        var padded = Data([1, 2, 3])
        padded.append(try Data(contentsOf: Self.folder.appendingPathComponent("shared.pt")))
        let slice = padded.dropFirst(3)
        #expect(try PyTorchCheckpoint.decode(bytes: slice).stateDict()["column"]?.storageOffset == 2)
        #expect(throws: BitViTError.self) { try PyTorchCheckpoint.load(URL(fileURLWithPath: "/nonexistent/x.pt")) }
    }
}
