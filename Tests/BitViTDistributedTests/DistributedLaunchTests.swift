import BitViTDistributed
import BitViTTrain
import Testing

@Suite struct DistributedLaunchTests {
    @Test func anMPILauncherIsRecognizedByItsEnvironment() {
        #expect(DistributedLaunch.isUnderMPILauncher(["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(DistributedLaunch.isUnderMPILauncher(["PMIX_RANK": "0"]))
        #expect(!DistributedLaunch.isUnderMPILauncher(["PATH": "/usr/bin"]), "a plain start makes no MPI call")
    }

    @Test func cpuListsAreCounted() {
        #expect(DistributedLaunch.coreCount(list: "0-3,8,10-11") == 7)
        #expect(DistributedLaunch.coreCount(list: "1") == 1)
        #expect(DistributedLaunch.coreCount(list: "3-1") == nil && DistributedLaunch.coreCount(list: "x") == nil)
    }

    /// Without a launcher the group is one process, and `run` hands it over without MPI.
    @Test func withoutALauncherTheGroupIsOneProcess() throws {
        guard !DistributedLaunch.isUnderMPILauncher() else { return }
        var seen: (any ProcessGroup)?
        try DistributedLaunch.run { seen = $0 }
        #expect(seen is SingleProcessGroup && seen?.worldSize == 1)
        #expect(DistributedLaunch.threadCount(requested: nil, group: SingleProcessGroup()) == nil)
        #expect(DistributedLaunch.threadCount(requested: 3, group: SingleProcessGroup()) == 3)
    }
}
