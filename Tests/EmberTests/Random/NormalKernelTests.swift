import CEmberKernels
import Testing

@testable import Ember

/// The C normal-fill kernel against the Swift port of PyTorch's AVX2 kernel it replaces, bit
/// for bit: on radius uniforms across the range PyTorch draws (k/2^24, both ends included),
/// each with angles around the circle, and with a mean and std that make the last multiply-add
/// round.
@Suite struct NormalKernelTests {
    @Test(arguments: [(Float(0), Float(1)), (0.25, 3.5), (-2, 1e-3)])
    func blocksMatchTheSwiftPort(mean: Float, std: Float) throws {
        guard CPUFeatures.level >= .avx2 else { return }
        let kernel = try #require(ember_normal_blocks_f32_kernel_for(EMBER_CPU_AVX2_FMA))
        // Radius uniforms k/2^24 every 257th k, then the last few; angles scattered by a multiplier.
        let ks = Array(stride(from: 0, to: 1 << 24, by: 257)) + Array((1 << 24) - 64..<1 << 24)
        let blocks = ks.count / 8
        var uniforms = [Float](repeating: 0, count: blocks * 16)
        for block in 0..<blocks {
            for lane in 0..<8 {
                let k = ks[block * 8 + lane]
                uniforms[block * 16 + lane] = Float(k) * 0x1p-24
                uniforms[block * 16 + 8 + lane] = Float(k &* 2_654_435_761 & 0xFF_FFFF) * 0x1p-24
            }
        }
        var expected = uniforms
        expected.withUnsafeMutableBufferPointer { values in
            for block in 0..<blocks { RandomKernels.transformNormalBlockAVX2(values.baseAddress! + block * 16, mean: mean, std: std) }
        }
        uniforms.withUnsafeMutableBufferPointer { kernel($0.baseAddress, blocks, mean, std) }
        let wrong = uniforms.indices.filter { uniforms[$0].bitPattern != expected[$0].bitPattern }
        #expect(wrong.isEmpty, "\(wrong.count) differ, first at \(wrong.first ?? 0)")
    }
}
