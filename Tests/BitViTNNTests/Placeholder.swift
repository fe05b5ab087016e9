import Testing
import BitViTNN

@Suite struct BitViTNNSmokeTests {
    @Test func moduleLoads() {}
}
