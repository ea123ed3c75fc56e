// The machinery behind elementwise ops: op protocols, dtype dispatch, broadcasting and
// recording. Individual ops live in Unary.swift and Binary.swift, one definition each.

internal import CEmberKernels

/// What every differentiable unary op declares besides its kernel.
protocol UnaryDerivative {
    /// PyTorch's name for the op, used in messages (`exp`).
    static var name: String { get }
    /// PyTorch's name for the backward node (`ExpBackward0`).
    static var nodeName: String { get }
    /// The op as a CUDA C++ expression of `x` (computed in float for half types).
    static var cuda: String { get }
    /// Which tensors the derivative reads.
    static var saves: SavedOperands { get }
    /// The gradient of the input, from the output's gradient, written with tensor ops so that
    /// it is itself differentiable.
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor
}

/// Which of an op's tensors its derivative needs.
struct SavedOperands: OptionSet {
    let rawValue: Int
    static let input = SavedOperands(rawValue: 1)
    static let result = SavedOperands(rawValue: 2)
}

extension UnaryDerivative {
    static var nodeName: String {
        name.prefix(1).uppercased() + name.dropFirst() + "Backward0"
    }
}

/// A unary op defined on floating-point values; integer inputs are promoted to float32.
protocol UnaryFloatOp: UnaryDerivative {
    static func apply<T: FloatCompute>(_ x: T) -> T
    /// The vectorized C kernel that computes `apply` on contiguous float32 arrays, if any.
    static var vectorFunction: VectorMathFunction? { get }
}

extension UnaryFloatOp {
    static var vectorFunction: VectorMathFunction? { nil }
}

/// A float32 function with vectorized C kernels (CEmberKernels' EmberVectorMath.h), each within
/// 1 ulp of the correctly rounded result, with libm's special values.
///
/// ```swift
/// if let exp = VectorMathFunction.exp.float32Kernel() { exp(input, output, count) }
/// ```
enum VectorMathFunction {
    case exp, log, tanh, sigmoid, sin, cos, sqrt, rsqrt, reciprocal

    /// `output[i] = f(input[i])` for `count` elements; `output` may be `input`.
    typealias Float32ArrayKernel = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

    /// The kernel built for `level`; nil at the baseline level, where libm's loop is used.
    func float32Kernel(at level: CPUFeatures.Level = CPUFeatures.level) -> Float32ArrayKernel? {
        let function: ember_vector_function = switch self {
        case .exp: EMBER_VECTOR_EXP
        case .log: EMBER_VECTOR_LOG
        case .tanh: EMBER_VECTOR_TANH
        case .sigmoid: EMBER_VECTOR_SIGMOID
        case .sin: EMBER_VECTOR_SIN
        case .cos: EMBER_VECTOR_COS
        case .sqrt: EMBER_VECTOR_SQRT
        case .rsqrt: EMBER_VECTOR_RSQRT
        case .reciprocal: EMBER_VECTOR_RECIPROCAL
        }
        return ember_vector_math_f32(function, ember_cpu_level(rawValue: UInt32(level.rawValue)))
    }

    /// Elements per thread below which the kernel runs on one thread: 2–3 µs of its work on an
    /// AVX-512 core, a quarter or an eighth of ``Parallel/defaultGrain`` (PyTorch's grain for
    /// every elementwise op), as an element costs several times an add's arithmetic. On the
    /// Emerald Rapids host, two threads took 16K floats' tanh in 6.0–6.3 µs against one's
    /// 9.8–10.2, and their exp in 3.1–3.2 against 4.2–4.6 (PyTorch, splitting from 32K: 5.6, 4.6).
    /// sin and cos cost about what tanh does: 64K floats in L2 on one AVX-512 core took 33–35 µs
    /// against its 39–43.
    /// sqrt, rsqrt and reciprocal cost about an add, and keep PyTorch's grain.
    var grain: Int {
        switch self {
        case .exp, .log: 8_192
        case .sqrt, .rsqrt, .reciprocal: Parallel.defaultGrain
        case .tanh, .sigmoid, .sin, .cos: 4_096
        }
    }
}

/// A unary op defined on every numeric dtype, keeping the dtype.
protocol UnaryNumericOp: UnaryDerivative {
    static func apply<T: ComputeScalar>(_ x: T) -> T
    /// PyTorch's error for a bool tensor, where the op's kernel refuses one (after the checks
    /// of the tensors' shapes and layouts; an op that refuses bool before them checks in its
    /// public method, as `relu` does).
    static var boolError: String? { get }
    /// The bounds of the clamp that `apply` is on float32, if it is one (relu's 0 and +inf), so
    /// that clamp's vectorized C kernel runs it.
    static var float32Clamp: (low: Float, high: Float)? { get }
}

extension UnaryNumericOp {
    static var float32Clamp: (low: Float, high: Float)? { nil }
    static var boolError: String? { nil }
}

/// A binary op on two operands of one (promoted) dtype.
protocol BinaryOp {
    /// PyTorch's name, used in messages and as the CUDA kernel's name.
    static var name: String { get }
    /// The op as a CUDA C++ expression of `a` and `b`.
    static var cuda: String { get }
    /// Whether the op computes in floating point even on integers (true division).
    static var promotesIntegersToFloat: Bool { get }
    static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T
    /// The vectorized C kernels that compute `apply` on dense float32 operands, if any.
    static var arithmetic: ArithmeticFunction? { get }
}

extension BinaryOp {
    static var promotesIntegersToFloat: Bool { false }
    static var arithmetic: ArithmeticFunction? { nil }
}

/// A float32 operation of two operands with vectorized C kernels (CEmberKernels'
/// EmberArithmetic.h) for dense operands and for a number on either side, each element
/// computed by the IEEE operations of the Swift op's `apply`, in its order.
///
/// ```swift
/// if let add = ArithmeticFunction.add.float32Kernels() { add.dense(a, b, output, count) }
/// ```
enum ArithmeticFunction {
    case add, subtract, multiply, divide, tanhBackward, sigmoidBackward

    /// `output[i] = a[i] op b[i]`, with `a[0]` or `b[0]` standing for every element in the
    /// kernels for a number operand; `output` may be `a` or `b`.
    typealias Float32Kernel = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

    /// The kernels built for `level`, by operand layout; nil at the baseline level, where the
    /// Swift loop runs.
    func float32Kernels(at level: CPUFeatures.Level = CPUFeatures.level)
        -> (dense: Float32Kernel, numberSecond: Float32Kernel, numberFirst: Float32Kernel)?
    {
        let op: ember_arithmetic_op = switch self {
        case .add: EMBER_ARITHMETIC_ADD
        case .subtract: EMBER_ARITHMETIC_SUBTRACT
        case .multiply: EMBER_ARITHMETIC_MULTIPLY
        case .divide: EMBER_ARITHMETIC_DIVIDE
        case .tanhBackward: EMBER_ARITHMETIC_TANH_BACKWARD
        case .sigmoidBackward: EMBER_ARITHMETIC_SIGMOID_BACKWARD
        }
        let kernels = ember_arithmetic_f32_kernels_for(ember_cpu_level(rawValue: UInt32(level.rawValue)), op)
        guard let dense = kernels.dense, let numberSecond = kernels.number_second, let numberFirst = kernels.number_first else { return nil }
        return (dense, numberSecond, numberFirst)
    }
}

// MARK: - Kernels

private struct UnaryFloatKernel<Op: UnaryFloatOp>: FloatElementVisitor {
    let input: Tensor, output: Tensor
    struct Map<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: Op.apply(x.compute)) }
    }
    func visit<E: Element>(_ type: E.Type) where E.Compute: FloatCompute {
        if E.self == Float.self, input.isContiguous, output.isContiguous, let function = Op.vectorFunction,
            let kernel = function.float32Kernel()
        {
            let x = input.elementPointer(as: Float.self), y = output.elementPointer(as: Float.self)
            Parallel.forRanges(count: input.numel, grain: function.grain) { range in
                kernel(x + range.lowerBound, y + range.lowerBound, range.count)
            }
            return
        }
        mapElements(into: output, input, grain: 8192, Map<E>())
    }
}

private struct UnaryNumericKernel<Op: UnaryNumericOp>: ElementVisitor {
    let input: Tensor, output: Tensor
    struct Map<E: Element>: UnaryElementFunction {
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: Op.apply(x.compute)) }
    }
    func visit<E: Element>(_ type: E.Type) {
        if E.self == Float.self, let (low, high) = Op.float32Clamp, clampFloat32(input, into: output, low: low, high: high) { return }
        mapElements(into: output, input, Map<E>())
    }
}

private struct BinaryKernel<Op: BinaryOp>: ElementVisitor {
    let a: Tensor, b: Tensor, output: Tensor
    struct Map<E: Element>: BinaryElementFunction {
        @inline(__always) func callAsFunction(_ a: E, _ b: E) -> E { E(compute: Op.apply(a.compute, b.compute)) }
    }
    func visit<E: Element>(_ type: E.Type) {
        if E.self == Float.self, let kernels = Op.arithmetic?.float32Kernels(), runFloat32(kernels) { return }
        mapElements(into: output, a, b, Map<E>())
    }

    /// Runs the C kernel for the operands' layout, split across cores, where the output is dense
    /// and either at most 2M elements or one of the operands (in place), and each operand is
    /// dense or a number, or, broadcast, has rows that are (`x + bias`, `column + row`: each
    /// row through the kernel for its layout); false otherwise, for the Swift loop to run.
    /// Past the caches, 256- and 512-bit stores into a fresh output ran slower on Zen 4 than the
    /// Swift loop's 128-bit ones (a 4M-float add 2.4 ms against 1.4 on one thread). In place,
    /// where each line stored was just read, they were as fast there, and on the Emerald Rapids
    /// Xeon took a quarter less time (alternating in one process on two threads: `add_` of 4M
    /// floats 0.70 against 1.49 ms median, of 16M 4.3 against 5.5; `mul_` 0.69 against 1.15, 4.3
    /// against 5.3).
    private func runFloat32(
        _ kernels: (dense: ArithmeticFunction.Float32Kernel, numberSecond: ArithmeticFunction.Float32Kernel, numberFirst: ArithmeticFunction.Float32Kernel)
    ) -> Bool {
        guard output.isContiguous else { return false }
        let shape = output.shape
        let x = a.elementPointer(as: Float.self), y = b.elementPointer(as: Float.self), o = output.elementPointer(as: Float.self)
        guard output.numel <= 1 << 21 || UnsafePointer(o) == x || UnsafePointer(o) == y else { return false }
        func kernel(steps: (Int, Int)) -> ArithmeticFunction.Float32Kernel? {
            switch steps {
            case (1, 1): kernels.dense
            case (1, 0): kernels.numberSecond
            case (0, 1): kernels.numberFirst
            default: nil
            }
        }
        let steps = (a.isDense(shape) ? 1 : a.isBroadcastNumber ? 0 : -1, b.isDense(shape) ? 1 : b.isBroadcastNumber ? 0 : -1)
        if let kernel = kernel(steps: steps) {
            Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
                kernel(x + range.lowerBound * steps.0, y + range.lowerBound * steps.1, o + range.lowerBound, range.count)
            }
            return true
        }
        // Row by row: a 1000x1000 `column + row` took 93 µs through the Swift loop's 128-bit
        // vectors in one survey and 85-93 this way (PyTorch 69-107).
        let loop = StridedLoop(shape: shape, strides: [output.strides, a.strides, b.strides])
        guard loop.innerStride(0) == 1, let kernel = kernel(steps: (loop.innerStride(1), loop.innerStride(2))) else { return false }
        loop.run { offsets, length in kernel(x + offsets[1], y + offsets[2], o + offsets[0], length) }
        return true
    }
}

/// Converts every element to another dtype (`to(dtype)`, `copy_`).
private struct CastKernel: ElementVisitor {
    let input: Tensor, output: Tensor
    func visit<Source: Element>(_ type: Source.Type) {
        if input.dtype == output.dtype && input.isContiguous && output.isContiguous && input.shape == output.shape {
            let source = input.elementPointer(as: Source.self), target = output.elementPointer(as: Source.self)
            let streams = output.numel * Source.dtype.itemSize >= Self.streamingBytes
            Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
                let (to, from) = (target + range.lowerBound, source + range.lowerBound)
                guard streams, let copy = Self.streamingCopy, to + range.count <= from || from + range.count <= to else {
                    return to.update(from: from, count: range.count)
                }
                copy(to, from, range.count * Source.dtype.itemSize)
            }
            return
        }
        if input.dtype == output.dtype && output.isContiguous && input.shape == output.shape && input.isStoredByColumns {
            return copyTransposed(Source.self)
        }
        if input.isContiguous && output.isContiguous && input.shape == output.shape && convertHalves() { return }
        output.dtype.dispatch(CastInto<Source>(input: input, output: output))
    }

    /// float32 to float16 and back with the CPU's conversion instructions, bit for bit
    /// `Half(_:)` and `Half.floatValue` (checked over every float and every half): the loop
    /// converting one element at a time through its bits took 2.0 ms for a million floats on
    /// two threads, PyTorch 0.12. False where neither applies.
    private func convertHalves() -> Bool {
        switch (input.dtype, output.dtype) {
        case (.float32, .float16):
            guard let kernel = Self.floatToHalf else { return false }
            let (from, to) = (input.elementPointer(as: Float.self), output.elementPointer(as: UInt16.self))
            Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
                kernel(from + range.lowerBound, to + range.lowerBound, range.count)
            }
        case (.float16, .float32):
            guard let kernel = Self.halfToFloat else { return false }
            let (from, to) = (input.elementPointer(as: UInt16.self), output.elementPointer(as: Float.self))
            Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
                kernel(from + range.lowerBound, to + range.lowerBound, range.count)
            }
        default:
            return false
        }
        return true
    }

    static let floatToHalf = ember_float_to_half_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))
    static let halfToFloat = ember_half_to_float_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

    /// The C loop of non-temporal stores for this CPU (nil at the baseline level).
    static let streamingCopy = ember_streaming_copy_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

    /// Copies from this size on stream past the caches (2x memcpy's speed from memory here):
    /// they would push most of the L3 cache out anyway. Smaller ones stay with memmove, which
    /// within the cache is as fast as any loop and twice as fast as streaming stores.
    static let streamingBytes = 16 << 20

    /// Copies matrices stored by columns (`x.t().contiguous()`, `transpose(-1, -2)`) into the
    /// row-major output in bands of 32 rows, each thread a band of one matrix at a time, with
    /// the C kernel that moves 8x8 blocks through registers (``ember_transpose_kernel_for``).
    private func copyTransposed<E: Element>(_: E.Type) {
        let (rows, columns) = (input.shape[input.dim - 2], input.shape[input.dim - 1])
        guard let kernel = ember_transpose_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)), MemoryLayout<E>.stride)
        else { preconditionFailure("no transpose kernel for \(MemoryLayout<E>.stride)-byte elements") }
        let columnStride = input.strides[input.dim - 1], band = 32
        let (leadingShape, leadingStrides) = (Array(input.shape.dropLast(2)), Array(input.strides.dropLast(2)))
        // The element offset of matrix `index` of the leading dimensions, in row-major order.
        func offset(of index: Int) -> Int {
            var (remainder, offset) = (index, 0)
            for axis in leadingShape.indices.reversed() {
                let (quotient, coordinate) = remainder.quotientAndRemainder(dividingBy: leadingShape[axis])
                offset += coordinate * leadingStrides[axis]
                remainder = quotient
            }
            return offset
        }
        let source = input.elementPointer(as: E.self), target = output.elementPointer(as: E.self)
        let bands = (rows + band - 1) / band
        Parallel.forRanges(count: leadingShape.reduce(1, *) * bands, grain: Swift.max(1, Parallel.defaultGrain / (band * columns))) { range in
            for item in range {
                let (matrix, bandIndex) = item.quotientAndRemainder(dividingBy: bands)
                let firstRow = bandIndex * band
                kernel(
                    source + offset(of: matrix) + firstRow, columnStride, target + matrix * rows * columns + firstRow * columns, columns,
                    Swift.min(band, rows - firstRow), columns)
            }
        }
    }

    private struct CastInto<Source: Element>: ElementVisitor {
        let input: Tensor, output: Tensor
        func visit<Target: Element>(_ type: Target.Type) { mapElements(into: output, input, Map<Target>()) }

        struct Map<Target: Element>: UnaryElementFunction {
            @inline(__always) func callAsFunction(_ x: Source) -> Target {
                // The type tests fold away once the loop is specialized.
                if Source.self == Target.self { return unsafeBitCast(x, to: Target.self) }
                return Source.dtype.isFloatingPoint ? Target(converting: x.doubleValue) : Target(converting: x.int64Value)
            }
        }
    }
}

/// Every element becomes one value.
struct Constant<E: Element>: UnaryElementFunction {
    let element: E
    @inline(__always) func callAsFunction(_ x: E) -> E { element }
}

private struct FillKernel: ElementVisitor {
    let value: ScalarValue, output: Tensor
    func visit<E: Element>(_ type: E.Type) {
        let element = value.element(as: E.self)
        if output.isContiguous {
            let pointer = output.elementPointer(as: E.self)
            // Zero is all-zero bytes in every dtype: memset, much faster than a store loop.
            let isZero = withUnsafeBytes(of: element) { $0.allSatisfy { $0 == 0 } }
            Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
                if isZero {
                    UnsafeMutableRawPointer(pointer + range.lowerBound).initializeMemory(as: UInt8.self, repeating: 0, count: range.count * MemoryLayout<E>.stride)
                } else {
                    (pointer + range.lowerBound).initialize(repeating: element, count: range.count)
                }
            }
        } else {
            mapElements(into: output, output, Constant(element: element))
        }
    }
}

// MARK: - Running ops

extension Tensor {
    /// Runs a floating-point unary op, promoting integer inputs, and records its derivative.
    func unary<Op: UnaryFloatOp>(_ op: Op.Type) -> Tensor {
        let input = converted(to: dtype.isFloatingPoint ? dtype : .defaultFloat)
        let output = input.uninitializedLike(dtype: input.dtype)
        if device.kind == .cuda {
            Tensor.launchRegistered(Op.name, dtype: input.dtype, [output, input])
        } else {
            input.dtype.dispatchFloat(UnaryFloatKernel<Op>(input: input.readableByRows, output: output))
        }
        recordUnary(Op.self, output: output)
        return output
    }

    /// Runs a dtype-preserving unary op and records its derivative.
    func unary<Op: UnaryNumericOp>(_ op: Op.Type) -> Tensor {
        guard acceptsBool(Op.self) else { return self }
        let output = uninitializedLike(dtype: dtype)
        if device.kind == .cuda {
            Tensor.launchRegistered(Op.name, dtype: dtype, [output, self])
        } else {
            dtype.dispatch(UnaryNumericKernel<Op>(input: readableByRows, output: output))
        }
        recordUnary(Op.self, output: output)
        return output
    }

    /// Runs a floating-point unary op into this tensor's own memory (`exp_`) and records its
    /// derivative; integer tensors are refused, as their float result cannot be stored.
    func unaryInPlace<Op: UnaryFloatOp>(_ op: Op.Type) -> Tensor {
        guard checkInPlaceAllowed(), checkWritesEachElementOnce() else { return self }
        guard dtype.isFloatingPoint else {
            reportError("result type \(DType.defaultFloat.legacyName) can't be cast to the desired output type \(dtype.legacyName)")
            return self
        }
        return inPlace(Op.self) { dtype.dispatchFloat(UnaryFloatKernel<Op>(input: self, output: self)) }
    }

    /// Runs a dtype-preserving unary op into this tensor's own memory (`relu_`) and records its
    /// derivative.
    func unaryInPlace<Op: UnaryNumericOp>(_ op: Op.Type) -> Tensor {
        guard checkInPlaceAllowed(), checkWritesEachElementOnce(), acceptsBool(Op.self) else { return self }
        return inPlace(Op.self) { dtype.dispatch(UnaryNumericKernel<Op>(input: self, output: self)) }
    }

    /// Whether `Op`'s kernel runs on this tensor's dtype: false, with PyTorch's error, for a
    /// bool tensor that it refuses.
    private func acceptsBool<Op: UnaryNumericOp>(_ op: Op.Type) -> Bool {
        guard dtype == .bool, let message = Op.boolError else { return true }
        reportError(message)
        return false
    }

    /// Overwrites this tensor with `Op` of itself (`runOnCPU` there, `Op`'s CUDA kernel on a
    /// GPU) and records `Op`'s derivative as PyTorch's in-place ops do: an input the derivative
    /// reads is cloned first (with its history, for second derivatives), and a saved result is
    /// this tensor, so a later in-place change is caught on backward. The caller has checked
    /// that the change is allowed, in PyTorch's order: autograd's refusal, the tensor's layout,
    /// then its dtype.
    private func inPlace<Op: UnaryDerivative>(_ op: Op.Type, runOnCPU: () -> Void) -> Tensor {
        let wasRecording = Tensor.isRecording(self)
        let original = wasRecording && Op.saves.contains(.input) ? clone() : nil
        if device.kind == .cuda {
            Tensor.launchRegistered(Op.name, dtype: dtype, [self, self])
        } else {
            runOnCPU()
        }
        version.bump()
        guard wasRecording else { return self }
        let result = Op.saves.contains(.result) ? SavedTensor(output: self) : nil
        recordInPlace(Op.nodeName, inputs: [previousHistory()], savedOutputs: result.map { [$0] } ?? []) { gradients in
            [Op.derivative(gradients[0], input: original, result: result?.unpack())]
        }
        return self
    }

    /// Whether no two elements of this tensor share memory (none is an expanded view), as an op
    /// that writes each element would otherwise write some twice; reports PyTorch's error if not.
    func checkWritesEachElementOnce() -> Bool {
        guard zip(shape, strides).contains(where: { $0 > 1 && $1 == 0 }) else { return true }
        reportError(
            "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation."
        )
        return false
    }

    private func recordUnary<Op: UnaryDerivative>(_ op: Op.Type, output: Tensor) {
        guard Tensor.isRecording(self) else { return }
        let input = Op.saves.contains(.input) ? SavedTensor(input: self) : nil
        let result = Op.saves.contains(.result) ? SavedTensor(output: output) : nil
        Tensor.record(Op.nodeName, inputs: [self], outputs: [output], savedOutputs: result.map { [$0] } ?? []) { gradients in
            [Op.derivative(gradients[0], input: input?.unpack(), result: result?.unpack())]
        }
    }

    /// Computes `Op(a, b)` with broadcasting and type promotion into a new tensor; the caller
    /// records the derivative.
    func binaryResult<Op: BinaryOp>(_ op: Op.Type, _ other: Tensor) -> Tensor {
        if let (tensor, scalar, dtype) = halfPrecisionScalar(Op.self, other) {
            let a = tensor.converted(to: dtype).converted(to: .float32), b = scalar.converted(to: .float32)
            return a.binaryResult(Op.self, b).converted(to: dtype)
        }
        return binaryResult(other, promotesIntegersToFloat: Op.promotesIntegersToFloat) { dtype, a, b, output in
            Tensor.runBinary(Op.self, dtype: dtype, a: a, b: b, output: output)
            return true
        }
    }

    /// The tensor, the scalar and the float16 or bfloat16 result dtype of a product or quotient
    /// that PyTorch's CPU kernels compute in float32, reading the scalar's own value rather than
    /// its rounding to the tensor's dtype: a 0-dim second operand of another dtype (`half * 0.1`,
    /// `half.div_(Tensor(3.0))`), or for a product a Swift number first (`0.1 * half`, which
    /// Python computes as `half * 0.1`); nil for other operands. A 0-dim tensor first
    /// (`Tensor(0.1) * half`) is rounded first, as in PyTorch, and so are sums' operands.
    ///
    /// ```swift
    /// Tensor([1.7]).to(.float16) * 0.1  // [0.17004], not 0.1699 from 0.1 rounded to half
    /// ```
    func halfPrecisionScalar<Op: BinaryOp>(_ op: Op.Type, _ other: Tensor) -> (tensor: Tensor, scalar: Tensor, dtype: DType)? {
        func isHalfPrecision(_ dtype: DType) -> Bool { dtype == .float16 || dtype == .bfloat16 }
        guard Op.arithmetic == .multiply || Op.arithmetic == .divide, isHalfPrecision(self.dtype) || isHalfPrecision(other.dtype),
            device.kind == .cpu, other.device.kind == .cpu
        else { return nil }
        let swapped = Op.arithmetic == .multiply && isWrappedNumber && !other.isWrappedNumber
        guard swapped || other.dim == 0 else { return nil }
        let (tensor, scalar) = swapped ? (other, self) : (self, other)
        let dtype = resultType(promotionOperand, other.promotionOperand)
        guard isHalfPrecision(dtype), scalar.dtype != dtype else { return nil }
        return (tensor, scalar, dtype)
    }

    /// A new tensor that `run(dtype, a, b, output)` fills from this tensor and `other`, converted
    /// to their promoted dtype and broadcast to the output's shape (on the CPU a 0-dim operand
    /// stays 0-dim beside a dense other one); `run` returns false after reporting an error.
    func binaryResult(
        _ other: Tensor, promotesIntegersToFloat: Bool, run: (DType, Tensor, Tensor, Tensor) -> Bool
    ) -> Tensor {
        guard Tensor.checkSameDevice(self, other) else { return Tensor.zeros([]) }
        if dtype == other.dtype && shape == other.shape && device == other.device && !isWrappedNumber && !other.isWrappedNumber
            && (dtype.isFloatingPoint || !promotesIntegersToFloat)
        {
            // Nothing to promote or broadcast: most ops' case, and a third of a tiny op's time.
            let output = uninitializedLike(dtype: dtype)
            return run(dtype, self, other, output) ? output : Tensor.zeros([], dtype: dtype)
        }
        var dtype = resultType(promotionOperand, other.promotionOperand)
        if promotesIntegersToFloat && !dtype.isFloatingPoint { dtype = .defaultFloat }
        guard let shape = Tensor.broadcastShapes(shape, other.shape) else { return Tensor.zeros([], dtype: dtype) }
        let device = Tensor.commonDevice(self, other)
        let output =
            if shape == self.shape && device == self.device {
                uninitializedLike(dtype: dtype)
            } else if shape == other.shape && device == other.device {
                other.uninitializedLike(dtype: dtype)
            } else {
                Tensor(uninitializedShape: shape, dtype: dtype, device: device)
            }
        let (first, second) = (self.converted(to: dtype), other.converted(to: dtype))
        // A number first (`2 * x`) stays 0-dim beside a dense second operand, as a number
        // second does (see `secondOperand`): the CPU kernels read its one element.
        let a = first.dim == 0 && device.kind == .cpu && second.isDense(shape) ? first : first.broadcastView(to: shape)
        let b = second.secondOperand(beside: a, shape: shape)
        return run(dtype, a, b, output) ? output : Tensor.zeros([], dtype: dtype)
    }

    /// Computes `Op(self, other)` into this tensor's own memory, broadcasting `other` to it.
    /// Misuse is reported in PyTorch's order: autograd's refusal, then the written tensor's
    /// layout, the shapes, the devices, and last the dtypes.
    func binaryInPlace<Op: BinaryOp>(_ op: Op.Type, _ other: Tensor) -> Bool {
        let computesInFloat32 = halfPrecisionScalar(Op.self, other) != nil
        return binaryInPlace(other, promotesIntegersToFloat: Op.promotesIntegersToFloat, computesInFloat32: computesInFloat32) {
            dtype, a, b, output in
            Tensor.runBinary(Op.self, dtype: dtype, a: a, b: b, output: output)
            return true
        }
    }

    /// Fills this tensor's own memory with `run(dtype, a, b, output)`, as `binaryResult` fills a
    /// new tensor, after the checks of `binaryInPlace(_:_:)`; `run` returns false after
    /// reporting an error. `computesInFloat32` computes a float16 or bfloat16 result in float32
    /// (see `halfPrecisionScalar`).
    func binaryInPlace(
        _ other: Tensor, promotesIntegersToFloat: Bool, computesInFloat32: Bool = false,
        run: (DType, Tensor, Tensor, Tensor) -> Bool
    ) -> Bool {
        guard checkInPlaceAllowed(), checkWritesEachElementOnce() else { return false }
        guard let shape = Tensor.broadcastShapes(shape, other.shape) else { return false }
        guard shape == self.shape else {
            reportError("output with shape \(Tensor.describe(self.shape)) doesn't match the broadcast shape \(Tensor.describe(shape))")
            return false
        }
        guard Tensor.checkSameDevice(self, other) else { return false }
        var computeType = resultType(promotionOperand, other.promotionOperand)
        if promotesIntegersToFloat && !computeType.isFloatingPoint { computeType = .defaultFloat }
        guard DType.canCast(from: computeType, to: dtype) else {
            reportError("result type \(computeType.legacyName) can't be cast to the desired output type \(dtype.legacyName)")
            return false
        }
        if computesInFloat32 { computeType = .float32 }
        var b = other.converted(to: computeType).broadcastView(to: shape)
        if b.storage === storage && (b.strides != strides || b.offset != offset) { b = b.clone() }
        if computeType == dtype {
            guard run(dtype, self, b, self) else { return false }
        } else {
            let result = converted(to: computeType)
            guard run(computeType, result, b, result) else { return false }
            copyElements(from: result)
        }
        version.bump()
        return true
    }

    /// Converts every element into this tensor's memory from `source` (same shape after
    /// broadcasting), casting as needed; no autograd, no version bump.
    func copyElements(from source: Tensor) {
        if let literal = source.floatLiteral {
            fillElements(.floating(literal))
            return
        }
        var source = source.broadcastView(to: shape)
        if source.storage === storage && (source.strides != strides || source.offset != offset) { source = source.cloneContiguous() }
        if source.device != device && source.device.kind == .cuda {
            // From a GPU: bring the values over, then convert and lay them out here.
            source = source.copied(to: device).broadcastView(to: shape)
        }
        Tensor.cast(source, into: self)
    }

    /// Writes one value into every element; no autograd, no version bump.
    func fillElements(_ value: ScalarValue) {
        if device.kind == .cuda {
            launchFill(value)
        } else {
            dtype.dispatch(FillKernel(value: value, output: self))
        }
    }

    /// Whether this tensor's last two dimensions are stored by columns (`x.t()`,
    /// `transpose(-1, -2)`), with elements enough for the tiled transposed copy.
    var isStoredByColumns: Bool { dim >= 2 && strides[dim - 2] == 1 && strides[dim - 1] > 1 && numel >= 4096 }

    /// This CPU operand as an elementwise op into a contiguous output reads it best: a
    /// contiguous copy where it is stored by columns, else itself. Element by element, such an
    /// operand is read a cache line per element, and a float op misses its vector kernel (whose
    /// last bits may differ from the scalar function's, so results depended on the layout).
    /// The tiled copy and the contiguous kernel take a fraction of that, on a transposed
    /// 1000×1000 float tensor: `relu` 390 → 122–133 µs, `exp` 1714–1963 → 306–338, `clamp`
    /// 451–465 → 122–126, `x.t() + y` 570 → 153–161 (PyTorch 60, 521, 59, 452: it gives the
    /// output the operand's layout instead, which pays where the op is cheaper than the copy).
    var readableByRows: Tensor { isStoredByColumns ? cloneContiguous() : self }

    /// A view with the last two dimensions swapped, outside autograd.
    func swappingLastTwoDimensions() -> Tensor { permuteView(Array(0..<dim - 2) + [dim - 1, dim - 2]) }

    /// A contiguous copy outside autograd.
    func cloneContiguous() -> Tensor {
        let copy = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        Tensor.cast(self, into: copy)
        return copy
    }

    /// `output = input` elementwise, converting dtypes, on the output's device.
    private static func cast(_ input: Tensor, into output: Tensor) {
        if output.device.kind == .cuda {
            launchCast(from: input, into: output)
        } else {
            input.dtype.dispatch(CastKernel(input: input, output: output))
        }
    }

    /// `output = Op(a, b)` for operands already of `dtype`, each broadcast to the output's shape
    /// or a 0-dim number beside a dense other one (on a GPU only `b`, which launches broadcast).
    private static func runBinary<Op: BinaryOp>(_ op: Op.Type, dtype: DType, a: Tensor, b: Tensor, output: Tensor) {
        if output.device.kind == .cuda {
            launchRegistered(Op.name, dtype: dtype, [output, a, b.broadcastView(to: output.shape)])
        } else if output.isContiguous, let (a, b) = transposedAlike(a, b, shape: output.shape) {
            // Both operands stored by columns: the op in their memory order, then one tiled copy
            // instead of one for each (`x.t() * y.t()` of 1000×1000 floats: 356–392 µs → 175–176).
            let result = Tensor(uninitializedShape: a.shape, dtype: output.dtype, device: .cpu)
            dtype.dispatch(BinaryKernel<Op>(a: a, b: b, output: result))
            cast(result.swappingLastTwoDimensions(), into: output)
        } else {
            let contiguous = output.isContiguous
            dtype.dispatch(BinaryKernel<Op>(a: contiguous ? a.readableByRows : a, b: contiguous ? b.readableByRows : b, output: output))
        }
    }

    /// The views of `a` and `b` with their last two dimensions swapped, when both are of
    /// `shape`, stored by columns, and contiguous once swapped; nil otherwise.
    private static func transposedAlike(_ a: Tensor, _ b: Tensor, shape: [Int]) -> (Tensor, Tensor)? {
        guard a.shape == shape, b.shape == shape, a.isStoredByColumns, b.isStoredByColumns else { return nil }
        let (a, b) = (a.swappingLastTwoDimensions(), b.swappingLastTwoDimensions())
        return a.isContiguous && b.isContiguous ? (a, b) : nil
    }

    /// This second operand of a CPU kernel, broadcast to `shape`: as it is when it is 0-dim and
    /// the first operand `a` is dense, since the kernels' number path reads its single element
    /// (stride-less), which saves a tensor per op (`x * 2`, `h .< 0`). GPU launches broadcast
    /// it themselves.
    func secondOperand(beside a: Tensor, shape: [Int]) -> Tensor {
        dim == 0 && a.isDense(shape) ? self : broadcastView(to: shape)
    }

    /// A copy converted to `dtype` outside autograd; `self` when it already has that dtype.
    func converted(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        if let literal = floatLiteral { return Tensor.full([], .floating(literal), dtype: dtype, device: device) }
        if isWrappedNumber && self.dtype == .int64 && device.kind == .cpu {
            // An integer literal (`x * 2`) is filled in as the number: through the cast kernel's
            // strided loop, `x * 2` on 10 floats took ~570 ns instead of ~525.
            return Tensor.full([], .integer(elementPointer(as: Int64.self).pointee), dtype: dtype)
        }
        let copy = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        Tensor.cast(self, into: copy)
        return copy
    }

    /// PyTorch's refusal to mix devices in one op.
    static func checkSameDevice(_ tensors: Tensor...) -> Bool { checkSameDevice(tensors) }

    /// PyTorch's refusal to mix devices, for the two operands of every binary op, without the
    /// variadic form's array when they agree.
    @inline(__always)
    static func checkSameDevice(_ a: Tensor, _ b: Tensor) -> Bool {
        a.device == b.device || checkSameDevice([a, b])
    }

    /// Where an op on these operands runs: on their device, which a 0-dim CPU tensor (a
    /// Swift number) adopts from the others.
    static func commonDevice(_ a: Tensor, _ b: Tensor) -> Device {
        a.dim == 0 && a.device == .cpu ? b.device : a.device
    }

    /// PyTorch's refusal to mix devices in one op; Swift numbers and 0-dim CPU tensors go
    /// anywhere, as in PyTorch's TensorIterator.
    static func checkSameDevice(_ tensors: [Tensor]) -> Bool {
        let placed = tensors.filter { !($0.dim == 0 && $0.device == .cpu) }
        guard let first = placed.first, let other = placed.first(where: { $0.device != first.device }) else { return true }
        let (a, b) = first.device.kind == .cuda ? (first.device, other.device) : (other.device, first.device)
        reportError("Expected all tensors to be on the same device, but found at least two devices, \(a) and \(b)!")
        return false
    }
}

extension DType {
    /// PyTorch's `can_cast`: no float into an integer, no number into bool.
    static func canCast(from: DType, to: DType) -> Bool {
        if from.isFloatingPoint && !to.isFloatingPoint { return false }
        if from != .bool && to == .bool { return false }
        return true
    }

    /// The name used in PyTorch's casting errors (`Float`, `Long`).
    var legacyName: String {
        switch self {
        case .float32: "Float"
        case .float64: "Double"
        case .float16: "Half"
        case .bfloat16: "BFloat16"
        case .int64: "Long"
        case .int32: "Int"
        case .int16: "Short"
        case .int8: "Char"
        case .uint8: "Byte"
        case .bool: "Bool"
        }
    }
}
