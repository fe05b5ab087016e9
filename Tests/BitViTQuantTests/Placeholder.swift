import Testing
import BitViTQuant

@Suite struct BitViTQuantSmokeTests {
    @Test func moduleLoads() {}
}
