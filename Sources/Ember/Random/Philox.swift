#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The random stream of Ember's CUDA generators: Philox4x32-10, a counter-based generator
// (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
// Element i of a fill is a pure function of (seed, offset, i), so a GPU kernel computes it in
// any order and the CPU computes the same values here, which is how the GPU fills are checked.

/// The Philox4x32-10 block function: a 128-bit counter and a 64-bit key to 128 random bits.
///
/// ```swift
/// Philox4x32.block(counter: .zero, key: .zero)   // [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
/// ```
enum Philox4x32 {
    static let multipliers: (UInt32, UInt32) = (0xD251_1F53, 0xCD9E_8D57)
    /// The key schedule's increments (the golden ratio and √3 − 1, as 32-bit fractions).
    static let keyIncrements: (UInt32, UInt32) = (0x9E37_79B9, 0xBB67_AE85)

    static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var counter = counter, key = key
        for round in 0..<10 {
            if round > 0 { key &+= SIMD2(keyIncrements.0, keyIncrements.1) }
            let product0 = UInt64(multipliers.0) * UInt64(counter[0])
            let product1 = UInt64(multipliers.1) * UInt64(counter[2])
            counter = SIMD4(
                UInt32(truncatingIfNeeded: product1 >> 32) ^ counter[1] ^ key[0], UInt32(truncatingIfNeeded: product1),
                UInt32(truncatingIfNeeded: product0 >> 32) ^ counter[3] ^ key[1], UInt32(truncatingIfNeeded: product0))
        }
        return counter
    }

    /// The bits of block `index` of a stream: the counter is the 64-bit block index, the key
    /// the 64-bit seed, each low word first.
    static func block(_ index: UInt64, seed: UInt64) -> SIMD4<UInt32> {
        block(
            counter: SIMD4(UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32), 0, 0),
            key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }
}

/// A distribution that a CUDA random fill draws, and how its elements come from Philox blocks.
///
/// Each block of 4 words gives `elementsPerBlock` consecutive elements; a fill of `count`
/// elements uses `blocks(count:)` blocks from the generator's offset, which then advances past
/// them. The arithmetic is spelled out so that the CUDA kernels (`CUDAKernelSource.randomKernel`)
/// and `referenceFill` compute identical bits: fused multiply-adds are explicit, and normals are
/// computed in double (where the GPU's and the C library's log, sin and cos agree after
/// rounding to float, and differ by an ulp at most for float64).
enum PhiloxDistribution: Equatable, Sendable {
    /// Uniform on [from, to): 24 random bits per float-type element, 53 (two words) per double.
    case uniform(from: Double, to: Double)
    /// Normal by Box–Muller, from uniforms on (0, 1) that are never 0 or 1.
    case normal(mean: Double, std: Double)
    /// Integers in [low, high): a word modulo the range, or two words when the range passes 2³².
    case integers(low: Int64, high: Int64)

    /// Elements one Philox block gives for `dtype`.
    func elementsPerBlock(_ dtype: DType) -> Int {
        switch self {
        case .uniform, .normal: dtype == .float64 ? 2 : 4
        case .integers(let low, let high): UInt64(bitPattern: high &- low) > 1 << 32 ? 2 : 4
        }
    }

    /// Blocks a fill of `count` elements uses.
    func blocks(count: Int, dtype: DType) -> UInt64 {
        let perBlock = elementsPerBlock(dtype)
        return UInt64((count + perBlock - 1) / perBlock)
    }

    static let twoPi = 6.283185307179586

    /// A word as a uniform on (0, 1): its 32 bits plus a half, scaled, so log never sees 0.
    @inline(__always) static func openUnit(_ word: UInt32) -> Double { (Double(word) + 0.5) * 0x1p-32 }
    /// Two words as a uniform on (0, 1) with 53 bits.
    @inline(__always) static func openUnit(_ high: UInt32, _ low: UInt32) -> Double {
        (Double((UInt64(high) << 32 | UInt64(low)) >> 11) + 0.5) * 0x1p-53
    }

    /// Box–Muller: two normals from two uniforms on (0, 1).
    @inline(__always) static func normalPair(_ u1: Double, _ u2: Double) -> (Double, Double) {
        let radius = (-2 * log(u1)).squareRoot(), angle = twoPi * u2
        return (radius * cos(angle), radius * sin(angle))
    }

    /// The values a CUDA fill of `count` elements of `dtype` writes, from Philox block
    /// `offset` of the stream keyed by `seed`, as a CPU tensor of shape `[count]`.
    ///
    /// ```swift
    /// let expected = PhiloxDistribution.normal(mean: 0, std: 1).referenceFill(count: 10, dtype: .float32, seed: 0, offset: 0)
    /// ```
    func referenceFill(count: Int, dtype: DType, seed: UInt64, offset: UInt64) -> Tensor {
        // Every value is representable in `dtype` already, so the conversions are exact.
        if case .integers(let low, let high) = self {
            let values = stream(count: count, dtype: dtype, seed: seed, offset: offset) { Self.integers($0, low: low, high: high) }
            return Tensor(values, shape: [count]).to(dtype)
        }
        return Tensor(stream(count: count, dtype: dtype, seed: seed, offset: offset) { floats($0, dtype) }, shape: [count]).to(dtype)
    }

    /// The first `count` elements of blocks `offset...`, `perBlock` from each.
    private func stream<T: Numeric>(
        count: Int, dtype: DType, seed: UInt64, offset: UInt64, _ elements: (SIMD4<UInt32>) -> [T]
    ) -> [T] {
        let perBlock = elementsPerBlock(dtype)
        var values = [T](repeating: 0, count: count)
        for blockIndex in 0..<Int(blocks(count: count, dtype: dtype)) {
            let block = elements(Philox4x32.block(offset &+ UInt64(blockIndex), seed: seed))
            for lane in 0..<perBlock where blockIndex * perBlock + lane < count {
                values[blockIndex * perBlock + lane] = block[lane]
            }
        }
        return values
    }

    /// Integers in [low, high) from one block: four from a range up to 2³², else two.
    private static func integers(_ w: SIMD4<UInt32>, low: Int64, high: Int64) -> [Int64] {
        let range = UInt64(bitPattern: high &- low)
        if range > 1 << 32 {
            return [(w[0], w[1]), (w[2], w[3])].map { high, low64 in
                low &+ Int64(bitPattern: (UInt64(high) << 32 | UInt64(low64)) % range)
            }
        }
        return (0..<4).map { low &+ Int64(UInt64(w[$0]) % range) }
    }

    /// One block's uniform or normal elements, each already rounded to `dtype`.
    private func floats(_ w: SIMD4<UInt32>, _ dtype: DType) -> [Double] {
        switch self {
        case .uniform(let from, let to):
            if dtype == .float64 {
                let range = to - from
                return [(w[0], w[1]), (w[2], w[3])].map { high, low in
                    let unit = Double((UInt64(high) << 32 | UInt64(low)) >> 11) * 0x1p-53
                    let value = from.addingProduct(unit, range)
                    return value >= to ? from : value
                }
            }
            let (lower, range, upper) = (Float(from), Float(to - from), Float(to))
            return (0..<4).map { lane in
                let unit = Float(w[lane] >> 8) * 0x1p-24
                let value = Self.rounded(lower.addingProduct(unit, range), to: dtype)
                return Double(value >= upper ? Self.rounded(lower, to: dtype) : value)
            }
        case .normal(let mean, let std):
            if dtype == .float64 {
                let (z0, z1) = Self.normalPair(Self.openUnit(w[0], w[1]), Self.openUnit(w[2], w[3]))
                return [mean.addingProduct(z0, std), mean.addingProduct(z1, std)]
            }
            let (z0, z1) = Self.normalPair(Self.openUnit(w[0]), Self.openUnit(w[1]))
            let (z2, z3) = Self.normalPair(Self.openUnit(w[2]), Self.openUnit(w[3]))
            return [z0, z1, z2, z3].map { Double(Self.rounded(Float(mean.addingProduct($0, std)), to: dtype)) }
        case .integers: preconditionFailure("integers are drawn by integers(_:low:high:)")
        }
    }

    /// A float rounded to the float-type `dtype`, as the kernels store it.
    private static func rounded(_ value: Float, to dtype: DType) -> Float {
        switch dtype {
        case .float16: Half(value).floatValue
        case .bfloat16: BFloat16(value).floatValue
        default: value
        }
    }
}
