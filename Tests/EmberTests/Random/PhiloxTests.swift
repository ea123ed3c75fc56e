import Testing

@testable import Ember

/// The CUDA generators' Philox stream, checked on the CPU: the block function against
/// Random123's known answers, the element transforms against their distributions, and the
/// generators' bookkeeping. Scripts/gpu-check compares the GPU's fills with `referenceFill`.
@Suite struct PhiloxTests {
    /// Random123's tests/kat_vectors, philox4x32 with 10 rounds: counter, key, result.
    @Test func knownAnswers() {
        let cases: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
            (.zero, .zero, [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
            (SIMD4(repeating: .max), SIMD2(repeating: .max), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
            (
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0],
                [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
            ),
        ]
        for (counter, key, expected) in cases {
            #expect(Philox4x32.block(counter: counter, key: key) == expected)
        }
        // The stream's block index and seed fill the low words of counter and key.
        #expect(Philox4x32.block(0x0370_7344_1319_8a2e, seed: 0) == Philox4x32.block(counter: [0x1319_8a2e, 0x0370_7344, 0, 0], key: .zero))
        #expect(Philox4x32.block(0, seed: 0x299f_31d0_a409_3822) == Philox4x32.block(counter: .zero, key: [0xa409_3822, 0x299f_31d0]))
    }

    static let floatTypes: [DType] = [.float32, .float64, .float16, .bfloat16]

    @Test(arguments: floatTypes)
    func uniformStaysInRangeWithTheRightMean(dtype: DType) {
        let count = 200_000
        let values = PhiloxDistribution.uniform(from: -2, to: 3).referenceFill(count: count, dtype: dtype, seed: 42, offset: 7)
            .toArray(as: Double.self)
        #expect(values.allSatisfy { $0 >= -2 && $0 < 3 }, "\(dtype)")
        let mean = values.reduce(0, +) / Double(count)
        #expect(abs(mean - 0.5) < 0.02, "\(dtype): mean \(mean)")  // the standard error is 0.003
        #expect(Set(values).count > (dtype.itemSize == 2 ? 100 : count / 2), "\(dtype): too few distinct values")
    }

    /// float16 holds 1 - 2⁻²⁴ as 1: such draws become `from`, never `to`, as in PyTorch.
    @Test func roundingUpToTheUpperBoundGivesTheLowerOne() {
        let values = PhiloxDistribution.uniform(from: 0, to: 1).referenceFill(count: 100_000, dtype: .float16, seed: 3, offset: 0)
            .toArray(as: Double.self)
        #expect(values.max()! < 1)
        // About 1 in 4096 draws rounds to 1.0 in float16 and is replaced by 0.
        #expect(values.filter { $0 == 0 }.count > 5)
    }

    @Test(arguments: floatTypes)
    func normalHasTheRightMomentsAndNoInfinities(dtype: DType) {
        let count = 200_000
        let values = PhiloxDistribution.normal(mean: 1.5, std: 2).referenceFill(count: count, dtype: dtype, seed: 0, offset: 0)
            .toArray(as: Double.self)
        #expect(values.allSatisfy { $0.isFinite })
        let mean = values.reduce(0, +) / Double(count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)
        #expect(abs(mean - 1.5) < 0.03, "\(dtype): mean \(mean)")  // standard error 0.0045
        #expect(abs(variance.squareRoot() - 2) < 0.03, "\(dtype): std \(variance.squareRoot())")
        // The tails are there: 4.5 sigma happens about once in 150,000 draws.
        #expect(values.contains { abs($0 - 1.5) > 8 }, "\(dtype)")
    }

    @Test func integersCoverTheRangeAndWideRangesUseTwoWords() {
        let small = PhiloxDistribution.integers(low: -3, high: 4)
        #expect(small.elementsPerBlock(.int64) == 4)
        let values = small.referenceFill(count: 10_000, dtype: .int64, seed: 1, offset: 0).toArray(as: Int64.self)
        #expect(Set(values) == Set(-3..<4))
        let wide = PhiloxDistribution.integers(low: 0, high: 1 << 40)
        #expect(wide.elementsPerBlock(.int64) == 2)
        let wideValues = wide.referenceFill(count: 10_000, dtype: .int64, seed: 1, offset: 0).toArray(as: Int64.self)
        #expect(wideValues.allSatisfy { $0 >= 0 && $0 < 1 << 40 })
        #expect(wideValues.contains { $0 >= 1 << 39 } && wideValues.contains { $0 > 1 << 32 })
        // Exactly 2³² values still take one word each.
        #expect(PhiloxDistribution.integers(low: 0, high: 1 << 32).elementsPerBlock(.int32) == 4)
        let bools = PhiloxDistribution.integers(low: 0, high: 2).referenceFill(count: 1000, dtype: .bool, seed: 9, offset: 0)
        #expect(Set(bools.toArray(as: Bool.self)) == [false, true])
    }

    /// Element i depends only on (seed, offset, i): a fill starting later in the stream is the
    /// matching part of a longer fill, whatever the count.
    @Test(arguments: floatTypes + [.int64])
    func elementsDependOnlyOnTheirBlock(dtype: DType) {
        let distribution: PhiloxDistribution = dtype == .int64 ? .integers(low: 0, high: 1000) : .normal(mean: 0, std: 1)
        let perBlock = distribution.elementsPerBlock(dtype)
        let whole = distribution.referenceFill(count: 10 * perBlock, dtype: dtype, seed: 5, offset: 100).toArray(as: Double.self)
        let later = distribution.referenceFill(count: 3 * perBlock - 1, dtype: dtype, seed: 5, offset: 104).toArray(as: Double.self)
        #expect(later == Array(whole[(4 * perBlock)..<(7 * perBlock - 1)]))
        let otherSeed = distribution.referenceFill(count: 10 * perBlock, dtype: dtype, seed: 6, offset: 100).toArray(as: Double.self)
        #expect(otherSeed != whole)
    }

    @Test func generatorsReserveBlocksAndReseedingRestarts() {
        let generator = Generator(seed: 11, device: .cuda(0))
        #expect(generator.device == .cuda(0))
        #expect(generator.reservePhiloxBlocks(3) == (11, 0))
        #expect(generator.reservePhiloxBlocks(5) == (11, 3))
        #expect(generator.reservePhiloxBlocks(0) == (11, 8))
        generator.manualSeed(12)
        #expect(generator.reservePhiloxBlocks(1) == (12, 0))
        #expect(PhiloxDistribution.uniform(from: 0, to: 1).blocks(count: 9, dtype: .float32) == 3)
        #expect(PhiloxDistribution.uniform(from: 0, to: 1).blocks(count: 9, dtype: .float64) == 5)
    }

    @Test func manualSeedSeedsTheDefaultCUDAGenerators() {
        let generator = Generator.defaultCUDA(3)
        #expect(Generator.defaultCUDA(3) === generator)
        #expect(generator.device == .cuda(3))
        _ = generator.reservePhiloxBlocks(10)
        let previous = Generator.defaultCPU.initialSeed
        defer { manualSeed(previous) }
        manualSeed(77)
        #expect(generator.initialSeed == 77)
        #expect(generator.reservePhiloxBlocks(1) == (77, 0))
    }

    @Test func aGeneratorOfAnotherDeviceKindIsRefused() throws {
        let cuda = Generator(seed: 0, device: .cuda(0))
        for call in [{ _ = Tensor.randn(3, generator: cuda) }, { _ = Tensor.rand(3, generator: cuda) },
                     { _ = Tensor.randint(high: 3, shape: [3], generator: cuda) }] {
            let error = #expect(throws: EmberError.self) { try withErrorChecking(call) }
            #expect(error?.message == "Expected a 'cpu' device type for generator but found 'cuda'")
        }
    }

    @Test func randomKernelsAreGeneratedForEveryDtype() {
        for dtype in DType.allCases {
            let module = CUDAKernelSource.module(.random, dtype)
            let expected = CUDARandomKind.allCases.filter { $0.supports(dtype) }.map { CUDAKernelSource.randomKernelName($0, dtype) }
            #expect(module.kernels == expected)
            #expect(module.source.contains("ember_philox(") && expected.allSatisfy { module.source.contains("\($0)(") })
        }
        #expect(CUDAKernelSource.module(.random, .float32).kernels == [
            "ember_random_uniform_float32", "ember_random_normal_float32", "ember_random_integers_float32",
        ])
    }
}
