import Testing
import BitViTTrain

@Suite struct BitViTTrainSmokeTests {
    @Test func moduleLoads() {}
}
