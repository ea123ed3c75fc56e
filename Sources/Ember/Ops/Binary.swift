// Binary elementwise ops with broadcasting and PyTorch's type promotion: each defined once,
// with its kernel, CUDA expression and derivative, then exposed as methods and operators.

internal import CEmberKernels

enum Add: BinaryOp {
    static let name = "add", cuda = "a + b"
    static let arithmetic: ArithmeticFunction? = .add
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .add(a, b) }
}

enum Sub: BinaryOp {
    static let name = "sub", cuda = "a - b"
    static let arithmetic: ArithmeticFunction? = .subtract
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .subtract(a, b) }
}

enum Mul: BinaryOp {
    static let name = "mul", cuda = "a * b"
    static let arithmetic: ArithmeticFunction? = .multiply
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .multiply(a, b) }
}

enum Div: BinaryOp {
    static let name = "div", cuda = "a / b"
    static let promotesIntegersToFloat = true
    static let arithmetic: ArithmeticFunction? = .divide
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .divide(a, b) }
}

enum DivTrunc: BinaryOp {
    static let name = "div_trunc", cuda = "trunc(a / b)"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .truncatingDivide(a, b) }
}

enum DivFloor: BinaryOp {
    static let name = "div_floor", cuda = "floor(a / b)"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .flooringDivide(a, b) }
}

enum Pow: BinaryOp {
    static let name = "pow", cuda = "pow(a, b)"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .power(a, b) }
}

enum Maximum: BinaryOp {
    static let name = "maximum", cuda = "(a != a) ? a : ((b != b) ? b : ((a < b) ? b : a))"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .maximum(a, b) }
}

enum Minimum: BinaryOp {
    static let name = "minimum", cuda = "(a != a) ? a : ((b != b) ? b : ((b < a) ? b : a))"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .minimum(a, b) }
}

extension Tensor {
    /// `self + alpha * other`, broadcasting (`torch.add`), rounded once as PyTorch rounds it.
    ///
    /// ```swift
    /// Tensor([1.0, 2.0], shape: [2]).add(Tensor([0.5, -1.0], shape: [2]), alpha: 3)   // [2.5, -1.0]
    /// ```
    public func add(_ other: Tensor, alpha: Double = 1) -> Tensor {
        let output = alpha == 1 ? binaryResult(Add.self, other) : scaledSum(other, alpha: alpha)
        if Tensor.isRecording(self, other) {
            let needsOther = other.requiresGrad
            Tensor.record("AddBackward0", inputs: [self, other], outputs: [output]) { gradients in
                [gradients[0], alpha == 1 || !needsOther ? gradients[0] : gradients[0] * alpha]
            }
        }
        return output
    }

    /// `self - alpha * other`, broadcasting (`torch.sub`), rounded once as PyTorch rounds it.
    public func sub(_ other: Tensor, alpha: Double = 1) -> Tensor {
        guard Tensor.checkSubtractable(self, other) else { return self }
        let output = alpha == 1 ? binaryResult(Sub.self, other) : scaledSum(other, alpha: -alpha)
        if Tensor.isRecording(self, other) {
            // Only an input that needs it gets a gradient computed (`y` of `yPred - y` does not).
            let needsOther = other.requiresGrad
            Tensor.record("SubBackward0", inputs: [self, other], outputs: [output]) { gradients in
                [gradients[0], needsOther ? -gradients[0] * alpha : nil]
            }
        }
        return output
    }

    /// `self * other`, broadcasting (`torch.mul`).
    public func mul(_ other: Tensor) -> Tensor {
        let output = binaryResult(Mul.self, other)
        if Tensor.isRecording(self, other) {
            let savedSelf = other.requiresGrad ? SavedTensor(input: self) : nil
            let savedOther = requiresGrad ? SavedTensor(input: other) : nil
            Tensor.record("MulBackward0", inputs: [self, other], outputs: [output]) { gradients in
                [savedOther.map { gradients[0] * $0.unpack() }, savedSelf.map { gradients[0] * $0.unpack() }]
            }
        }
        return output
    }

    /// `self / other` with true division: integers give float32 (`torch.div`).
    public func div(_ other: Tensor) -> Tensor {
        // A number over a tensor, which Swift may spell with a literal tensor (`0.1 / x`), as
        // Python's `0.1 / x` computes it: the reciprocal times the number.
        if isWrappedNumber && !other.isWrappedNumber { return other.reciprocal() * self }
        let output = binaryResult(Div.self, other)
        if Tensor.isRecording(self, other) {
            let savedSelf = other.requiresGrad ? SavedTensor(input: self) : nil
            let savedOther = SavedTensor(input: other)
            Tensor.record("DivBackward0", inputs: [self, other], outputs: [output]) { gradients in
                let divisor = savedOther.unpack()
                // -g·((a / b) / b), in PyTorch's order (div_tensor_other_backward) for its float32 bits.
                return [gradients[0] / divisor, savedSelf.map { -gradients[0] * (($0.unpack() / divisor) / divisor) }]
            }
        }
        return output
    }

    /// `self / other` rounded toward zero or down, keeping integer dtypes (`torch.div` with
    /// `rounding_mode`); integer division by zero is an error, as in PyTorch.
    ///
    /// ```swift
    /// Tensor([7, -7], shape: [2]).div(Tensor([2, 2], shape: [2]), roundingMode: .floor)   // [3, -4]
    /// ```
    public func div(_ other: Tensor, roundingMode: RoundingMode) -> Tensor {
        let dtype = resultType(promotionOperand, other.promotionOperand)
        if !dtype.isFloatingPoint && (other.converted(to: dtype) .== Tensor.wrapped(.integer(0))).toArray(as: Bool.self).contains(true) {
            reportError("ZeroDivisionError")
            return self
        }
        let output = roundingMode == .trunc ? binaryResult(DivTrunc.self, other) : binaryResult(DivFloor.self, other)
        if Tensor.isRecording(self, other) {
            // Rounded quotients are piecewise constant: PyTorch gives both inputs zero gradient.
            Tensor.record("DivBackward2", inputs: [self, other], outputs: [output]) { gradients in
                [Tensor.zerosLike(gradients[0]), Tensor.zerosLike(gradients[0])]
            }
        }
        return output
    }

    /// The larger of each pair of elements, propagating NaN (`torch.maximum`).
    public func maximum(_ other: Tensor) -> Tensor { extremum(Maximum.self, other, name: "MaximumBackward0", losing: .<) }

    /// The smaller of each pair of elements, propagating NaN (`torch.minimum`).
    public func minimum(_ other: Tensor) -> Tensor { extremum(Minimum.self, other, name: "MinimumBackward0", losing: .>) }

    /// `Op`'s values with the gradient of the larger (or smaller) operand, ties shared evenly,
    /// recorded as `name`.
    func extremum<Op: BinaryOp>(_ op: Op.Type, _ other: Tensor, name: String, losing: @escaping (Tensor, Tensor) -> Tensor) -> Tensor {
        let output = binaryResult(Op.self, other)
        if Tensor.isRecording(self, other) {
            let (a, b) = (SavedTensor(input: self), SavedTensor(input: other))
            Tensor.record(name, inputs: [self, other], outputs: [output]) { gradients in
                let (x, y) = (a.unpack(), b.unpack())
                // Ties split the gradient evenly, as PyTorch does.
                let shared = Tensor.where(x .== y, gradients[0] / 2, gradients[0])
                return [shared.maskedFill(losing(x, y), 0), shared.maskedFill(losing(y, x), 0)]
            }
        }
        return output
    }
}

// MARK: - Operators

extension Tensor {
    /// Elementwise sum with broadcasting.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.add(rhs) }
    /// Elementwise difference with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.sub(rhs) }
    /// Elementwise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.mul(rhs) }
    /// Elementwise true division with broadcasting.
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.div(rhs) }

    /// Adds a Swift number, which promotes like a Python scalar (`t + 1` keeps float16).
    public static func + <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs.add(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// Subtracts a Swift number.
    public static func - <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs.sub(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// Multiplies by a Swift number.
    public static func * <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs.mul(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// Divides by a Swift number.
    public static func / <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs.div(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// A Swift number plus a tensor.
    public static func + <S: TensorScalar>(lhs: S, rhs: Tensor) -> Tensor { rhs.wrappedOperand(ScalarValue(lhs)).add(rhs) }
    /// A Swift number minus a tensor (PyTorch's `rsub`).
    public static func - <S: TensorScalar>(lhs: S, rhs: Tensor) -> Tensor { rhs.reverseSubtracted(from: ScalarValue(lhs)) }
    /// A Swift number times a tensor (`2.0 * t` keeps `t`'s float32).
    public static func * <S: TensorScalar>(lhs: S, rhs: Tensor) -> Tensor { rhs.wrappedOperand(ScalarValue(lhs)).mul(rhs) }
    /// A Swift number divided by a tensor, computed as PyTorch computes it: the reciprocal times
    /// the number (so the rounding, and the `MulBackward0` node, are PyTorch's).
    public static func / <S: TensorScalar>(lhs: S, rhs: Tensor) -> Tensor { rhs.reciprocal() * lhs }

    /// Adds in place, broadcasting `rhs` (works on `let` tensors: tensors are references).
    public static func += (lhs: Tensor, rhs: Tensor) { lhs.add_(rhs) }
    /// Subtracts in place.
    public static func -= (lhs: Tensor, rhs: Tensor) { lhs.sub_(rhs) }
    /// Multiplies in place.
    public static func *= (lhs: Tensor, rhs: Tensor) { lhs.mul_(rhs) }
    /// Divides in place.
    public static func /= (lhs: Tensor, rhs: Tensor) { lhs.div_(rhs) }
    /// Adds a Swift number in place.
    public static func += <S: TensorScalar>(lhs: Tensor, rhs: S) { lhs.add_(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// Subtracts a Swift number in place.
    public static func -= <S: TensorScalar>(lhs: Tensor, rhs: S) { lhs.sub_(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// Multiplies by a Swift number in place.
    public static func *= <S: TensorScalar>(lhs: Tensor, rhs: S) { lhs.mul_(lhs.wrappedOperand(ScalarValue(rhs))) }
    /// Divides by a Swift number in place.
    public static func /= <S: TensorScalar>(lhs: Tensor, rhs: S) { lhs.div_(lhs.wrappedOperand(ScalarValue(rhs))) }
}

// MARK: - Helpers

extension Tensor {
    /// `self + alpha·other`, broadcasting, for add and sub with `alpha` (sub passes −alpha, as
    /// PyTorch's does).
    fileprivate func scaledSum(_ other: Tensor, alpha: Double) -> Tensor {
        binaryResult(other, promotesIntegersToFloat: false) { dtype, a, b, output in
            Tensor.runScaledAdd(alpha: alpha, dtype: dtype, a: a, b: b, output: output)
        }
    }

    /// `self += alpha·other` in place, for add_ and sub_ with `alpha`.
    fileprivate func scaledSumInPlace(_ other: Tensor, alpha: Double) -> Bool {
        binaryInPlace(other, promotesIntegersToFloat: false) { dtype, a, b, output in
            Tensor.runScaledAdd(alpha: alpha, dtype: dtype, a: a, b: b, output: output)
        }
    }

    /// `output = a + alpha·b` for operands of `dtype` (`b` broadcast or a 0-dim number), each
    /// element one fused multiply-add as in PyTorch's add kernel, with alpha first converted to
    /// `dtype`; false after PyTorch's error when alpha does not suit `dtype`. A whole `alpha`
    /// counts as a Python int.
    fileprivate static func runScaledAdd(alpha: Double, dtype: DType, a: Tensor, b: Tensor, output: Tensor) -> Bool {
        let alpha = ScalarValue(integralOrFloating: alpha)
        if !dtype.isFloatingPoint, case .floating = alpha {
            reportError("For integral input tensors, argument alpha must not be a floating point number.")
            return false
        }
        if let type = dtype.overflowingTypeName(alpha) {
            reportError("value cannot be converted to type \(type) without overflow")
            return false
        }
        if output.device.kind == .cuda {
            launchScaledAdd(alpha: alpha, dtype: dtype, [output, a, b.broadcastView(to: output.shape)])
        } else {
            dtype.dispatch(ScaledAddKernel(a: a, b: b, output: output, alpha: alpha))
        }
        return true
    }

    /// `value - self`, recorded as PyTorch's `rsub` of a scalar (`RsubBackward1`).
    fileprivate func reverseSubtracted(from value: ScalarValue) -> Tensor {
        let scalar = Tensor.wrapped(value, device: device)
        guard Tensor.checkSubtractable(scalar, self) else { return self }
        let output = scalar.binaryResult(Sub.self, self)
        if Tensor.isRecording(self) {
            Tensor.record("RsubBackward1", inputs: [self], outputs: [output]) { gradients in [-gradients[0]] }
        }
        return output
    }

    /// PyTorch's refusal to subtract with bool operands (tensors or Swift `Bool`s).
    static func checkSubtractable(_ a: Tensor, _ b: Tensor) -> Bool {
        if a.dtype == .bool && b.dtype == .bool {
            reportError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead.")
            return false
        }
        if a.dtype == .bool || b.dtype == .bool {
            reportError(
                "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
            return false
        }
        return true
    }
}

/// `output = a + alpha·b` on the CPU, one fused multiply-add an element; the C kernel for dense
/// float32 operands.
private struct ScaledAddKernel: ElementVisitor {
    let a: Tensor, b: Tensor, output: Tensor, alpha: ScalarValue
    struct Map<E: Element>: BinaryElementFunction {
        let alpha: E.Compute
        @inline(__always) func callAsFunction(_ a: E, _ b: E) -> E { E(compute: .multiplyAdd(a.compute, b.compute, alpha)) }
    }
    func visit<E: Element>(_ type: E.Type) {
        let alpha = alpha.element(as: E.self)
        if E.self == Float.self, a.isDense(output.shape), b.isDense(output.shape), output.isContiguous,
            let kernel = ember_scaled_add_f32_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))
        {
            let x = a.elementPointer(as: Float.self), y = b.elementPointer(as: Float.self), o = output.elementPointer(as: Float.self)
            let factor = unsafeBitCast(alpha, to: Float.self)
            Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
                kernel(x + range.lowerBound, y + range.lowerBound, factor, o + range.lowerBound, range.count)
            }
            return
        }
        mapElements(into: output, a, b.broadcastView(to: output.shape), Map<E>(alpha: alpha.compute))
    }
}

extension DType {
    /// The C++ name PyTorch gives this dtype when `alpha` overflows it ("value cannot be
    /// converted to type int8_t without overflow"), or nil when it fits: integers must hold it
    /// (uint8 takes negatives down to −255, which wrap), floats must hold a finite one.
    fileprivate func overflowingTypeName(_ alpha: ScalarValue) -> String? {
        let value: Double = switch alpha {
        case .floating(let value): value
        case .integer(let value): Double(value)
        case .boolean: 0
        }
        let (name, fits): (String, Bool) = switch self {
        case .float64, .int64, .bool: ("", true)
        case .float32: ("float", !value.isFinite || Swift.abs(value) <= Double(Float.greatestFiniteMagnitude))
        case .float16: ("c10::Half", !value.isFinite || Swift.abs(value) <= 65504)
        case .bfloat16: ("c10::BFloat16", !value.isFinite || Swift.abs(value) <= 0x1.fep127)
        case .int32: ("int", Int32(exactly: value) != nil)
        case .int16: ("int16_t", Int16(exactly: value) != nil)
        case .int8: ("int8_t", Int8(exactly: value) != nil)
        case .uint8: ("uint8_t", Swift.abs(value) <= 255)
        }
        return fits ? nil : name
    }
}

/// How `div(_:roundingMode:)` rounds the quotient (PyTorch's `rounding_mode`).
public enum RoundingMode: Sendable {
    /// Toward zero, as C's integer division (`"trunc"`).
    case trunc
    /// Toward negative infinity, as Python's `//` (`"floor"`).
    case floor
}

// MARK: - In place

extension Tensor {
    /// `self += alpha * other` in place, broadcasting `other` (`add_`).
    @discardableResult
    public func add_(_ other: Tensor, alpha: Double = 1) -> Tensor {
        let wasRecording = Tensor.isRecording(self, other)
        guard alpha == 1 ? binaryInPlace(Add.self, other) : scaledSumInPlace(other, alpha: alpha) else { return self }
        if wasRecording {
            recordInPlace("AddBackward0", inputs: [self.previousHistory(), other]) { gradients in
                [gradients[0], alpha == 1 ? gradients[0] : gradients[0] * alpha]
            }
        }
        return self
    }

    /// `self -= alpha * other` in place (`sub_`).
    @discardableResult
    public func sub_(_ other: Tensor, alpha: Double = 1) -> Tensor {
        guard Tensor.checkSubtractable(self, other) else { return self }
        let wasRecording = Tensor.isRecording(self, other)
        guard alpha == 1 ? binaryInPlace(Sub.self, other) : scaledSumInPlace(other, alpha: -alpha) else { return self }
        if wasRecording {
            recordInPlace("SubBackward0", inputs: [self.previousHistory(), other]) { gradients in
                [gradients[0], -gradients[0] * alpha]
            }
        }
        return self
    }

    /// `self *= other` in place (`mul_`).
    @discardableResult
    public func mul_(_ other: Tensor) -> Tensor {
        let wasRecording = Tensor.isRecording(self, other)
        // With its history, for second derivatives.
        let original = wasRecording && other.requiresGrad ? self.clone() : nil
        guard binaryInPlace(Mul.self, other) else { return self }
        if wasRecording {
            let savedOther = SavedTensor(input: other)
            recordInPlace("MulBackward0", inputs: [self.previousHistory(), other]) { gradients in
                [gradients[0] * savedOther.unpack(), original.map { gradients[0] * $0 }]
            }
        }
        return self
    }

    /// `self /= other` in place (`div_`).
    @discardableResult
    public func div_(_ other: Tensor) -> Tensor {
        let wasRecording = Tensor.isRecording(self, other)
        // With its history, for second derivatives.
        let original = wasRecording && other.requiresGrad ? self.clone() : nil
        guard binaryInPlace(Div.self, other) else { return self }
        if wasRecording {
            let savedOther = SavedTensor(input: other)
            recordInPlace("DivBackward0", inputs: [self.previousHistory(), other]) { gradients in
                let divisor = savedOther.unpack()
                return [gradients[0] / divisor, original.map { -gradients[0] * (($0 / divisor) / divisor) }]
            }
        }
        return self
    }

    /// Multiplies in place by a Swift number.
    @discardableResult
    public func mul_<S: TensorScalar>(_ value: S) -> Tensor { mul_(wrappedOperand(ScalarValue(value))) }

    /// Divides in place by a Swift number.
    @discardableResult
    public func div_<S: TensorScalar>(_ value: S) -> Tensor { div_(wrappedOperand(ScalarValue(value))) }

    /// Adds a Swift number in place.
    @discardableResult
    public func add_<S: TensorScalar>(_ value: S, alpha: Double = 1) -> Tensor { add_(wrappedOperand(ScalarValue(value)), alpha: alpha) }

    /// Subtracts a Swift number in place.
    @discardableResult
    public func sub_<S: TensorScalar>(_ value: S, alpha: Double = 1) -> Tensor { sub_(wrappedOperand(ScalarValue(value)), alpha: alpha) }

    /// A stand-in for this tensor's history before an in-place change, for the new node's edge.
    func previousHistory() -> Tensor {
        let alias = alias()
        withAutogradLock {
            alias.storedGradFn = storedGradFn
            alias.outputNumber = outputNumber
            alias.leafRequiresGrad = leafRequiresGrad
        }
        return alias
    }
}
