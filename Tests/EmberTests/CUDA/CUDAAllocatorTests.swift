import Foundation
import Synchronization
import Testing

@testable import Ember

/// Device memory as a counter: hands out fake addresses up to a capacity and checks that
/// every free matches an allocation.
private final class FakeDeviceMemory: CUDARawMemory {
    struct State {
        var next: CUdeviceptr = 0x10_0000
        var live: [CUdeviceptr: Int] = [:]
        var used = 0
        var badFrees = 0
    }

    let capacity: Int
    let state = Mutex(State())

    init(capacity: Int = 1 << 40) { self.capacity = capacity }

    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr {
        let address = state.withLock { state -> CUdeviceptr? in
            guard state.used + byteCount <= capacity else { return nil }
            let address = state.next
            state.next += CUdeviceptr(byteCount) + 512
            state.live[address] = byteCount
            state.used += byteCount
            return address
        }
        guard let address else {
            throw .driver(call: "cuMemAlloc_v2", code: CUDAResultCode.outOfMemory, name: "CUDA_ERROR_OUT_OF_MEMORY", message: "out of memory")
        }
        return address
    }

    func free(_ address: CUdeviceptr) {
        state.withLock { state in
            guard let size = state.live.removeValue(forKey: address) else {
                state.badFrees += 1
                return
            }
            state.used -= size
        }
    }

    var used: Int { state.withLock { $0.used } }
    var liveCount: Int { state.withLock { $0.live.count } }
    var badFrees: Int { state.withLock { $0.badFrees } }
}

private let mebibyte = 1 << 20

@Suite struct CUDAAllocatorTests {
    @Test func sizeClasses() {
        #expect(CUDACachingAllocator.roundedSize(1) == 512)
        #expect(CUDACachingAllocator.roundedSize(512) == 512)
        #expect(CUDACachingAllocator.roundedSize(513) == 1024)
        #expect(CUDACachingAllocator.roundedSize(mebibyte) == mebibyte)
        #expect(CUDACachingAllocator.roundedSize(mebibyte + 1) == 2 * mebibyte)
        #expect(CUDACachingAllocator.roundedSize(5 * mebibyte) == 6 * mebibyte)
        #expect(CUDACachingAllocator.reuseLimit(4096) == 4096)
        #expect(CUDACachingAllocator.reuseLimit(8 * mebibyte) == 10 * mebibyte)
    }

    @Test func freedBlocksAreReusedOnTheSameStream() throws {
        let memory = FakeDeviceMemory()
        let allocator = CUDACachingAllocator(device: 0, raw: memory)
        let first = try allocator.allocate(byteCount: 1000, stream: 7)
        #expect(allocator.free(first))
        let second = try allocator.allocate(byteCount: 900, stream: 7)
        #expect(second == first)  // same size class, same stream: no new raw allocation
        let otherStream = try allocator.allocate(byteCount: 900, stream: 8)
        #expect(otherStream != first)  // another stream might still be using the cached block
        let stats = allocator.statistics
        #expect(stats.requests == 3)
        #expect(stats.cacheHits == 1)
        #expect(stats.rawAllocations == 2)
        #expect(stats.allocatedBytes == 2048)
        #expect(stats.reservedBytes == 2048)
        #expect(stats.activeBlocks == 2)
        #expect(stats.cachedBlocks == 0)
    }

    @Test func smallBlocksAreReusedOnlyBySameClass() throws {
        let allocator = CUDACachingAllocator(device: 0, raw: FakeDeviceMemory())
        let big = try allocator.allocate(byteCount: 1024)
        allocator.free(big)
        let small = try allocator.allocate(byteCount: 100)
        #expect(small != big)
        #expect(allocator.statistics.cachedBlocks == 1)
    }

    @Test func largeBlocksAreReusedWithinAQuarterAndBestFit() throws {
        let allocator = CUDACachingAllocator(device: 0, raw: FakeDeviceMemory())
        let ten = try allocator.allocate(byteCount: 10 * mebibyte)
        let eight = try allocator.allocate(byteCount: 8 * mebibyte)
        allocator.free(ten)
        allocator.free(eight)
        // A 7 MiB request (class 8 MiB) takes the best fit, the 8 MiB block, not the 10 MiB one.
        #expect(try allocator.allocate(byteCount: 7 * mebibyte) == eight)
        // A 6 MiB request may take at most 7.5 MiB: the 10 MiB block is too big.
        let six = try allocator.allocate(byteCount: 6 * mebibyte)
        #expect(six != ten)
        // 9 MiB (class 10 MiB) takes the 10 MiB block.
        #expect(try allocator.allocate(byteCount: 9 * mebibyte) == ten)
        let stats = allocator.statistics
        #expect(stats.allocatedBytes == 24 * mebibyte)
        #expect(stats.reservedBytes == 24 * mebibyte)
        #expect(stats.peakAllocatedBytes == 24 * mebibyte)
    }

    @Test func statisticsAndEmptyCache() throws {
        let memory = FakeDeviceMemory()
        let allocator = CUDACachingAllocator(device: 0, raw: memory)
        let a = try allocator.allocate(byteCount: 3 * mebibyte)
        let b = try allocator.allocate(byteCount: 4096)
        allocator.free(a)
        var stats = allocator.statistics
        #expect(stats.allocatedBytes == 4096)
        #expect(stats.reservedBytes == 4 * mebibyte + 4096)
        #expect(stats.peakAllocatedBytes == 4 * mebibyte + 4096)
        #expect(stats.cachedBlocks == 1)
        #expect(memory.used == 4 * mebibyte + 4096)

        allocator.emptyCache()
        stats = allocator.statistics
        #expect(stats.reservedBytes == 4096)
        #expect(stats.peakReservedBytes == 4 * mebibyte + 4096)
        #expect(stats.cachedBlocks == 0)
        #expect(stats.rawFrees == 1)
        #expect(memory.used == 4096)
        allocator.free(b)
        allocator.emptyCache()
        #expect(memory.liveCount == 0)
        #expect(memory.badFrees == 0)
    }

    @Test func outOfMemoryReturnsTheCacheAndRetries() throws {
        let memory = FakeDeviceMemory(capacity: 10 * mebibyte)
        let allocator = CUDACachingAllocator(device: 0, raw: memory)
        allocator.free(try allocator.allocate(byteCount: 6 * mebibyte, stream: 1))
        // 6 MiB cached on stream 1 + 8 MiB new exceeds 10 MiB: the cache goes back first.
        let big = try allocator.allocate(byteCount: 8 * mebibyte, stream: 2)
        #expect(big != 0)
        let stats = allocator.statistics
        #expect(stats.outOfMemoryRetries == 1)
        #expect(stats.cachedBlocks == 0)
        #expect(stats.reservedBytes == 8 * mebibyte)
        #expect(memory.used == 8 * mebibyte)
    }

    @Test func outOfMemoryErrorReadsLikePyTorchs() throws {
        let allocator = CUDACachingAllocator(device: 3, raw: FakeDeviceMemory(capacity: 10 * mebibyte))
        _ = try allocator.allocate(byteCount: 6 * mebibyte)
        do throws(CUDAError) {
            _ = try allocator.allocate(byteCount: 8 * mebibyte)
            Issue.record("expected out of memory")
        } catch {
            guard case .outOfMemory(let message) = error else {
                Issue.record("expected outOfMemory, got \(error)")
                return
            }
            #expect(message.hasPrefix("CUDA out of memory. Tried to allocate 8.00 MiB on cuda:3."))
            #expect(message.contains("6.00 MiB allocated"))
        }
        #expect(allocator.statistics.activeBlocks == 1)
    }

    @Test func zeroBytesAndUnknownAddresses() throws {
        let allocator = CUDACachingAllocator(device: 0, raw: FakeDeviceMemory())
        #expect(try allocator.allocate(byteCount: 0) == 0)
        #expect(allocator.free(0))
        let block = try allocator.allocate(byteCount: 64)
        #expect(allocator.free(block))
        #expect(!allocator.free(block))  // a double free is reported, not a crash
        #expect(!allocator.free(0xDEAD))
        #expect(allocator.statistics.requests == 1)
    }

    /// Tensors are released on whatever thread drops them: frees and allocations from many
    /// threads at once leave consistent counters.
    @Test func concurrentAllocationAndFree() throws {
        let memory = FakeDeviceMemory()
        let allocator = CUDACachingAllocator(device: 0, raw: memory)
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<200 {
                do {
                    let size = 256 * (1 + (worker + round) % 7)
                    let address = try allocator.allocate(byteCount: size, stream: UInt64(worker % 2))
                    if !allocator.free(address) { failures.withLock { $0 += 1 } }
                } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        let stats = allocator.statistics
        #expect(stats.requests == 1600)
        #expect(stats.allocatedBytes == 0)
        #expect(stats.activeBlocks == 0)
        #expect(stats.reservedBytes == memory.used)
        #expect(stats.cachedBlocks == stats.rawAllocations)
        #expect(stats.cacheHits + stats.rawAllocations == 1600)
        allocator.emptyCache()
        #expect(memory.liveCount == 0)
    }

    @Test func byteFormatting() {
        #expect(CUDACachingAllocator.formatBytes(0) == "0 B")
        #expect(CUDACachingAllocator.formatBytes(1536) == "1.50 KiB")
        #expect(CUDACachingAllocator.formatBytes(20 * mebibyte) == "20.00 MiB")
        #expect(CUDACachingAllocator.formatBytes(3 << 30 + 5 * mebibyte) == "3.00 GiB")
    }
}
