import Testing
import BitViTDeploy

@Suite struct BitViTDeploySmokeTests {
    @Test func moduleLoads() {}
}
