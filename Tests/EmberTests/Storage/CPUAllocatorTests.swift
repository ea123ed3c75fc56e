import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import Ember

/// The caching CPU allocator hands a freed block back only to a request of the same rounded
/// size, most recently freed first, keeps at most its limit, and never gives out a block twice.
@Suite struct CPUAllocatorTests {
    @Test func reusesFreedBlocksOfTheSameRoundedSizeLastFreedFirst() {
        let allocator = CPUAllocator()
        for size in [4096, 5000, 1 << 20, 3 << 20] {  // indexed and hashed chains
            let before = allocator.cachedBytes
            let blocks = (0..<3).map { _ in allocator.allocate(size) }
            for block in blocks { allocator.release(block, byteCount: size) }
            #expect(allocator.cachedBytes == before + 3 * ((size + 63) & ~63))
            // 5000 and 5040 round to the same 5056 bytes.
            let again = (0..<3).map { _ in allocator.allocate(size == 5000 ? 5040 : size) }
            #expect(again == blocks.reversed())
            #expect(allocator.cachedBytes == before)
            let fresh = allocator.allocate(size)
            #expect(!blocks.contains(fresh))
            allocator.release(fresh, byteCount: size)
            for block in again { free(block) }
        }
        let block = allocator.allocate(8192)
        allocator.release(block, byteCount: 8192)
        #expect(allocator.allocate(8192 + 64) != block)
        #expect(allocator.allocate(8192 - 64) != block)
    }

    @Test func keepsNoMoreThanItsLimitNorSmallBlocks() {
        let allocator = CPUAllocator(cacheLimit: 16384)
        let blocks = (0..<3).map { _ in allocator.allocate(8192) }
        for block in blocks { allocator.release(block, byteCount: 8192) }
        #expect(allocator.cachedBytes == 16384)
        let small = allocator.allocate(1000)
        allocator.release(small, byteCount: 1000)
        #expect(allocator.cachedBytes == 16384)
        #expect(Set([allocator.allocate(8192), allocator.allocate(8192)]) == Set(blocks[0..<2]))
    }

    /// Random allocations and releases against a model of the free chains: every block comes
    /// back from the model's chain when it has one, and live blocks' bytes are never
    /// overwritten by another's use or by the chains' links.
    @Test func randomUseMatchesAModelAndKeepsLiveBlocksIntact() {
        let allocator = CPUAllocator()
        let sizes = [4096, 4100, 8192, 65536, (1 << 20) - 64, 1 << 20, (1 << 20) + 64]
        var free: [Int: [UnsafeMutableRawPointer]] = [:]
        var live: [(block: UnsafeMutableRawPointer, size: Int, tag: UInt8)] = []
        var state: UInt64 = 7
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        for step in 0..<800 {
            if live.isEmpty || random(3) != 0 {
                let size = sizes[random(sizes.count)], rounded = (size + 63) & ~63
                let block = allocator.allocate(size)
                if let expected = free[rounded]?.popLast() { #expect(block == expected) }
                #expect(!live.contains { $0.block == block })
                let tag = UInt8(truncatingIfNeeded: step)
                block.initializeMemory(as: UInt8.self, repeating: tag, count: size)
                live.append((block, size, tag))
            } else {
                let (block, size, tag) = live.remove(at: random(live.count))
                // The first bytes, where a freed block links its chain, and one in each page.
                let bytes = UnsafeRawBufferPointer(start: block, count: size)
                #expect(bytes.prefix(64).allSatisfy { $0 == tag })
                #expect(stride(from: 0, to: size, by: 4096).allSatisfy { bytes[$0] == tag })
                allocator.release(block, byteCount: size)
                free[(size + 63) & ~63, default: []].append(block)
            }
        }
        for (block, size, _) in live { allocator.release(block, byteCount: size) }
    }
}
