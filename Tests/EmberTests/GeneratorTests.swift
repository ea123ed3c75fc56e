import Foundation
import Testing

@testable import Ember

// Expected values come from PyTorch (Fixtures/rng.json) or from the project's verified Python
// model of PyTorch's CPU generator (shared/research/pytorch_rng_reference.py); floats are given
// as bit patterns and long outputs as FNV-1a hashes of their bit patterns, so every check is exact.

@Suite struct GeneratorTests {
    // MARK: - Helpers

    private func randn(
        _ generator: Generator, _ count: Int, mean: Double = 0, std: Double = 1, contiguous: Bool = true
    ) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            generator.fillNormal(buffer.baseAddress!, count: count, mean: mean, std: std, contiguous: contiguous)
            initialized = count
        }
    }

    private func randnDouble(
        _ generator: Generator, _ count: Int, mean: Double = 0, std: Double = 1, contiguous: Bool = true
    ) -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            generator.fillNormal(buffer.baseAddress!, count: count, mean: mean, std: std, contiguous: contiguous)
            initialized = count
        }
    }

    private func rand(_ generator: Generator, _ count: Int, from: Double = 0, to: Double = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            generator.fillUniform(buffer.baseAddress!, count: count, from: from, to: to)
            initialized = count
        }
    }

    private func randDouble(_ generator: Generator, _ count: Int, from: Double = 0, to: Double = 1) -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            generator.fillUniform(buffer.baseAddress!, count: count, from: from, to: to)
            initialized = count
        }
    }

    private func randint(_ generator: Generator, _ count: Int, low: Int64, high: Int64) -> [Int64] {
        [Int64](unsafeUninitializedCapacity: count) { buffer, initialized in
            generator.fillRandom(buffer.baseAddress!, count: count, low: low, high: high)
            initialized = count
        }
    }

    /// FNV-1a over 64-bit words, folded across every array in order.
    private struct BitHash {
        private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

        mutating func add(_ word: UInt64) {
            value = (value ^ word) &* 0x100_0000_01B3
        }

        mutating func add(_ values: [Float]) { values.forEach { add(UInt64($0.bitPattern)) } }
        mutating func add(_ values: [Double]) { values.forEach { add($0.bitPattern) } }
        mutating func add(_ values: [Int64]) { values.forEach { add(UInt64(bitPattern: $0)) } }
    }

    private func hash(_ values: [Float]) -> UInt64 {
        var hash = BitHash()
        hash.add(values)
        return hash.value
    }

    private func hash(_ values: [Double]) -> UInt64 {
        var hash = BitHash()
        hash.add(values)
        return hash.value
    }

    private func hash(_ values: [Int64]) -> UInt64 {
        var hash = BitHash()
        hash.add(values)
        return hash.value
    }

    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
    private func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }

    // MARK: - Golden sequences recorded from PyTorch

    @Test func goldenSequencesFromPyTorchMatchBitForBit() throws {
        let seeds = try #require(try fixture("rng") as? [[String: Any]])
        #expect(seeds.count == 2)
        for entry in seeds {
            let seed = try #require(entry["seed"] as? NSNumber).uint64Value
            let calls = try #require(entry["sequence"] as? [[String: Any]])
            #expect(calls.count == 10)
            let generator = Generator(seed: seed)
            for (step, call) in calls.enumerated() {
                let op = try #require(call["op"] as? String)
                let shape = try #require(call["shape"] as? [NSNumber]).map(\.intValue)
                let values = try #require(call["values"] as? [Any])
                let count = shape.reduce(1, *)
                #expect(values.count == count)
                let label: Comment = "seed \(seed), step \(step): \(op)\(shape)"
                switch op {
                case "randn":
                    let expected = values.map { Float(fixtureNumber($0)).bitPattern }
                    #expect(bits(randn(generator, count)) == expected, label)
                case "randn_float64":
                    let expected = values.map { fixtureNumber($0).bitPattern }
                    #expect(bits(randnDouble(generator, count)) == expected, label)
                case "rand":
                    let expected = values.map { Float(fixtureNumber($0)).bitPattern }
                    #expect(bits(rand(generator, count)) == expected, label)
                case "randint":
                    let low = try #require(call["low"] as? NSNumber).int64Value
                    let high = try #require(call["high"] as? NSNumber).int64Value
                    let expected = try values.map { try #require($0 as? NSNumber).int64Value }
                    #expect(randint(generator, count, low: low, high: high) == expected, label)
                default:
                    Issue.record("unknown op \(op) in rng.json")
                }
            }
        }
    }

    // MARK: - Seeding and the word stream

    @Test func seedZeroMatchesPublishedVectors() {
        let generator = Generator(seed: 0)
        #expect(bits(rand(generator, 3)) == [0x3EFE_1558, 0x3F44_AA2F, 0x3DB5_33A8])
        generator.manualSeed(0)
        #expect(bits(randDouble(generator, 2)) == [0x3FEF_0AAC_97C4_AA2F, 0x3FE6_A675_D821_CCC0])
        generator.manualSeed(0)
        #expect(bits(randn(generator, 3)) == [0x3FC5_3F5C, 0xBE96_3C50, 0xC00B_7149])
        generator.manualSeed(0)
        let block = randn(generator, 17)
        #expect(bits([block[0], block[1], block[16]]) == [0xBF90_1B85, 0xBFD9_1446, 0x3F6E_8C30])
        generator.manualSeed(0)
        #expect(randint(generator, 8, low: 0, high: 10) == [4, 9, 3, 0, 3, 9, 7, 3])
    }

    @Test func onlyTheLow32BitsOfTheSeedReachTheEngine() {
        let wide = Generator(seed: (1 << 32) + 5)
        #expect(wide.initialSeed == (1 << 32) + 5)
        let narrow = Generator(seed: 5)
        #expect(bits(randn(wide, 40)) == bits(randn(narrow, 40)))

        #expect(hash(randn(Generator(seed: (1 << 32) + 5), 40)) == 0x4BA7_2912_6824_0AD5)
        #expect(hash(randn(Generator(seed: (1 << 63) + 12345), 40)) == 0x2DB0_F2EE_8D89_3AD0)
        #expect(hash(randn(Generator(seed: .max), 40)) == 0x6612_54FA_2B2F_92D7)
    }

    @Test func manualSeedRestartsTheStreamAndClearsTheNormalCache() {
        let generator = Generator(seed: 3)
        let first = randn(generator, 1)  // leaves the pair's second value cached
        generator.manualSeed(3)
        #expect(generator.initialSeed == 3)
        #expect(bits(randn(generator, 1)) == bits(first))
    }

    @Test func defaultSeedIsPyTorchs() {
        #expect(Generator().initialSeed == 67_280_421_310_721)
    }

    // MARK: - Normal values

    @Test func largeBlockFillsMatchTheReference() {
        let floats = randn(Generator(seed: 7), 1 << 16)
        #expect(hash(floats) == 0xF450_FA89_39C8_7644)
        #expect(bits(Array(floats.prefix(3))) == [0xBF51_F456, 0x3ECA_902B, 0x3F66_1EDE])
        #expect(bits(Array(floats.suffix(2))) == [0x3F7A_3110, 0x3FF1_517B])

        #expect(hash(randn(Generator(seed: 7), 64 * 1000)) == 0xA17C_B72B_7D42_F12E)

        let doubles = randnDouble(Generator(seed: 7), 1 << 16)
        #expect(hash(doubles) == 0x75ED_EC03_78ED_5B84)
        #expect(bits(Array(doubles.prefix(2))) == [0x3FB0_F6E8_D3A5_3973, 0x3FA8_0F46_F1EB_F213])
    }

    @Test func nonContiguousFillsUseTheSerialPath() {
        let floats = randn(Generator(seed: 21), 48, contiguous: false)
        #expect(
            bits(floats) == [
                0x3DDD_64C6, 0xBEE0_07FE, 0xBF45_0A2B, 0xBE45_8B48, 0xBEB9_A384, 0xC036_163E, 0x3FB8_C52D, 0x3EFE_C352,
                0x3F27_7AB5, 0x3D9A_7DCE, 0xBF89_D13C, 0x3E01_FCF2, 0x3FA3_CFA7, 0xBFA0_97DB, 0xBF82_36B7, 0xBFD8_34CE,
                0xBF04_D25F, 0x3F94_5E52, 0x4011_AE2E, 0x3F43_EE10, 0x401A_09B8, 0x3F5E_72C3, 0xBEA9_35B8, 0x3F16_18B0,
                0x3E04_0D93, 0x3E4F_8673, 0x3F86_690C, 0x3F9C_B2EC, 0xBE59_2BC6, 0xBF97_A718, 0x3F26_2D13, 0x3F34_054A,
                0x3EFB_7D69, 0xBF0C_22B4, 0x3F04_8C3D, 0x3F0D_C010, 0xBF9E_5C81, 0x3FD5_C40F, 0x3F82_FF65, 0x3FD1_4FA2,
                0x3EA1_2492, 0x3F78_44AF, 0x3EBF_41E5, 0x3F9C_0164, 0x3ED6_47DD, 0xBFA1_54B2, 0xBDAC_9907, 0x3D84_F90C,
            ])

        let doubles = randnDouble(Generator(seed: 21), 48, contiguous: false)
        #expect(hash(doubles) == 0x08CA_6A2F_D2C7_4AE5)
        #expect(bits(Array(doubles.prefix(2))) == [0x3FBB_AC98_B0FA_385B, 0xBFDC_00FF_B178_8DB1])
    }

    @Test(arguments: [
        // mean, std, count, hash of the float32 output, its first and last bit patterns
        (0.3, 2.7, 7, 0x67B5_5DD8_9F84_A56F as UInt64, 0x3ED7_6E6D as UInt32, 0x3FAB_2622 as UInt32),
        (0.3, 2.7, 40, 0x3522_6D16_BBB8_9D4C, 0xC025_3EEE, 0x40A6_87E6),
        (-1.5, 0.1, 7, 0xAC2F_A506_E08B_EE30, 0xBFBF_6D70, 0xBFBB_1558),
        (-1.5, 0.1, 40, 0x56F3_D5C2_9846_F589, 0xBFCD_A9A4, 0xBFA8_C040),
        (10.0, 0.0, 7, 0x9784_D13F_DD67_6AA7, 0x4120_0000, 0x4120_0000),
        (10.0, 0.0, 40, 0x9149_5A31_C2F6_5C45, 0x4120_0000, 0x4120_0000),
    ])
    func normalWithMeanAndStdFloat32(
        mean: Double, std: Double, count: Int, expectedHash: UInt64, first: UInt32, last: UInt32
    ) {
        let values = randn(Generator(seed: 9), count, mean: mean, std: std)
        #expect(hash(values) == expectedHash)
        #expect(values.first?.bitPattern == first)
        #expect(values.last?.bitPattern == last)
    }

    @Test(arguments: [
        (0.3, 2.7, 7, 0xB661_EFF5_30F4_B7CC, 0x3FDA_EDCD_9D47_C35F, 0x3FF5_64C4_3748_DAB1),
        (0.3, 2.7, 40, 0x79FB_0EBD_3878_B709, 0x3FF7_32F1_6BA2_BA9C, 0x4014_7A56_215D_CE23),
        (-1.5, 0.1, 7, 0x7480_5FEE_2884_9E1E, 0xBFF7_EDAD_FA46_EBB4, 0xBFF7_62AA_FC0E_5E4D),
        (-1.5, 0.1, 40, 0x5617_D916_27B3_BE8C, 0xBFF7_518C_DDAC_3990, 0xBFF5_24DE_6174_F287),
        (10.0, 0.0, 40, 0x1A86_9E0C_F0F6_5C45, 0x4024_0000_0000_0000, 0x4024_0000_0000_0000),
    ] as [(Double, Double, Int, UInt64, UInt64, UInt64)])
    func normalWithMeanAndStdFloat64(
        mean: Double, std: Double, count: Int, expectedHash: UInt64, first: UInt64, last: UInt64
    ) {
        let values = randnDouble(Generator(seed: 9), count, mean: mean, std: std)
        #expect(hash(values) == expectedHash)
        #expect(values.first?.bitPattern == first)
        #expect(values.last?.bitPattern == last)
    }

    @Test func serialNormalCacheIsSharedAcrossCallsAndDtypes() {
        // 1500 back-to-back small fills of 1...15 elements, mixing float32 and float64.
        let generator = Generator(seed: 3)
        var combined = BitHash()
        for call in 0..<1500 {
            let count = 1 + (call * 7) % 15
            if call % 3 == 0 {
                combined.add(randnDouble(generator, count))
            } else {
                combined.add(randn(generator, count))
            }
        }
        #expect(combined.value == 0xF3AB_1FF6_167C_3A9E)
    }

    @Test func cacheSurvivesUniformIntegerAndBlockDraws() {
        // The mixed sequence: randn(3) caches r2·sin θ2, which the final randn(1) returns untouched.
        let generator = Generator(seed: 0)
        #expect(hash(randn(generator, 3)) == 0x7879_E6AF_6398_62A8)
        #expect(hash(randn(generator, 20)) == 0x47DD_2008_2F91_05A5)
        #expect(hash(rand(generator, 5)) == 0x2828_3081_B66A_EF15)
        #expect(randint(generator, 8, low: 0, high: 10) == [1, 0, 9, 3, 1, 1, 0, 3])
        #expect(hash(randn(generator, 3 * 17)) == 0x55C8_91E0_F080_8A94)
        #expect(hash(randnDouble(generator, 20)) == 0x790A_A5DC_111D_29AC)
        #expect(bits(randn(generator, 1)) == [0x3F11_84B6])
        #expect(Float(0.5684312772806678).bitPattern == 0x3F11_84B6)
        #expect(bits(randnDouble(generator, 2)) == [0xBFE5_8A0E_25DA_90F5, 0xBFF3_5A3E_A7E1_0660])
    }

    // MARK: - Uniform values

    @Test(arguments: [
        (-3.7, 5.1, 0x2DB7_958C_289B_3AF3 as UInt64, 0x4066_CC41 as UInt32, 0xC025_C63B as UInt32),
        (-1e3, 1e-3, 0x7C8B_C146_6A4B_D172, 0xC329_BF50, 0xC45A_78E5),
        (2.0, 3.0, 0x693D_9631_FF2F_7AFF, 0x4035_22D9, 0x4008_1234),
    ])
    func uniformFromToFloat32(from: Double, to: Double, expectedHash: UInt64, first: UInt32, second: UInt32) {
        let values = rand(Generator(seed: 5), 1000, from: from, to: to)
        #expect(hash(values) == expectedHash)
        #expect(bits(Array(values.prefix(2))) == [first, second])
        #expect(values.allSatisfy { $0 >= Float(from) && $0 < Float(to) })
    }

    @Test(arguments: [
        (-3.7, 5.1, 0xD282_A4FF_D0C9_0D3C as UInt64, 0x3FFF_321A_3E27_A6BF as UInt64, 0xBFF6_A047_2464_6F27 as UInt64),
        (-1e3, 1e-3, 0x6399_F20D_F62B_976F, 0xC076_5FBF_E735_5A7E, 0xC087_21EF_41FA_E6AA),
        (2.0, 3.0, 0x1C84_A297_9222_4560, 0x4005_22D8_C388_1234, 0x4002_13FB_F534_79AF),
    ])
    func uniformFromToFloat64(from: Double, to: Double, expectedHash: UInt64, first: UInt64, second: UInt64) {
        let values = randDouble(Generator(seed: 5), 1000, from: from, to: to)
        #expect(hash(values) == expectedHash)
        #expect(bits(Array(values.prefix(2))) == [first, second])
        #expect(values.allSatisfy { $0 >= from && $0 < to })
    }

    @Test func uniformRoundsHalfwayResultsOnceLikeAFusedMultiplyAdd() {
        // Each value is exactly 2^24 + k for the uniform k·2^-24, and floats there are 2 apart, so
        // every odd k lands halfway between two floats and must round to the even one.
        let values = rand(Generator(seed: 5), 1003, from: 0x1p24, to: 0x1p25)
        #expect(hash(values) == 0x8F00_C018_C632_1870)
        #expect(bits(Array(values.suffix(3))) == [0x4BCA_BB15, 0x4BA7_6D37, 0x4BA1_C45A])
        #expect(values.allSatisfy { Int($0) % 2 == 0 })

        // A count that is not a multiple of 8 also covers the scalar tail.
        let tail = rand(Generator(seed: 5), 1003, from: -3.7, to: 5.1)
        #expect(hash(tail) == 0x16A1_9559_5505_F78D)
        #expect(bits(Array(tail.suffix(3))) == [0x3FB8_07ED, 0xBF7D_4A9E, 0xBFB0_7353])
    }

    @Test func resultsJustPastAHalfwayPointRoundOnce() {
        // x·3 often lands exactly halfway between two floats; the tiny 2^-70 tips the exact sum past it.
        // Rounding to double first would land back on the halfway point and then round the wrong way.
        let uniforms = rand(Generator(seed: 5), 1003, from: 0x1p-70, to: 3)
        #expect(hash(uniforms) == 0xC0D4_A519_7513_4B21)
        #expect(bits(Array(uniforms.prefix(3))) == [0x401F_688A, 0x3EC1_B4D4, 0x402E_3BF3])

        let normals = randn(Generator(seed: 9), 1000, mean: 0x1p-70, std: 3)
        #expect(hash(normals) == 0xC64D_AA8B_D0E8_3BA3)
        #expect(bits(Array(normals.prefix(3))) == [0xC04C_F096, 0xC009_B60B, 0x4051_39E2])
    }

    @Test func subnormalResultsAndNegativeZeroMeanAreExact() {
        let tinyNormals = randn(Generator(seed: 9), 40, mean: 0, std: 1e-40)
        #expect(hash(tinyNormals) == 0xC50B_A982_6373_FF26)
        #expect(bits(Array(tinyNormals.prefix(3))) == [0x8001_298B, 0x8000_C7F0, 0x0001_2FC5])

        let tinyUniforms = rand(Generator(seed: 5), 1000, from: 0, to: 1e-39)
        #expect(hash(tinyUniforms) == 0xD9EC_57B4_7B28_1310)
        #expect(bits(Array(tinyUniforms.prefix(3))) == [0x0009_0A68, 0x0001_5F8C, 0x0009_E1A8])

        let negativeZeroMean = randn(Generator(seed: 9), 40, mean: -0.0, std: 1)
        #expect(hash(negativeZeroMean) == 0x8B03_4748_D03C_B7AF)
        #expect(bits(Array(negativeZeroMean.prefix(3))) == [0xBF88_A064, 0xBF37_9D64, 0x3F8B_7BEC])
    }

    // MARK: - Integers

    @Test(arguments: [
        (0, (1 << 28) - 1, 0xFCAF_B6FF_E43F_0EC1, [237_381_531, 24_940_224, 83_645_520, 170_597_477]),
        (0, 1 << 28, 0xB5ED_60BB_2616_74A4, [24_940_223, 170_597_467, 28_413_879, 220_258_636]),
        (-5, 5, 0x1F7F_03DE_59B2_4892, [-4, 4, -5, 2]),
        (
            -(1 << 40), 1 << 40, 0x949C_E899_8616_74A4,
            [657_423_371_967, -753_059_292_069, 348_726_071_223, 59_812_929_868]
        ),
        (
            3, 1 << 62, 0xFF78_2218_E7E8_C8D7,
            [3_325_388_913_236_545_218, 359_254_775_711_865_950, 3_933_187_637_257_539_517, 4_149_298_557_807_026_517]
        ),
        (0, 1, 0x8606_2D4C_2008_33DF, [0, 0, 0, 0]),
        (
            .min, .max, 0x0A78_B399_8616_74A4,
            [
                -5_897_983_123_618_230_593, -8_864_117_261_142_909_861, -678_498_381_169_848_393,
                4_149_298_557_807_026_508,
            ]
        ),
    ] as [(Int64, Int64, UInt64, [Int64])])
    func randintRanges(low: Int64, high: Int64, expectedHash: UInt64, leading: [Int64]) {
        let values = randint(Generator(seed: 11), 257, low: low, high: high)
        #expect(hash(values) == expectedHash)
        #expect(Array(values.prefix(4)) == leading)
        #expect(values.allSatisfy { $0 >= low && $0 < high })
    }

    @Test func emptyFillsDrawNothing() {
        let generator = Generator(seed: 0)
        var scratch: Float = 0
        generator.fillNormal(&scratch, count: 0, mean: 0, std: 1)
        generator.fillUniform(&scratch, count: 0, from: 0, to: 1)
        var integer: Int64 = 0
        generator.fillRandom(&integer, count: 0, low: 0, high: 10)
        #expect(bits(rand(generator, 3)) == [0x3EFE_1558, 0x3F44_AA2F, 0x3DB5_33A8])
    }
}
