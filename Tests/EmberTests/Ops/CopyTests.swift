import CEmberKernels
import Testing

@testable import Ember

/// The streaming copy loop against the bytes it must write: every alignment of the destination
/// around its 32-byte boundaries, lengths around its 128-byte steps, nothing written past the
/// end; a copy large enough to take it; and copies of broadcast operands, which fill rows.
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

    /// A column expanded across rows (one value a row, as a sum's gradient over the last
    /// dimension is), and in a batch, copied, converted and multiplied by a number: each element
    /// is its source's.
    @Test(arguments: [DType.float32, .float64, .int64, .bool, .float16])
    func broadcastColumnsCopyAsRows(dtype: DType) {
        let column = Tensor((0..<300).map { Double($0 % 7) }, shape: [300, 1]).to(dtype)
        let expected = column.to(.float64).toArray(as: Double.self).flatMap { Array(repeating: $0, count: 129) }
        func copies(_ copy: Tensor) -> Bool { copy.to(.float64).toArray(as: Double.self) == expected }
        let rows = column.expand(300, 129).contiguous()
        #expect(rows.shape == [300, 129] && rows.dtype == dtype)
        #expect(copies(rows), "a column copied as rows")
        #expect(copies(column.expand(300, 129).to(.float64)), "a column converted as it is copied")
        #expect(copies(column.view(3, 100, 1).expand(3, 100, 129).contiguous()), "a batch of columns")
        // With a number: one value a row, as `mean()`'s gradient divides an expanded number.
        let doubled = (column.expand(300, 129) * 2).to(.float64).toArray(as: Double.self)
        #expect(doubled == expected.map { $0 * 2 }, "a column times a number")
    }
}
