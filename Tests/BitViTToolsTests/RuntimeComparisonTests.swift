import BitViTTools
import Testing

@Suite("bench compare: anchor output, table and ratios")
struct RuntimeComparisonTests {
    @Test("strong_infer.py and anchor-memory.py lines parse; other lines are ignored")
    func parsesAnchors() {
        let timing = """
            some warning from torch.onnx
            torch-eager batch=1 median_ms=85.20 p90_ms=90.10 img/s=11.7
            onnxruntime-int8 batch=16 median_ms=480.00 p90_ms=500.00 img/s=33.3
            openvino-fp32 batch=1 median_ms=oops p90_ms=1 img/s=2
            """
        #expect(RuntimeComparison.parseTimings(timing) == [
            .init(runtime: "torch-eager", batch: 1, medianMs: 85.2, imagesPerSecond: 11.7),
            .init(runtime: "onnxruntime-int8", batch: 16, medianMs: 480, imagesPerSecond: 33.3),
        ])
        let memory = "onnxruntime-fp32 rss_before_mb=40.0 peak_rss_mb=210.5 engine_mb=170.5\nnoise"
        #expect(RuntimeComparison.parseMemory(memory) == [.init(runtime: "onnxruntime-fp32", peakMB: 210.5, engineMB: 170.5)])
    }

    @Test("the table gives medians with their range, and — where nothing was measured")
    func table() {
        var gsb = RuntimeComparison.Row(name: "BitViT GSB", kind: "gsb")
        gsb.msTwoThreads = [10, 12, 11]
        gsb.msOneThread = [20]
        gsb.peakMB = 60
        gsb.engineMB = 30
        let text = RuntimeComparison.markdownTable([gsb, RuntimeComparison.Row(name: "openvino-fp32", kind: "anchor")])
        #expect(text.contains("| BitViT GSB | gsb | 20.0 | 11.0 (10.0–12.0) | — | 60 | 30 |"))
        #expect(text.contains("| openvino-fp32 | anchor | — | — | — | — | — |"))
    }

    @Test("ratios take the fastest FP32 anchor of the same round")
    func ratios() {
        var ort = RuntimeComparison.Row(name: "onnxruntime-fp32", kind: "anchor")
        ort.msTwoThreads = [60, 66]
        var ov = RuntimeComparison.Row(name: "openvino-fp32", kind: "anchor")
        ov.msTwoThreads = [54, 70]
        var int8 = RuntimeComparison.Row(name: "onnxruntime-int8", kind: "anchor")
        int8.msTwoThreads = [30, 40]
        var gsb = RuntimeComparison.Row(name: "GSB", kind: "gsb")
        gsb.msTwoThreads = [6, 10]
        #expect(RuntimeComparison.ratios([ort, ov, int8, gsb])
                == ["GSB: round 1: 9.00× best FP32, 5.00× ORT int8; round 2: 6.60× best FP32, 4.00× ORT int8"])
    }
}
