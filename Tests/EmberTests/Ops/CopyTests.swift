import CEmberKernels
import Testing

@testable import Ember

/// The streaming copy loop against the bytes it must write: every alignment of the destination
/// around its 32-byte boundaries, lengths around its 128-byte steps, nothing written past the
/// end; and a copy large enough to take it.
@Suite struct CopyTests {
    @Test func baselineKeepsMemcpy() {
        #expect(ember_streaming_copy_kernel_for(EMBER_CPU_BASELINE) == nil)
    }

    @Test(arguments: [0, 1, 31, 32, 33, 127, 128, 129, 1000, 100_003])
    func copiesEveryByte(count: Int) throws {
        guard CPUFeatures.detected >= .avx2 else { return }
        let copy = try #require(ember_streaming_copy_kernel_for(EMBER_CPU_AVX2_FMA))
        let source = (0..<count + 64).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        for (destinationShift, sourceShift) in [(0, 0), (1, 0), (5, 3), (31, 1), (17, 17)] {
            var destination = [UInt8](repeating: 0xEE, count: count + 64)
            destination.withUnsafeMutableBytes { to in
                source.withUnsafeBytes { from in copy(to.baseAddress! + destinationShift, from.baseAddress! + sourceShift, count) }
            }
            let written = Array(destination[destinationShift..<destinationShift + count])
            #expect(written == Array(source[sourceShift..<sourceShift + count]), "\(count) bytes, shifts \(destinationShift)/\(sourceShift)")
            #expect(destination[..<destinationShift].allSatisfy { $0 == 0xEE } && destination[(destinationShift + count)...].allSatisfy { $0 == 0xEE })
        }
    }

    @Test func aLargeCopyStreamsEveryElement() {
        // Past the streaming threshold, split across the workers.
        let count = (16 << 20) / 4 + 5
        let source = Tensor.arange(0, Double(count)).to(.float32), destination = Tensor.zeros([count])
        _ = destination.copy_(source)
        #expect((destination - source).abs().max().item() == 0)
        #expect(destination[count - 1].item() == Double(count - 1))
    }
}
