// Unary elementwise ops: each defined once, with its kernel, CUDA expression and derivative.

enum Exp: UnaryFloatOp {
    static let name = "exp", cuda = "exp(x)"
    static let vectorFunction: VectorMathFunction? = .exp
    static let saves: SavedOperands = .result
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { .exp(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { gradient * result! }
}

enum Log: UnaryFloatOp {
    static let name = "log", cuda = "log(x)"
    static let vectorFunction: VectorMathFunction? = .log
    static let saves: SavedOperands = .input
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { .log(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { gradient / input! }
}

enum Sqrt: UnaryFloatOp {
    static let name = "sqrt", cuda = "sqrt(x)"
    static let saves: SavedOperands = .result
    static let vectorFunction: VectorMathFunction? = .sqrt
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { x.squareRoot() }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { gradient / (2 * result!) }
}

enum Rsqrt: UnaryFloatOp {
    static let name = "rsqrt", cuda = "rsqrt(x)"
    static let vectorFunction: VectorMathFunction? = .rsqrt
    static let saves: SavedOperands = .result
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { 1 / x.squareRoot() }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { -0.5 * gradient * result!.pow(3) }
}

enum Reciprocal: UnaryFloatOp {
    static let name = "reciprocal", cuda = "1.0f / x"
    static let vectorFunction: VectorMathFunction? = .reciprocal
    static let saves: SavedOperands = .result
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { 1 / x }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { -gradient * (result! * result!) }
}

enum Sin: UnaryFloatOp {
    static let name = "sin", cuda = "sin(x)"
    static let vectorFunction: VectorMathFunction? = .sin
    static let saves: SavedOperands = .input
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { .sin(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { gradient * input!.cos() }
}

enum Cos: UnaryFloatOp {
    static let name = "cos", cuda = "cos(x)"
    static let vectorFunction: VectorMathFunction? = .cos
    static let saves: SavedOperands = .input
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { .cos(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { gradient * -input!.sin() }
}

enum Tanh: UnaryFloatOp {
    static let name = "tanh", cuda = "tanh(x)"
    static let vectorFunction: VectorMathFunction? = .tanh
    static let saves: SavedOperands = .result
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { .tanh(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor {
        gradient.tanhBackward(result!)
    }
}

/// `a · (1 − b²)`, tanh's derivative from its output `b`, as PyTorch's `tanh_backward` kernel
/// computes it: GCC contracts its `1 - b * b` into one fused multiply-add, so float32 gradients
/// have those bits only when 1 − b² is rounded once.
enum TanhBackward: BinaryOp {
    static let name = "tanh_backward", cuda = "a * ember_fma(-b, b, (decltype(b))1)"
    // Only floats reach it (tanh's gradient and output): no integer kernels to build.
    static let promotesIntegersToFloat = true
    static let arithmetic: ArithmeticFunction? = .tanhBackward
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .multiply(a, .multiplyAdd(.one, .negate(b), b)) }
}

enum Sigmoid: UnaryFloatOp {
    static let name = "sigmoid", cuda = "1.0f / (1.0f + exp(-x))"
    static let vectorFunction: VectorMathFunction? = .sigmoid
    static let saves: SavedOperands = .result
    @inline(__always) static func apply<T: FloatCompute>(_ x: T) -> T { 1 / (1 + .exp(-x)) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor {
        gradient.sigmoidBackward(result!)
    }
}

/// `a · (1 − b) · b`, sigmoid's derivative from its output `b`, in PyTorch's order
/// (`sigmoid_backward`), so that float32 gradients keep its bits; one pass, where three ops
/// took 2.4 times as long as PyTorch's kernel on a million floats.
enum SigmoidBackward: BinaryOp {
    static let name = "sigmoid_backward", cuda = "a * ((decltype(b))1 - b) * b"
    // Only floats reach it (sigmoid's gradient and output): no integer kernels to build.
    static let promotesIntegersToFloat = true
    static let arithmetic: ArithmeticFunction? = .sigmoidBackward
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { .multiply(.multiply(a, .subtract(.one, b)), b) }
}

enum Neg: UnaryNumericOp {
    static let name = "neg", cuda = "-x"
    static let saves: SavedOperands = []
    @inline(__always) static func apply<T: ComputeScalar>(_ x: T) -> T { .negate(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { -gradient }
}

enum Abs: UnaryNumericOp {
    static let name = "abs", cuda = "ember_abs(x)"
    static let boolError: String? = "\"abs_cpu\" not implemented for 'Bool'"
    static let saves: SavedOperands = .input
    @inline(__always) static func apply<T: ComputeScalar>(_ x: T) -> T { .absolute(x) }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { gradient * input!.sign() }
}

enum Sign: UnaryNumericOp {
    static let name = "sign", cuda = "(x > 0 ? 1 : (x < 0 ? -1 : 0))"
    static let saves: SavedOperands = []
    // PyTorch's `(0 < x) - (x < 0)`: NaN gives 0.
    @inline(__always) static func apply<T: ComputeScalar>(_ x: T) -> T {
        T.lessThan(.zero, x) ? .one : (T.lessThan(x, .zero) ? .negate(.one) : .zero)
    }
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor { Tensor.zerosLike(gradient) }
}

enum Relu: UnaryNumericOp {
    static let name = "relu", cuda = "(x < 0 ? 0 : x)"
    static let saves: SavedOperands = .result
    // Only negative values become 0: NaN and -0.0 pass through, as in PyTorch.
    @inline(__always) static func apply<T: ComputeScalar>(_ x: T) -> T { T.lessThan(x, .zero) ? .zero : x }
    static let float32Clamp: (low: Float, high: Float)? = (0, .infinity)
    static func derivative(_ gradient: Tensor, input: Tensor?, result: Tensor?) -> Tensor {
        Tensor.reluGradient(gradient, result: result!)
    }
}

extension Tensor {
    /// eˣ, elementwise (`torch.exp`); integer tensors give float32.
    public func exp() -> Tensor { unary(Exp.self) }
    /// The natural logarithm, elementwise (`torch.log`).
    public func log() -> Tensor { unary(Log.self) }
    /// The square root, elementwise (`torch.sqrt`).
    public func sqrt() -> Tensor { unary(Sqrt.self) }
    /// 1/√x, elementwise (`torch.rsqrt`).
    public func rsqrt() -> Tensor { unary(Rsqrt.self) }
    /// 1/x, elementwise (`torch.reciprocal`); integer tensors give float32.
    public func reciprocal() -> Tensor { unary(Reciprocal.self) }
    /// The sine, elementwise (`torch.sin`).
    public func sin() -> Tensor { unary(Sin.self) }
    /// The cosine, elementwise (`torch.cos`).
    public func cos() -> Tensor { unary(Cos.self) }
    /// The hyperbolic tangent, elementwise (`torch.tanh`).
    public func tanh() -> Tensor { unary(Tanh.self) }
    /// 1 / (1 + e⁻ˣ), elementwise (`torch.sigmoid`).
    public func sigmoid() -> Tensor { unary(Sigmoid.self) }
    /// |x|, elementwise, keeping the dtype (`torch.abs`).
    public func abs() -> Tensor { unary(Abs.self) }
    /// -1, 0 or 1 by the sign of each element, keeping the dtype (`torch.sign`).
    public func sign() -> Tensor { unary(Sign.self) }
    /// Swift.max(x, 0), elementwise (`torch.relu`).
    public func relu() -> Tensor {
        guard checkNotBool(Tensor.reluOfBool) else { return self }
        return unary(Relu.self)
    }

    /// The negation, elementwise (`-t`).
    public static prefix func - (tensor: Tensor) -> Tensor {
        guard tensor.checkNotBool(Tensor.negationOfBool) else { return tensor }
        return tensor.unary(Neg.self)
    }

    private static let reluOfBool = "Boolean inputs not supported for relu"
    private static let negationOfBool =
        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."

    /// Whether this tensor is not bool; reports `message` if it is. For ops that refuse bool
    /// before anything else, as PyTorch's `neg` and `relu` do.
    private func checkNotBool(_ message: String) -> Bool {
        guard dtype == .bool else { return true }
        reportError(message)
        return false
    }
}

extension Tensor {
    /// `self · (1 − output²)`: tanh's gradient from `output`, differentiable again
    /// (`TanhBackwardBackward0`, PyTorch's formulas).
    func tanhBackward(_ output: Tensor) -> Tensor {
        outputGradient(TanhBackward.self, output, recordedAs: "TanhBackwardBackward0") { gradient, y, outputGradient in
            [outputGradient.tanhBackward(y), outputGradient * (-2 * y * gradient)]
        }
    }

    /// `self · (1 − output) · output`: sigmoid's gradient from `output`, differentiable again
    /// (`SigmoidBackwardBackward0`, PyTorch's formulas).
    func sigmoidBackward(_ output: Tensor) -> Tensor {
        outputGradient(SigmoidBackward.self, output, recordedAs: "SigmoidBackwardBackward0") { gradient, y, outputGradient in
            [outputGradient.sigmoidBackward(y), outputGradient * gradient * (-2 * y + 1)]
        }
    }

    /// `Op` of this gradient and a function's `output`, recorded as `name`, whose `derivatives`
    /// map (this gradient, `output`, the incoming gradient) to those of this gradient and of
    /// `output`.
    private func outputGradient<Op: BinaryOp>(
        _ op: Op.Type, _ output: Tensor, recordedAs name: String, derivatives: @escaping (Tensor, Tensor, Tensor) -> [Tensor]
    ) -> Tensor {
        let result = binaryResult(Op.self, output)
        if Tensor.isRecording(self, output) {
            let (gradient, saved) = (SavedTensor(input: self), SavedTensor(input: output))
            Tensor.record(name, inputs: [self, output], outputs: [result]) { gradients in
                derivatives(gradient.unpack(), saved.unpack(), gradients[0])
            }
        }
        return result
    }
}

// MARK: - In place

/// Each op in place, as PyTorch's trailing underscore: the tensor is overwritten and returned, and
/// autograd records the same derivative as the op's. Float ops refuse integer tensors, whose
/// dtype cannot hold their result.
///
/// ```swift
/// let h = x.mm(w1).relu_()   // no second hidden-layer tensor
/// ```
extension Tensor {
    /// `exp()` in place (`exp_`).
    @discardableResult public func exp_() -> Tensor { unaryInPlace(Exp.self) }
    /// `log()` in place (`log_`).
    @discardableResult public func log_() -> Tensor { unaryInPlace(Log.self) }
    /// `sqrt()` in place (`sqrt_`).
    @discardableResult public func sqrt_() -> Tensor { unaryInPlace(Sqrt.self) }
    /// `rsqrt()` in place (`rsqrt_`).
    @discardableResult public func rsqrt_() -> Tensor { unaryInPlace(Rsqrt.self) }
    /// `reciprocal()` in place (`reciprocal_`).
    @discardableResult public func reciprocal_() -> Tensor { unaryInPlace(Reciprocal.self) }
    /// `sin()` in place (`sin_`).
    @discardableResult public func sin_() -> Tensor { unaryInPlace(Sin.self) }
    /// `cos()` in place (`cos_`).
    @discardableResult public func cos_() -> Tensor { unaryInPlace(Cos.self) }
    /// `tanh()` in place (`tanh_`).
    @discardableResult public func tanh_() -> Tensor { unaryInPlace(Tanh.self) }
    /// `sigmoid()` in place (`sigmoid_`).
    @discardableResult public func sigmoid_() -> Tensor { unaryInPlace(Sigmoid.self) }
    /// `abs()` in place (`abs_`).
    @discardableResult public func abs_() -> Tensor { unaryInPlace(Abs.self) }
    /// `sign()` in place (`sign_`).
    @discardableResult public func sign_() -> Tensor { unaryInPlace(Sign.self) }
    /// `relu()` in place (`relu_`).
    @discardableResult
    public func relu_() -> Tensor {
        guard checkNotBool(Tensor.reluOfBool) else { return self }
        return unaryInPlace(Relu.self)
    }

    /// The negation in place (`neg_`).
    @discardableResult
    public func neg_() -> Tensor {
        guard checkNotBool(Tensor.negationOfBool) else { return self }
        return unaryInPlace(Neg.self)
    }
}
