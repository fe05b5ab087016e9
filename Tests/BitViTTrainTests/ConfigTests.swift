import Foundation
import Testing
import BitViTTrain

@Suite struct ConfigTests {
    let recipe = """
        name: tiny
        model:
          name: vit-mnist
          classes: 10
          dim: 32
          depth: 2
        optimizer:
          name: lamb
          lr: 5e-4
          weight_decay: 0
          betas: [0.9, 0.95]
        schedule:
          warmup_epochs: 2
        training:
          epochs: 3
        """

    @Test func recipeOverridesDefaults() throws {
        let c = try TrainConfig.resolve(recipeText: recipe)
        #expect(c.name == "tiny")
        #expect(c.model.dim == 32 && c.model.depth == 2 && c.model.heads == nil)
        #expect(c.optimizer.name == .lamb && c.optimizer.lr == 5e-4 && c.optimizer.betas == [0.9, 0.95])
        #expect(c.schedule.warmupEpochs == 2 && c.schedule.name == .cosine)
        #expect(c.training.epochs == 3)
        #expect(c.data.batchSize == TrainConfig().data.batchSize, "unspecified fields keep their defaults")
    }

    @Test func dottedOverridesApplyInOrder() throws {
        let c = try TrainConfig.resolve(recipeText: recipe, overrides: [
            "optimizer.lr=1e-3", "training.epochs=7", "optimizer.clip_grad_norm=1.0",
            "model.options.bits=2", "data.augmentation.horizontal_flip=true", "training.epochs=8",
            "schedule.stepping=iteration",
        ])
        #expect(c.optimizer.lr == 1e-3)
        #expect(c.training.epochs == 8)
        #expect(c.optimizer.clipGradNorm == 1.0)
        #expect(c.model.options == ["bits": "2"])
        #expect(c.data.augmentation.horizontalFlip)
        #expect(c.schedule.stepping == .iteration)
    }

    @Test func unknownFieldsAreRejectedWithTheirName() {
        do {
            _ = try TrainConfig.resolve(recipeText: recipe, overrides: ["optimizer.learning_rat=1"])
            Issue.record("an unknown field was accepted")
        } catch let error as BitViTError {
            #expect("\(error)".contains("learning_rat"))
            #expect("\(error)".contains("weight_decay"), "the message lists the known fields")
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: BitViTError.self) { try TrainConfig.resolve(recipeText: "optimizr:\n  lr: 1\n") }
    }

    @Test func badValuesNameTheField() {
        for (override, field) in [("optimizer.lr=fast", "optimizer.lr"), ("optimizer.name=adamx", "optimizer.name"),
                                  ("training.epochs=0", "training.epochs"), ("schedule.stepping=weekly", "schedule.stepping"),
                                  ("loss.distillation.type=hard", "loss.distillation.teacher")] {
            do {
                _ = try TrainConfig.resolve(recipeText: recipe, overrides: [override])
                Issue.record("\(override) was accepted")
            } catch {
                #expect("\(error)".contains(field), "\(override): \(error)")
            }
        }
        #expect(throws: BitViTError.self) { try TrainConfig.resolve(recipeText: recipe, overrides: ["noequals"]) }
        // Names come from their registries, and so does the list in the error.
        for (override, names) in [("optimizer.name=adamx", OptimizerKind.names), ("schedule.name=linear", ScheduleKind.names),
                                  ("data.dataset=imagenet", DatasetKind.names)] {
            #expect { _ = try TrainConfig.resolve(recipeText: recipe, overrides: [override]) } throws: { "\($0)".contains("use one of \(names)") }
        }
    }

    @Test(arguments: [
        ("data.validation.size=1.5", "data.validation.size"), ("data.validation.size=0", "data.validation.size"),
        ("data.validation.source=test", "data.validation.source"), ("data.normalization=cifar", "data.normalization"),
        ("data.eval_crop_pct=0", "data.eval_crop_pct"), ("data.eval_crop_pct=1.2", "data.eval_crop_pct"),
        ("data.eval_interpolation=lanczos", "data.eval_interpolation"),
        ("data.augmentation.interpolation=area", "data.augmentation.interpolation"),
        ("data.repeated_augmentation=-1", "data.repeated_augmentation"), ("method.name=lsq", "method.name"),
        ("method.mode=book", "method.mode"),
    ])
    func badTrainingProcedureValuesNameTheField(_ override: String, _ field: String) {
        do {
            _ = try TrainConfig.resolve(recipeText: recipe, source: "r.yaml", overrides: [override])
            Issue.record("\(override) was accepted")
        } catch {
            #expect("\(error)".contains(field.split(separator: ".").last!), "\(override): \(error)")
        }
    }

    @Test func trainingProcedureFieldsRoundTrip() throws {
        let c = try TrainConfig.resolve(recipeText: recipe, overrides: [
            "method.name=qvit", "method.mode=paper", "data.validation.size=50", "data.validation.source=dataset",
            "data.normalization=imagenet", "data.repeated_augmentation=3", "data.eval_crop_pct=0.875",
            "data.augmentation.interpolation=bilinear",
        ])
        #expect(c.method.name == "qvit" && c.method.mode == .paper)
        #expect(c.data.validation.amount == .count(50) && c.data.validation.source == "dataset")
        #expect(c.data.normalization == "imagenet" && c.data.repeatedAugmentation == 3 && c.data.evalCropPct == 0.875)
        #expect(try TrainConfig.resolve(recipeText: c.yaml()) == c)
        let defaults = TrainConfig()
        #expect(defaults.data.validation.amount == .fraction(0.1) && defaults.data.validation.source == "train")
        #expect(defaults.method.name == "none" && defaults.data.evalCropPct == nil && defaults.data.normalization == nil)
    }

    @Test func jsonRecipesWork() throws {
        let c = try TrainConfig.resolve(recipeText: #"{"optimizer": {"name": "sgd", "momentum": 0.8, "nesterov": true}}"#)
        #expect(c.optimizer.name == .sgd && c.optimizer.momentum == 0.8 && c.optimizer.nesterov)
    }

    @Test func dryRunYAMLRoundTrips() throws {
        let c = try TrainConfig.resolve(recipeText: recipe, overrides: ["loss.label_smoothing=0.1", "model.options.bits=1"])
        let yaml = try c.yaml()
        #expect(yaml.contains("label_smoothing: 0.1"))
        #expect(yaml.contains("weight_decay"), "printed with snake_case keys")
        #expect(try TrainConfig.resolve(recipeText: yaml) == c)
    }

    /// Checkpoints store this text: one configuration gives one text, whatever order its
    /// free-form maps (Swift dictionaries) enumerate in.
    @Test func yamlListsFreeFormMapsInKeyOrder() throws {
        let keys = ["opt_shift", "opt_attention", "opt_downsampling", "opt_bits", "opt_zeta", "opt_alpha"]
        let c = try TrainConfig.resolve(recipeText: recipe, overrides: keys.map { "model.options.\($0)=1" })
        let yaml = try c.yaml()
        let positions = try keys.sorted().map { key in try #require(yaml.range(of: "    \(key): ")).lowerBound }
        #expect(positions == positions.sorted())
        #expect(try TrainConfig.resolve(recipeText: yaml).yaml() == yaml)
    }

    @Test func recipeFilesInTheRepositoryResolve() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../recipes")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { ["yaml", "yml", "json"].contains($0.pathExtension) }
        #expect(!files.isEmpty)
        for f in files { _ = try TrainConfig.resolve(recipe: f) }
    }

    @Test func factoriesFollowTheRecipe() throws {
        let c = try TrainConfig.resolve(recipeText: recipe, overrides: ["optimizer.name=fusedlamb", "data.batch_size=256",
                                                                        "optimizer.lr_batch_reference=512"])
        let model = try ModelZoo.make(c.model)
        let optimizer = c.makeOptimizer(for: model)
        #expect(optimizer is LAMB)
        #expect(abs(optimizer.learningRate - 2.5e-4) < 1e-9, "linear scaling 5e-4·256/512")
        #expect(c.gradientClipNorm == 1.0, "fusedlamb clips at 1 like apex")
        let lr = c.makeSchedule().learningRate(at: TrainingProgress(epoch: 0, epochs: 3, iteration: 0, iterationsPerEpoch: 1))
        #expect(lr == c.schedule.warmupLr)
    }
}

@Suite struct DemoRecipeTests {
    @Test func embeddedDemoRecipeMatchesTheRecipeFile() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../recipes/gsb-vit-mnist.yaml")
        #expect(try TrainConfig.demo() == TrainConfig.resolve(recipe: file))
        #expect(try TrainConfig.demo().data.dataset == .fashionMNIST)
    }
}

@Suite struct SchemaTests {
    @Test func optionalFieldsAreKnownEvenWhenUnset() throws {
        for o in ["optimizer.lr_batch_reference=512", "data.samples_per_class=5", "training.threads=2",
                  "loss.distillation.teacher_model={name: deit-tiny, classes: 10}", "model.drop_path_rate=0.1",
                  "data.normalization=imagenet", "data.eval_crop_pct=0.875"] {
            #expect(throws: Never.self, "\(o)") { _ = try TrainConfig.resolve(recipeText: nil, overrides: [o]) }
        }
        do {
            _ = try TrainConfig.resolve(recipeText: nil, overrides: ["optimizer.lrr=3"])
            Issue.record("accepted an unknown field")
        } catch {
            #expect("\(error)".contains("lr_batch_reference"), "unset optional fields are listed as known")
        }
    }
}
