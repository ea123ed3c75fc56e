#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
internal import CEmberKernels

// PyTorch's CPU generator, bit for bit: the mt19937 engine and the uniform, normal and integer
// transforms of torch 2.x as described in shared/research/pytorch-rng.md.

/// A random number generator that reproduces PyTorch's CPU generator bit for bit.
///
/// With the same seed and the same sequence of calls, it yields exactly the values of
/// `torch.manual_seed`, `torch.randn`, `torch.rand`, `torch.randint`, `Tensor.normal_` and
/// `Tensor.uniform_` on an x86-64 PyTorch build (AVX2 kernels), on any platform for float32
/// normals; float64 normals and small or non-contiguous fills use the C library's `log`, `sin`
/// and `cos`, so they match exactly where that is glibc. Draws are serialized by an internal lock.
///
/// ```swift
/// let generator = Generator(seed: 0)
/// generator.manualSeed(42)          // like torch.manual_seed(42) on this generator
/// print(generator.initialSeed)      // 42
/// ```
public final class Generator: @unchecked Sendable {
    // Every mutable property below is read and written only while `lock` is held.
    private let lock = NSLock()
    private var engine: MersenneTwister
    private var seed: UInt64
    /// The second value of the last serial Box–Muller pair, handed out by the next serial draw.
    private var cachedNormal: Double?
    /// For a CUDA generator, the next unused Philox block (see `PhiloxDistribution`).
    private var philoxOffset: UInt64 = 0

    /// The device whose tensors this generator fills: the CPU (PyTorch's mt19937 stream) or a
    /// GPU (a Philox4x32-10 stream of Ember's own, the same for any launch geometry).
    public let device: Device

    /// Creates a generator seeded like `torch.manual_seed(seed)`.
    ///
    /// The default seed is PyTorch's `default_rng_seed_val`.
    ///
    /// ```swift
    /// let generator = Generator(seed: 1234)
    /// ```
    public init(seed: UInt64 = 67_280_421_310_721, device: Device = .cpu) {
        self.seed = seed
        self.device = device
        engine = MersenneTwister(seed: seed)
    }

    deinit {
        engine.deallocate()
    }

    /// Reseeds the generator, like `torch.manual_seed(seed)`, and forgets any cached normal value.
    ///
    /// Only the low 32 bits of the seed reach the engine, as in PyTorch, so `5` and `2^32 + 5`
    /// produce the same stream while `initialSeed` still reports the full value.
    ///
    /// ```swift
    /// Generator.defaultCPU.manualSeed(0)
    /// ```
    public func manualSeed(_ seed: UInt64) {
        lock.withLock {
            self.seed = seed
            engine.reseed(seed)
            cachedNormal = nil
            philoxOffset = 0
        }
    }

    /// Reserves the Philox blocks of one CUDA fill: the stream's key and the first block, after
    /// which the generator moves past them, so the next fill draws fresh numbers.
    ///
    /// ```swift
    /// let (seed, first) = Generator.defaultCUDA(0).reservePhiloxBlocks(256)
    /// ```
    func reservePhiloxBlocks(_ blocks: UInt64) -> (seed: UInt64, offset: UInt64) {
        lock.withLock {
            defer { philoxOffset &+= blocks }
            return (seed, philoxOffset)
        }
    }

    /// Checks that this generator can fill tensors on `tensorDevice`, with PyTorch's message.
    func checkDevice(for tensorDevice: Device) -> Bool {
        guard device.kind != tensorDevice.kind else { return true }
        reportError("Expected a '\(tensorDevice.kind)' device type for generator but found '\(device.kind)'")
        return false
    }

    /// The seed last given to `init(seed:)` or `manualSeed(_:)`, like `torch.initial_seed()`.
    ///
    /// ```swift
    /// let seed = Generator(seed: 7).initialSeed   // 7
    /// ```
    public var initialSeed: UInt64 {
        lock.withLock { seed }
    }

    /// The process-wide generator that random tensor factories use unless given another one.
    ///
    /// ```swift
    /// Generator.defaultCPU.manualSeed(0)
    /// ```
    public static let defaultCPU = Generator()

    private static let cudaDefaults = Mutex<[Int: Generator]>([:])

    /// The generator that random tensor factories use on `cuda:index` unless given another one
    /// (`torch.cuda.default_generators[index]`); `manualSeed(_:)` seeds it with the CPU's.
    ///
    /// ```swift
    /// Generator.defaultCUDA(0).manualSeed(0)
    /// ```
    public static func defaultCUDA(_ index: Int = 0) -> Generator {
        cudaDefaults.withLock { generators in
            if let generator = generators[index] { return generator }
            let generator = Generator(seed: defaultCPU.initialSeed, device: .cuda(index))
            generators[index] = generator
            return generator
        }
    }

    /// The generator a random op on `device` uses when given none.
    static func defaultGenerator(for device: Device) -> Generator {
        device.kind == .cpu ? defaultCPU : defaultCUDA(device.index)
    }

    /// Seeds the default CPU generator and every default CUDA generator.
    fileprivate static func seedAll(_ seed: UInt64) {
        defaultCPU.manualSeed(seed)
        for generator in cudaDefaults.withLock({ Array($0.values) }) { generator.manualSeed(seed) }
    }

    // MARK: - Normal

    /// Fills `count` values with normal samples exactly as PyTorch's `normal_(mean, std)` fills a
    /// float32 tensor of that many elements.
    ///
    /// `contiguous: false` selects PyTorch's serial path, which it uses for non-contiguous tensors;
    /// the caller then visits the elements in the tensor's iteration order. `std` must be ≥ 0.
    func fillNormal(
        _ buffer: UnsafeMutablePointer<Float>, count: Int, mean: Double, std: Double, contiguous: Bool = true
    ) {
        precondition(count >= 0, "fillNormal: negative count")
        precondition(std >= 0, "normal expects std >= 0.0")
        guard count > 0 else { return }
        lock.withLock {
            if count < RandomKernels.blockSize || !contiguous {
                for index in 0..<count {
                    // The serial path works in double and rounds each result to float32 only at the end.
                    buffer[index] = Float(mean.addingProduct(nextSerialNormal(), std))
                }
                return
            }
            fillUniformUnitFloats(buffer, count: count)
            let blockMean = Float(mean)
            let blockStd = Float(std)
            RandomKernels.transformNormalBlocks(buffer, count: count / RandomKernels.blockSize, mean: blockMean, std: blockStd)
            if count % RandomKernels.blockSize != 0 {
                // PyTorch redraws the whole last window, overwriting finished normals too.
                let tail = buffer + (count - RandomKernels.blockSize)
                fillUniformUnitFloats(tail, count: RandomKernels.blockSize)
                RandomKernels.transformNormalBlocks(tail, count: 1, mean: blockMean, std: blockStd)
            }
        }
    }

    /// Fills `count` values with normal samples exactly as PyTorch's `normal_(mean, std)` fills a
    /// float64 tensor of that many elements.
    ///
    /// `contiguous: false` selects PyTorch's serial path, which it uses for non-contiguous tensors.
    /// `std` must be ≥ 0.
    func fillNormal(
        _ buffer: UnsafeMutablePointer<Double>, count: Int, mean: Double, std: Double, contiguous: Bool = true
    ) {
        precondition(count >= 0, "fillNormal: negative count")
        precondition(std >= 0, "normal expects std >= 0.0")
        guard count > 0 else { return }
        lock.withLock {
            if count < RandomKernels.blockSize || !contiguous {
                for index in 0..<count {
                    buffer[index] = mean.addingProduct(nextSerialNormal(), std)
                }
                return
            }
            fillUniformUnitDoubles(buffer, count: count)
            for start in stride(from: 0, through: count - RandomKernels.blockSize, by: RandomKernels.blockSize) {
                RandomKernels.transformNormalBlock(buffer + start, mean: mean, std: std)
            }
            if count % RandomKernels.blockSize != 0 {
                let tail = buffer + (count - RandomKernels.blockSize)
                fillUniformUnitDoubles(tail, count: RandomKernels.blockSize)
                RandomKernels.transformNormalBlock(tail, mean: mean, std: std)
            }
        }
    }

    // MARK: - Uniform

    /// Fills `count` float32 values with uniform samples in `[from, to)`, exactly as PyTorch's
    /// `uniform_(from, to)` (and `torch.rand` for `0, 1`).
    func fillUniform(_ buffer: UnsafeMutablePointer<Float>, count: Int, from: Double, to: Double) {
        precondition(count >= 0, "fillUniform: negative count")
        guard count > 0 else { return }
        // PyTorch rounds the bounds to the tensor's dtype before computing the width.
        let low = Float(from)
        let high = Float(to)
        let width = high - low
        lock.withLock {
            fillUniformUnitFloats(buffer, count: count)
        }
        if low == 0, high == 1 { return }
        // Eight at a time through the vectorized fused multiply-add, then the rest one by one.
        let memory = UnsafeMutableRawPointer(buffer)
        let vectorized = count - count % RandomKernels.Lanes.scalarCount
        for index in stride(from: 0, to: vectorized, by: RandomKernels.Lanes.scalarCount) {
            let offset = index * MemoryLayout<Float>.stride
            let unit = memory.loadUnaligned(fromByteOffset: offset, as: RandomKernels.Lanes.self)
            let value = RandomKernels.fusedMultiplyAddChecked(unit, width, low)
            let clamped = value.replacing(with: low, where: value .== high)
            memory.storeBytes(of: clamped, toByteOffset: offset, as: RandomKernels.Lanes.self)
        }
        for index in vectorized..<count {
            let value = low.addingProduct(buffer[index], width)
            buffer[index] = value == high ? low : value
        }
    }

    /// Fills `count` float64 values with uniform samples in `[from, to)`, exactly as PyTorch's
    /// `uniform_(from, to)` (and `torch.rand(dtype: .float64)` for `0, 1`).
    func fillUniform(_ buffer: UnsafeMutablePointer<Double>, count: Int, from: Double, to: Double) {
        precondition(count >= 0, "fillUniform: negative count")
        guard count > 0 else { return }
        let width = to - from
        lock.withLock {
            fillUniformUnitDoubles(buffer, count: count)
        }
        if from == 0, to == 1 { return }
        for index in 0..<count {
            let value = from.addingProduct(buffer[index], width)
            buffer[index] = value == to ? from : value
        }
    }

    // MARK: - Integers

    /// PyTorch's random_(low, high) (torch.randint): values in low..<high, as Int64
    /// (callers cast to the tensor's dtype).
    ///
    /// Ranges of 2^28 or more take two engine words per value, smaller ranges one; the value is the
    /// draw modulo the range (slightly biased, as in PyTorch). Requires `low < high`.
    func fillRandom(_ buffer: UnsafeMutablePointer<Int64>, count: Int, low: Int64, high: Int64) {
        precondition(count >= 0, "fillRandom: negative count")
        precondition(low < high, "random_ expects 'from' to be less than 'to'")
        guard count > 0 else { return }
        let range = UInt64(bitPattern: high &- low)
        let offset = UInt64(bitPattern: low)
        lock.withLock {
            if range >= 1 << 28 {
                for index in 0..<count {
                    buffer[index] = Int64(bitPattern: engine.nextUInt64() % range &+ offset)
                }
            } else {
                let range32 = UInt32(range)
                for index in 0..<count {
                    buffer[index] = Int64(bitPattern: UInt64(engine.nextWord() % range32) &+ offset)
                }
            }
        }
    }

    // MARK: - Private: draws (call with `lock` held)

    /// One standard normal from PyTorch's serial float64 Box–Muller, which caches the pair's second value.
    private func nextSerialNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        // The first uniform sets the angle and the second the radius.
        let angleUniform = engine.nextUnitDouble()
        let radiusUniform = engine.nextUnitDouble()
        let radius = (-2.0 * log1p(-radiusUniform)).squareRoot()
        let theta = RandomKernels.twoPi * angleUniform
        cachedNormal = radius * sin(theta)
        return radius * cos(theta)
    }

    /// Writes `count` float32 uniforms in `[0, 1)`, one engine word each.
    private func fillUniformUnitFloats(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        // The words land in the output memory first, then become floats in place, so no scratch space is needed.
        buffer.withMemoryRebound(to: UInt32.self, capacity: count) { words in
            engine.fill(words, count: count)
            for index in 0..<count {
                words[index] = (Float(words[index] & 0xFF_FFFF) * 0x1p-24).bitPattern
            }
        }
    }

    /// Writes `count` float64 uniforms in `[0, 1)`, two engine words each.
    private func fillUniformUnitDoubles(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        buffer.withMemoryRebound(to: UInt64.self, capacity: count) { values in
            values.withMemoryRebound(to: UInt32.self, capacity: 2 * count) { words in
                engine.fill(words, count: 2 * count)
            }
            for index in 0..<count {
                // random64() puts the first word drawn in the high half; in memory that word comes first.
                let pair = values[index]
                #if _endian(little)
                let drawn = pair << 32 | pair >> 32
                #else
                let drawn = pair
                #endif
                let bits = drawn & (1 << 53 - 1)
                values[index] = (Double(Int64(bitPattern: bits)) * 0x1p-53).bitPattern
            }
        }
    }
}

/// Seeds the default CPU generator and the default CUDA ones, like torch.manual_seed.
///
/// ```swift
/// manualSeed(0)
/// ```
public func manualSeed(_ seed: UInt64) {
    Generator.seedAll(seed)
}

// MARK: - Kernels

/// The arithmetic of PyTorch's normal and uniform fills, kept in one namespace.
enum RandomKernels {
    /// PyTorch's vectorized normal fill works on blocks of this many elements.
    static let blockSize = 16

    /// Turns `count` consecutive blocks of 16 float32 uniforms into normals in place: the C
    /// kernel (PyTorch's AVX2 kernel instruction for instruction) where the CPU has AVX2 and
    /// FMA, else `transformNormalBlockAVX2` block by block (the same results).
    static func transformNormalBlocks(_ blocks: UnsafeMutablePointer<Float>, count: Int, mean: Float, std: Float) {
        if let kernel = normalBlocks { return kernel(blocks, count, mean, std) }
        for block in 0..<count { transformNormalBlockAVX2(blocks + block * blockSize, mean: mean, std: std) }
    }

    static let normalBlocks = ember_normal_blocks_f32_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

    /// 2π as a double (`0x401921FB54442D18`).
    static let twoPi = 6.283185307179586

    /// Turns 16 float64 uniforms into normals in place, like PyTorch's float64 block fill.
    @inline(__always)
    static func transformNormalBlock(_ block: UnsafeMutablePointer<Double>, mean: Double, std: Double) {
        for lane in 0..<8 {
            // The first half feeds the radius, the second half the angle.
            let radius = (-2.0 * log(1.0 - block[lane])).squareRoot()
            let theta = twoPi * block[lane + 8]
            block[lane] = mean.addingProduct(radius * cos(theta), std)
            block[lane + 8] = mean.addingProduct(radius * sin(theta), std)
        }
    }

    /// Float32 constants of the Cephes-style `log` and `sincos` in PyTorch's AVX2 kernel, by bit pattern.
    enum AVX2Constants {
        static let sqrtHalf = Float(bitPattern: 0x3F35_04F3)
        static let log0 = Float(bitPattern: 0x3D90_21BB)
        static let log1 = Float(bitPattern: 0xBDEB_D1B8)
        static let log2 = Float(bitPattern: 0x3DEF_251A)
        static let log3 = Float(bitPattern: 0xBDFE_5D4F)
        static let log4 = Float(bitPattern: 0x3E11_E9BF)
        static let log5 = Float(bitPattern: 0xBE2A_AE50)
        static let log6 = Float(bitPattern: 0x3E4C_CEAC)
        static let log7 = Float(bitPattern: 0xBE7F_FFFC)
        static let log8 = Float(bitPattern: 0x3EAA_AAAA)
        static let logQ1 = Float(bitPattern: 0xB95E_8083)
        static let logQ2 = Float(bitPattern: 0x3F31_8000)
        static let fourOverPi = Float(bitPattern: 0x3FA2_F983)
        static let minusDP1 = Float(bitPattern: 0xBF49_0000)
        static let minusDP2 = Float(bitPattern: 0xB97D_A000)
        static let minusDP3 = Float(bitPattern: 0xB322_2169)
        static let sin0 = Float(bitPattern: 0xB94C_A1F9)
        static let sin1 = Float(bitPattern: 0x3C08_839E)
        static let sin2 = Float(bitPattern: 0xBE2A_AAA3)
        static let cos0 = Float(bitPattern: 0x37CC_F5CE)
        static let cos1 = Float(bitPattern: 0xBAB6_061A)
        static let cos2 = Float(bitPattern: 0x3D2A_AAA5)
        static let twoPi = Float(bitPattern: 0x40C9_0FDB)
    }

    /// Eight float32 lanes: PyTorch's AVX2 kernel works on 8 lanes, and so does this port of it.
    typealias Lanes = SIMD8<Float>

    /// Turns 16 float32 uniforms into normals in place, like PyTorch's AVX2 float32 block fill.
    ///
    /// Lane `j` takes its radius from `block[j]` and its angle from `block[j + 8]`, and writes the
    /// cosine output to `block[j]` and the sine output to `block[j + 8]`. Every `fusedMultiplyAdd`
    /// marks a place where PyTorch's compiled kernel has a single fused multiply-add; every other
    /// step rounds on its own. Both matter for bit-exact results.
    @inline(__always)
    static func transformNormalBlockAVX2(_ block: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        typealias K = AVX2Constants
        let memory = UnsafeMutableRawPointer(block)
        let radiusUniform = 1 - memory.loadUnaligned(as: Lanes.self)
        let angleUniform = memory.loadUnaligned(fromByteOffset: MemoryLayout<Lanes>.size, as: Lanes.self)

        // log(radiusUniform): split into exponent and a mantissa in [0.5, 1), then a polynomial.
        let bits = unsafeBitCast(radiusUniform, to: SIMD8<UInt32>.self)
        let mantissa = unsafeBitCast((bits & 0x807F_FFFF) | 0x3F00_0000, to: Lanes.self)
        var exponent = Lanes(SIMD8<Int32>(truncatingIfNeeded: bits &>> 23) &- 127) + 1
        let belowSqrtHalf = mantissa .< K.sqrtHalf
        var x = mantissa - 1
        exponent = exponent - Lanes(repeating: 0).replacing(with: 1, where: belowSqrtHalf)
        x = x + Lanes(repeating: 0).replacing(with: mantissa, where: belowSqrtHalf)
        let z = x * x
        var y = fusedMultiplyAdd(Lanes(repeating: K.log0), x, Lanes(repeating: K.log1))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log2))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log3))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log4))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log5))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log6))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log7))
        y = fusedMultiplyAdd(y, x, Lanes(repeating: K.log8))
        y = y * x
        y = fusedMultiplyAdd(y, z, exponent * K.logQ1)
        y = fusedMultiplyAdd(-z, Lanes(repeating: 0.5), y)
        let logarithm = fusedMultiplyAdd(exponent, Lanes(repeating: K.logQ2), x + y)
        let radius = squareRootOfRadicand(-2 * logarithm)

        // sincos(theta) for theta in [0, 2π): reduce by multiples of π/4, then pick the polynomials.
        let theta = K.twoPi * angleUniform
        let octant = (truncatedOctant(theta * K.fourOverPi) &+ 1) & ~1
        let octantFloat = Lanes(octant)
        var reduced = fusedMultiplyAdd(octantFloat, Lanes(repeating: K.minusDP1), theta)
        reduced = fusedMultiplyAdd(octantFloat, Lanes(repeating: K.minusDP2), reduced)
        reduced = fusedMultiplyAdd(octantFloat, Lanes(repeating: K.minusDP3), reduced)
        let reducedSquared = reduced * reduced

        var cosine = fusedMultiplyAdd(Lanes(repeating: K.cos0), reducedSquared, Lanes(repeating: K.cos1))
        cosine = fusedMultiplyAdd(cosine, reducedSquared, Lanes(repeating: K.cos2))
        cosine = cosine * reducedSquared
        cosine = fusedMultiplyAdd(cosine, reducedSquared, -(reducedSquared * 0.5))
        cosine = cosine + 1

        var sine = fusedMultiplyAdd(Lanes(repeating: K.sin0), reducedSquared, Lanes(repeating: K.sin1))
        sine = fusedMultiplyAdd(sine, reducedSquared, Lanes(repeating: K.sin2))
        sine = sine * reducedSquared
        sine = fusedMultiplyAdd(sine, reduced, reduced)

        // PyTorch selects with bit masks and then adds, which can turn -0 into +0, so do the same.
        // Bit 1 of the octant picks the polynomials; bit 2 (moved to the sign bit) negates.
        let swapsPolynomials = SIMD8<UInt32>(truncatingIfNeeded: (octant &<< 30) &>> 31)
        let sineBits = unsafeBitCast(sine, to: SIMD8<UInt32>.self)
        let cosineBits = unsafeBitCast(cosine, to: SIMD8<UInt32>.self)
        let sineFromSine = unsafeBitCast(sineBits & ~swapsPolynomials, to: Lanes.self)
        let sineFromCosine = unsafeBitCast(cosineBits & swapsPolynomials, to: Lanes.self)
        let sineMagnitude = sineFromCosine + sineFromSine
        let cosineMagnitude = (cosine - sineFromCosine) + (sine - sineFromSine)
        let sineSign = SIMD8<UInt32>(truncatingIfNeeded: octant & 4) &<< 29
        let cosineSign = SIMD8<UInt32>(truncatingIfNeeded: ~(octant &- 2) & 4) &<< 29
        let sineMagnitudeBits = unsafeBitCast(sineMagnitude, to: SIMD8<UInt32>.self)
        let cosineMagnitudeBits = unsafeBitCast(cosineMagnitude, to: SIMD8<UInt32>.self)
        let sinTheta = unsafeBitCast(sineMagnitudeBits ^ sineSign, to: Lanes.self)
        let cosTheta = unsafeBitCast(cosineMagnitudeBits ^ cosineSign, to: Lanes.self)

        let cosineOutput = fusedMultiplyAddChecked(radius * cosTheta, std, mean)
        let sineOutput = fusedMultiplyAddChecked(radius * sinTheta, std, mean)
        memory.storeBytes(of: cosineOutput, as: Lanes.self)
        memory.storeBytes(of: sineOutput, toByteOffset: MemoryLayout<Lanes>.size, as: Lanes.self)
    }

    /// Float32 `a·b + c` with one rounding, for the polynomial and reduction steps of the AVX2 kernel.
    ///
    /// `addingProduct` is a libm call per lane on baseline x86-64, which has no FMA instruction, so
    /// this evaluates in double instead: the product of two floats is exact there, and only the sum
    /// rounds before the final rounding to float. Such double rounding can in general differ from one
    /// rounding, but for these steps it provably does not: running both on every one of the 2^24
    /// possible float32 uniforms, for each half of the kernel, gave identical results at every step.
    @inline(__always)
    static func fusedMultiplyAdd(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes {
        Lanes(SIMD8<Double>(a) * SIMD8<Double>(b) + SIMD8<Double>(c))
    }

    /// `a·b + c` with one rounding for any `b` and `c`, such as a caller's `std` and `mean`.
    ///
    /// Evaluates in double like `fusedMultiplyAdd`. With arbitrary operands double rounding can go
    /// wrong, but only where the double sum lies exactly halfway between two floats, or among float
    /// subnormals (where that halfway test does not apply); those rare lanes are recomputed with
    /// `addingProduct`.
    @inline(__always)
    static func fusedMultiplyAddChecked(_ a: Lanes, _ b: Float, _ c: Float) -> Lanes {
        // randn's `·1 + 0` rounds nothing; adding +0 is what turns -0 into +0.
        if b == 1, c.bitPattern == 0 {
            return a + 0
        }
        let sum = SIMD8<Double>(a) * Double(b) + Double(c)
        // Below float precision a double has 29 more mantissa bits; they read 1000…0 exactly halfway.
        // `offHalfway` is zero exactly there, and `(v - 1) & ~v` sets the top bit only for v == 0.
        let lowBits = SIMD8<UInt32>(truncatingIfNeeded: unsafeBitCast(sum, to: SIMD8<UInt64>.self))
        let offHalfway = (lowBits & 0x1FFF_FFFF) ^ 0x1000_0000
        let halfwayBits = (offHalfway &- 1) & ~offHalfway
        var halfway: UInt32 = 0
        for lane in 0..<8 {
            halfway |= halfwayBits[lane]
        }
        let subnormal = (sum .< 0x1p-126) .& (sum .> -0x1p-126) .& (sum .!= 0)
        var result = Lanes(sum)
        if halfway & 0x8000_0000 != 0 || any(subnormal) {
            for lane in 0..<8 {
                result[lane] = c.addingProduct(a[lane], b)
            }
        }
        return result
    }

    /// `sqrt(radicand)` for the Box–Muller radius, whose radicand is `-2·log(u)` with `u ≤ 1`.
    ///
    /// The AVX2 log never returns a positive value on these inputs (checked on all of them), so the
    /// radicand is positive or a signed zero. Taking the root of its magnitude lets the compiler use
    /// vector square roots; copying its sign back keeps `sqrt(-0) = -0`.
    @inline(__always)
    static func squareRootOfRadicand(_ radicand: Lanes) -> Lanes {
        var root = Lanes()
        for lane in 0..<8 {
            root[lane] = radicand[lane].magnitude.squareRoot()
        }
        let sign = unsafeBitCast(radicand, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(root, to: SIMD8<UInt32>.self) | sign, to: Lanes.self)
    }

    /// `Int32(value)` rounded toward zero for `0 ≤ value < 2^23`, without trapping conversions.
    @inline(__always)
    static func truncatedOctant(_ value: Lanes) -> SIMD8<Int32> {
        // Adding 2^23 leaves the nearest integer in the low mantissa bits; step back where that rounded up.
        let shifted = unsafeBitCast(value + 0x1p23, to: SIMD8<Int32>.self)
        let nearest = shifted &- Int32(bitPattern: Float(0x1p23).bitPattern)
        let roundedUp = Lanes(nearest) .> value
        return nearest &- SIMD8<Int32>(repeating: 0).replacing(with: 1, where: roundedUp)
    }
}

// MARK: - MT19937

/// The mt19937 engine inside PyTorch's CPU generator, seeded with the low 32 bits of the seed.
///
/// The 624 state words live in memory the owner allocates once and frees with `deallocate()`.
private struct MersenneTwister {
    private static let stateSize = 624
    private static let shift = 397

    private let state: UnsafeMutablePointer<UInt32>
    /// One more than the number of words left before the next twist, as in PyTorch.
    private var left = 1
    private var next = 0

    init(seed: UInt64) {
        state = .allocate(capacity: Self.stateSize)
        reseed(seed)
    }

    func deallocate() {
        state.deallocate()
    }

    /// Matsumoto–Nishimura `init_genrand`; no twist happens until the first draw.
    mutating func reseed(_ seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for index in 1..<Self.stateSize {
            let previous = state[index - 1]
            state[index] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(index)
        }
        left = 1
        next = 0
    }

    @inline(__always)
    mutating func nextWord() -> UInt32 {
        left -= 1
        if left == 0 {
            twist()
            left = Self.stateSize
            next = 0
        }
        let word = state[next]
        next += 1
        return Self.temper(word)
    }

    /// `random64()`: the first word drawn is the high half.
    @inline(__always)
    mutating func nextUInt64() -> UInt64 {
        let high = UInt64(nextWord())
        return high << 32 | UInt64(nextWord())
    }

    /// A float64 uniform in `[0, 1)` from the low 53 bits of `random64()`.
    @inline(__always)
    mutating func nextUnitDouble() -> Double {
        Double(Int64(bitPattern: nextUInt64() & (1 << 53 - 1))) * 0x1p-53
    }

    /// Writes the next `count` words, in draw order.
    mutating func fill(_ output: UnsafeMutablePointer<UInt32>, count: Int) {
        var written = 0
        while written < count {
            if left == 1 {
                twist()
                // One past the 624 fresh words, so that the bookkeeping matches `nextWord()`.
                left = Self.stateSize + 1
                next = 0
            }
            let run = min(count - written, left - 1)
            let source = state + next
            let destination = output + written
            for index in 0..<run {
                destination[index] = Self.temper(source[index])
            }
            next += run
            left -= run
            written += run
        }
    }

    @inline(__always)
    private static func temper(_ word: UInt32) -> UInt32 {
        var y = word
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// Regenerates all 624 words in place; later indices read words already replaced.
    private func twist() {
        let n = Self.stateSize
        let m = Self.shift
        @inline(__always)
        func mixed(_ upper: UInt32, _ lower: UInt32) -> UInt32 {
            let bits = (upper & 0x8000_0000) | (lower & 0x7FFF_FFFF)
            return (bits >> 1) ^ (lower & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        for index in 0..<(n - m) {
            state[index] = state[index + m] ^ mixed(state[index], state[index + 1])
        }
        for index in (n - m)..<(n - 1) {
            state[index] = state[index - (n - m)] ^ mixed(state[index], state[index + 1])
        }
        state[n - 1] = state[m - 1] ^ mixed(state[n - 1], state[0])
    }
}
