import Foundation
import Testing

@testable import Ember

/// The generated CUDA kernels, compiled for the CPU (`HostKernelModule`) and run against Ember's
/// CPU ops on the same inputs: every elementwise op, comparison, `where`, cast, fill and random
/// fill and reduction, for every dtype it has, contiguous and strided (transposed and broadcast
/// operands, through `CUDAElementwisePlan`), into poisoned outputs. What this cannot check (the
/// GPU's own math library, memory model and speed) is left to `Scripts/gpu-check`.
@Suite(.enabled(if: HostKernelModule.compiler != nil, HostKernelModule.skipReason))
struct CUDAKernelHostRunTests {
    /// 2257 elements over 2 blocks (1024 threads): contiguous kernels take one full group of
    /// `CUDAKernelSource.elementsPerThread` elements per thread and then a partial one, and
    /// every thread takes the grid-stride loop's turns.
    static let shape = [37, 61]
    static let blocks = 2

    // MARK: Inputs

    static func values(_ dtype: DType, count: Int, seed: UInt64, nonzero: Bool = false, small: Bool = false) -> Tensor {
        let generator = Generator(seed: seed)
        let raw = Tensor.randn([count], dtype: .float64, generator: generator).toArray(as: Double.self)
        var values: [Double]
        switch dtype {
        case .bool: values = raw.map { $0 > 0 ? 1 : 0 }
        case _ where dtype.isFloatingPoint:
            values = raw.map { small ? ($0 * 2).rounded() : $0 * 4 }
            let specials: [Double] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, 0.5, 2.5, -2.5, 1e-30, 70_000, 3e38]
            let used = specials.prefix(count)
            values.replaceSubrange(0..<used.count, with: small ? used.map { $0.isFinite ? $0.rounded() : $0 } : Array(used))
        case .uint8: values = raw.map { (abs($0) * 60).rounded(.down) }
        default: values = raw.map { ($0 * (small ? 2 : 40)).rounded() }
        }
        if nonzero { values = values.map { $0 == 0 ? 3 : $0 } }
        if dtype.isFloatingPoint {
            return Tensor(values, shape: [count]).to(dtype)
        }
        return Tensor(values.map { Int64($0) }, shape: [count]).to(dtype)
    }

    /// A [37, 29] operand: contiguous, or a transposed view of the same values.
    static func operand(_ dtype: DType, seed: UInt64, transposed: Bool, nonzero: Bool = false, small: Bool = false) -> Tensor {
        let flat = values(dtype, count: shape[0] * shape[1], seed: seed, nonzero: nonzero, small: small)
        return transposed ? flat.reshape([shape[1], shape[0]]).t() : flat.reshape(shape)
    }

    static func poisoned(_ shape: [Int], _ dtype: DType) -> Tensor {
        let tensor = Tensor.empty(shape, dtype: dtype)
        memset(tensor.elementPointer(as: UInt8.self), 0xA5, tensor.numel * dtype.itemSize)
        return tensor
    }

    static func pointer(_ tensor: Tensor) -> CUDAKernelArgument { .pointer(tensor.elementBytes) }

    // MARK: Comparison

    /// Raw element bits of a contiguous copy, widened to UInt64.
    static func bits(_ tensor: Tensor) -> [UInt64] {
        let contiguous = tensor.contiguous(), size = tensor.dtype.itemSize
        let bytes = UnsafeRawPointer(contiguous.elementBytes)
        return (0..<tensor.numel).map { index in
            switch size {
            case 1: UInt64(bytes.load(fromByteOffset: index, as: UInt8.self))
            case 2: UInt64(bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
            case 4: UInt64(bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
            default: bytes.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)
            }
        }
    }

    /// Elements that differ by more than `ulps` units in the last place (NaNs equal any NaN);
    /// integers and bools must match exactly.
    static func mismatches(_ actual: Tensor, _ expected: Tensor, ulps: UInt64 = 0) -> [String] {
        guard actual.dtype == expected.dtype, actual.shape == expected.shape else {
            return ["\(actual.dtype)\(actual.shape) against \(expected.dtype)\(expected.shape)"]
        }
        let (a, e) = (bits(actual), bits(expected))
        let isFloat = actual.dtype.isFloatingPoint, width = UInt64(actual.dtype.itemSize * 8)
        let actualValues = actual.contiguous().toArray(as: Double.self), expectedValues = expected.contiguous().toArray(as: Double.self)
        var found: [String] = []
        for index in a.indices where a[index] != e[index] {
            if isFloat {
                let (actualNaN, expectedNaN) = (actualValues[index].isNaN, expectedValues[index].isNaN)
                if actualNaN && expectedNaN { continue }
                if !actualNaN && !expectedNaN && orderedDistance(a[index], e[index], width: width) <= ulps { continue }
            }
            found.append("[\(index)]: \(actualValues[index]) (bits \(String(a[index], radix: 16))), expected \(expectedValues[index]) (bits \(String(e[index], radix: 16)))")
            if found.count == 5 { break }
        }
        return found
    }

    /// Distance between two floats' bit patterns in ordered (two's-complement-like) form.
    static func orderedDistance(_ a: UInt64, _ b: UInt64, width: UInt64) -> UInt64 {
        let sign: UInt64 = 1 << (width - 1)
        func ordered(_ x: UInt64) -> Int64 { x & sign != 0 ? -Int64(x & ~sign) : Int64(x) }
        return ordered(a) > ordered(b) ? UInt64(ordered(a) - ordered(b)) : UInt64(ordered(b) - ordered(a))
    }

    // MARK: Elementwise ops

    /// Ember's CPU op for each registered CUDA op, by name.
    static let unaryOps: [String: @Sendable (Tensor) -> Tensor] = [
        "exp": { $0.exp() }, "log": { $0.log() }, "sqrt": { $0.sqrt() }, "rsqrt": { $0.rsqrt() },
        "reciprocal": { $0.reciprocal() }, "sin": { $0.sin() }, "cos": { $0.cos() }, "tanh": { $0.tanh() },
        "sigmoid": { $0.sigmoid() }, "neg": { -$0 }, "abs": { $0.abs() }, "sign": { $0.sign() }, "relu": { $0.relu() },
    ]
    static let binaryOps: [String: @Sendable (Tensor, Tensor) -> Tensor] = [
        "add": { $0 + $1 }, "add_alpha": { $0.add($1, alpha: 3) }, "sub": { $0 - $1 }, "mul": { $0 * $1 }, "div": { $0 / $1 },
        "div_trunc": { $0.div($1, roundingMode: .trunc) }, "div_floor": { $0.div($1, roundingMode: .floor) },
        "pow": { $0.pow($1) }, "maximum": { $0.maximum($1) }, "minimum": { $0.minimum($1) },
        "clamp_min": { $0.binaryResult(ClampMin.self, $1) }, "clamp_max": { $0.binaryResult(ClampMax.self, $1) },
        "tanh_backward": { $0.tanhBackward($1) }, "sigmoid_backward": { $0.sigmoidBackward($1) },
        "lt": { $0 .< $1 }, "le": { $0 .<= $1 }, "gt": { $0 .> $1 }, "ge": { $0 .>= $1 }, "eq": { $0 .== $1 }, "ne": { $0 .!= $1 },
    ]
    /// Ops whose CPU and kernel results may differ in the last place: both call a math library
    /// (the CPU's own vector kernels or libm, the kernel the host's libm in this test).
    static let libraryOps: Set<String> = ["exp", "log", "rsqrt", "sin", "cos", "tanh", "sigmoid", "pow"]

    @Test(arguments: [CUDAKernelFamily.unary, .binary, .compare], DType.allCases)
    func elementwiseOpsMatchTheCPU(family: CUDAKernelFamily, dtype: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(family, dtype))
        var checked = 0
        for op in CUDAElementwiseOp.registry where op.kind.family == family && op.dtypes.contains(dtype) {
            let isUnary = family == .unary
            for indexing in CUDAIndexing.allCases {
                let strided = indexing == .strided
                let integerDivision = !dtype.isFloatingPoint && ["div_trunc", "div_floor"].contains(op.name)
                let a = Self.operand(dtype, seed: 1, transposed: strided, small: op.name == "pow")
                // Strided: a transposed first operand and a broadcast row as the second.
                var b = Self.operand(dtype, seed: 2, transposed: false, nonzero: integerDivision, small: op.name == "pow")
                if strided { b = b[0..<1].expand(Self.shape) }
                if op.name == "pow" && !dtype.isFloatingPoint && dtype != .bool { b = b.abs() }  // integers to negative powers are refused
                // Where the CPU refuses the op (sub on bool), so does the GPU backend, before launching.
                guard let expected = try? withErrorChecking({ isUnary ? Self.unaryOps[op.name]!(a) : Self.binaryOps[op.name]!(a, b) })
                else { continue }
                let output = Self.poisoned(Self.shape, family == .compare ? .bool : dtype)
                let operands = isUnary ? [output, a] : [output, a, b]
                let name = CUDAKernelSource.elementwiseKernelName(op, dtype, indexing)
                var arguments: [CUDAKernelArgument] = [.value(Int64(output.numel))]
                if strided {
                    guard case .strided(_, let layout) = CUDAElementwisePlan.make(shape: Self.shape, strides: operands.map(\.strides)) else {
                        Issue.record("\(name): the plan for transposed and broadcast operands is not strided")
                        continue
                    }
                    arguments.append(.layout(layout))
                }
                arguments += operands.map(Self.pointer)
                if op.kind == .scaledBinary { arguments.append(Tensor.scaledAddArgument(alpha: .integer(3), dtype: dtype)) }
                module.launch(name, blocks: Self.blocks, arguments)
                let wrong = Self.mismatches(output, expected, ulps: Self.libraryOps.contains(op.name) ? 2 : 0)
                #expect(wrong.isEmpty, "\(name): \(wrong.joined(separator: "; "))")
                checked += 1
            }
        }
        #expect(checked > 0 || dtype == .bool, "no \(family) kernel of \(dtype) was checked")
    }

    /// A contiguous kernel takes consecutive elements as one aligned vector only where every
    /// operand's address allows it; an operand at an odd offset (a view) sends the whole launch
    /// through elements a grid apart. Either way, and for the elements after the last group,
    /// the results are the CPU's.
    @Test(arguments: [DType.float32, .float64, .float16, .int8])
    func contiguousKernelsTakeOperandsAtAnyOffset(dtype: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(.binary, dtype))
        let add = CUDAElementwiseOp.registry.first { $0.name == "add" }!
        let count = Self.shape[0] * Self.shape[1]
        for (outputOffset, aOffset, bOffset) in [(0, 0, 0), (1, 1, 1), (0, 1, 0), (1, 0, 0)] {
            let a = Self.values(dtype, count: count + 1, seed: 8)[aOffset..<(aOffset + count)]
            let b = Self.values(dtype, count: count + 1, seed: 9)[bOffset..<(bOffset + count)]
            let output = Self.poisoned([count + 1], dtype)[outputOffset..<(outputOffset + count)]
            module.launch(
                CUDAKernelSource.elementwiseKernelName(add, dtype, .contiguous), blocks: Self.blocks,
                [.value(Int64(count)), Self.pointer(output), Self.pointer(a), Self.pointer(b)])
            let wrong = Self.mismatches(output, a + b)
            #expect(wrong.isEmpty, "offsets \((outputOffset, aOffset, bOffset)): \(wrong.joined(separator: "; "))")
        }
    }

    @Test(arguments: DType.allCases)
    func whereSelectsLikeTheCPU(dtype: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(.where, dtype))
        for indexing in CUDAIndexing.allCases {
            let strided = indexing == .strided
            let condition = Self.operand(.bool, seed: 3, transposed: strided)
            let a = Self.operand(dtype, seed: 4, transposed: false), b = Self.operand(dtype, seed: 5, transposed: strided)
            let output = Self.poisoned(Self.shape, dtype)
            let operands = [output, condition, a, b]
            var arguments: [CUDAKernelArgument] = [.value(Int64(output.numel))]
            if strided, case .strided(_, let layout) = CUDAElementwisePlan.make(shape: Self.shape, strides: operands.map(\.strides)) {
                arguments.append(.layout(layout))
            }
            let name = CUDAKernelSource.whereKernelName(dtype, indexing)
            module.launch(name, blocks: Self.blocks, arguments + operands.map(Self.pointer))
            let wrong = Self.mismatches(output, Tensor.where(condition, a, b))
            #expect(wrong.isEmpty, "\(name): \(wrong.joined(separator: "; "))")
        }
    }

    /// Every pair of dtypes, specials included (NaN, ±inf, -0, values out of the target's
    /// range), against the CPU's `to(_:)`, bit for bit.
    @Test(arguments: DType.allCases)
    func castsConvertLikeTheCPU(source: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(.cast, source))
        for target in DType.allCases {
            for indexing in CUDAIndexing.allCases {
                let input = Self.operand(source, seed: 6, transposed: indexing == .strided)
                let output = Self.poisoned(Self.shape, target)
                var arguments: [CUDAKernelArgument] = [.value(Int64(output.numel))]
                if indexing == .strided, case .strided(_, let layout) = CUDAElementwisePlan.make(shape: Self.shape, strides: [output.strides, input.strides]) {
                    arguments.append(.layout(layout))
                }
                let name = CUDAKernelSource.castKernelName(from: source, to: target, indexing)
                module.launch(name, blocks: Self.blocks, arguments + [Self.pointer(output), Self.pointer(input)])
                let wrong = Self.mismatches(output, input.to(target))
                #expect(wrong.isEmpty, "\(name): \(wrong.joined(separator: "; "))")
            }
        }
    }

    @Test(arguments: DType.allCases)
    func fillsWriteTheStoredValue(dtype: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(.fill, dtype))
        let value = Tensor([2.75], shape: []).to(dtype)
        let output = Self.poisoned(Self.shape, dtype)
        let valueBytes = Array(UnsafeRawBufferPointer(start: value.elementPointer(as: UInt8.self), count: dtype.itemSize))
        module.launch(
            CUDAKernelSource.fillKernelName(dtype, .contiguous), blocks: Self.blocks,
            [.value(Int64(output.numel)), Self.pointer(output), CUDAKernelArgument(bytes: valueBytes)])
        #expect(Self.mismatches(output, value.expand(Self.shape)).isEmpty)
    }

    // MARK: Reductions

    /// Rows reduced by a block or by a warp, against the CPU's `sum`, `prod`, `max` and `min`
    /// over the last dimension: rows shorter and longer than the threads that share them (each
    /// thread's elements loaded four at a time, then the rest one by one), more rows than
    /// blocks (or warps), NaN and infinities among the floats. Sums of floats are set beside
    /// the float64 sum, which the kernels' order of additions may differ from in the last places.
    @Test(arguments: DType.allCases)
    func reductionsMatchTheCPU(dtype: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(.reduce, dtype))
        let outer = 5
        for inner in [1, 37, 100, 1000] {
            let input = Self.values(dtype, count: outer * inner, seed: UInt64(inner)).reshape([outer, inner])
            for reduction in CUDAReduction.allCases {
                for shape in CUDAReductionShape.allCases {
                    let name = CUDAKernelSource.reduceKernelName(reduction, dtype, shape)
                    let sizes: [CUDAKernelArgument] = [.value(Int64(outer)), .value(Int64(inner)), Self.pointer(input)]
                    switch reduction {
                    case .sum, .prod:
                        let output = Self.poisoned([outer], CUDAKernelSource.reductionOutputType(reduction, dtype))
                        module.launch(name, blocks: 2, sizes + [Self.pointer(output)])
                        // The kernels add floats in double: against a float32 sum of 1000
                        // elements, which rounds at every step, they may differ by dozens of ulps.
                        let reference = dtype.isFloatingPoint ? input.to(.float64) : input
                        let expected = (reduction == .sum ? reference.sum(dim: 1) : reference.prod(dim: 1)).to(output.dtype)
                        let ulps: UInt64 = dtype == .float64 ? 16 : dtype.isFloatingPoint ? 1 : 0
                        let wrong = Self.mismatches(output, expected, ulps: ulps)
                        #expect(wrong.isEmpty, "\(name), rows of \(inner): \(wrong.joined(separator: "; "))")
                    case .max, .min:
                        let values = Self.poisoned([outer], dtype), indices = Self.poisoned([outer], .int64)
                        module.launch(name, blocks: 2, sizes + [Self.pointer(values), Self.pointer(indices)])
                        let expected = reduction == .max ? input.max(dim: 1) : input.min(dim: 1)
                        let wrong = Self.mismatches(values, expected.values) + Self.mismatches(indices, expected.indices)
                        #expect(wrong.isEmpty, "\(name), rows of \(inner): \(wrong.joined(separator: "; "))")
                    }
                }
            }
        }
    }

    /// Softmax and log-softmax rows, a block or a warp each, against the CPU's: rows shorter
    /// and longer than the threads that share them (each thread's elements loaded four at a
    /// time, then the rest one by one), NaN and infinities among the values. The
    /// exponentials come from different math libraries, and the sums add in other orders (a
    /// float64 log-softmax near 0 cancels: an ulp of log(sum) is dozens of ulps of the result).
    @Test(arguments: DType.allCases.filter(\.isFloatingPoint))
    func softmaxRowsMatchTheCPU(dtype: DType) throws {
        let module = try HostKernelModule.shared(CUDAKernelSource.module(.reduce, dtype))
        let outer = 5
        for inner in [1, 37, 100, 1000, 2100] {
            let input = Self.values(dtype, count: outer * inner, seed: UInt64(inner) + 7).reshape([outer, inner])
            for log in [false, true] {
                for shape in CUDAReductionShape.allCases {
                    let name = CUDAKernelSource.softmaxKernelName(log: log, dtype, shape)
                    let output = Self.poisoned([outer, inner], dtype)
                    module.launch(
                        name, blocks: 2, [.value(Int64(outer)), .value(Int64(inner)), Self.pointer(input), Self.pointer(output)])
                    let expected = log ? input.logSoftmax(dim: 1) : input.softmax(dim: 1)
                    let wrong = Self.mismatches(output, expected, ulps: dtype == .float64 ? 64 : dtype == .float32 ? 8 : 1)
                    #expect(wrong.isEmpty, "\(name), rows of \(inner): \(wrong.joined(separator: "; "))")
                }
            }
        }
    }

    // MARK: Random fills

    /// The kernels write exactly `PhiloxDistribution.referenceFill`'s values: odd counts (a
    /// partial last block), a nonzero offset, a seed with both words set.
    @Test(arguments: DType.allCases)
    func randomFillsMatchTheReference(dtype: DType) throws {
        let module = try HostKernelModule(CUDAKernelSource.module(.random, dtype))
        let (seed, offset): (UInt64, UInt64) = (0x0123_4567_89ab_cdef, 5)
        var distributions: [PhiloxDistribution] = [.integers(low: -7, high: 100)]
        if dtype == .int64 || dtype == .float64 { distributions.append(.integers(low: -3, high: 1 << 40)) }
        if dtype == .bool || dtype == .uint8 { distributions = [.integers(low: 0, high: 2)] }
        if dtype.isFloatingPoint { distributions += [.uniform(from: -1.5, to: 4), .normal(mean: 0.5, std: 3)] }
        for distribution in distributions {
            for count in [1, 1001] {
                let output = Self.poisoned([count], dtype)
                let (kind, parameters) = distribution.kernel(for: dtype)
                let arguments: [CUDAKernelArgument] = [.value(Int64(count)), Self.pointer(output), .value(seed), .value(offset)] + parameters
                module.launch(CUDAKernelSource.randomKernelName(kind, dtype), blocks: Self.blocks, arguments)
                let expected = distribution.referenceFill(count: count, dtype: dtype, seed: seed, offset: offset)
                let wrong = Self.mismatches(output, expected)
                #expect(wrong.isEmpty, "\(kind) \(dtype) count \(count): \(wrong.joined(separator: "; "))")
            }
        }
    }
}
