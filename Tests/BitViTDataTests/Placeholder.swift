import Testing
import BitViTData

@Suite struct BitViTDataSmokeTests {
    @Test func moduleLoads() {}
}
