// Comparisons, logical ops, selection (`where`, `maskedFill`), `clamp` and `pow`.

internal import CEmberKernels

/// A comparison of two operands of one promoted dtype, giving bool.
protocol CompareOp {
    static var name: String { get }
    static var cuda: String { get }
    static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool
    /// The comparison's vectorized C kernels on float32 (CEmberKernels' EmberCompare.h).
    static var float32Comparison: ember_compare_op { get }
}

enum LessThan: CompareOp {
    static let name = "lt", cuda = "a < b"
    static let float32Comparison = EMBER_COMPARE_LESS
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool { T.lessThan(a, b) }
}
enum LessEqual: CompareOp {
    static let name = "le", cuda = "a <= b"
    static let float32Comparison = EMBER_COMPARE_LESS_EQUAL
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool { T.lessThan(a, b) || a == b }
}
enum GreaterThan: CompareOp {
    static let name = "gt", cuda = "a > b"
    static let float32Comparison = EMBER_COMPARE_GREATER
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool { T.lessThan(b, a) }
}
enum GreaterEqual: CompareOp {
    static let name = "ge", cuda = "a >= b"
    static let float32Comparison = EMBER_COMPARE_GREATER_EQUAL
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool { T.lessThan(b, a) || a == b }
}
enum Equal: CompareOp {
    static let name = "eq", cuda = "a == b"
    static let float32Comparison = EMBER_COMPARE_EQUAL
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool { a == b }
}
enum NotEqual: CompareOp {
    static let name = "ne", cuda = "a != b"
    static let float32Comparison = EMBER_COMPARE_NOT_EQUAL
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> Bool { a != b }
}

private struct CompareKernel<Op: CompareOp>: ElementVisitor {
    let a: Tensor, b: Tensor, output: Tensor
    struct Map<E: Element>: BinaryElementFunction {
        @inline(__always) func callAsFunction(_ a: E, _ b: E) -> Bool { Op.apply(a.compute, b.compute) }
    }
    func visit<E: Element>(_ type: E.Type) {
        if E.self == Float.self, runFloat32() { return }
        mapElements(into: output, a, b, Map<E>())
    }

    /// Runs the C kernel, split across cores, where the output and `a` are dense and `b` is
    /// dense or one number; false otherwise, for the Swift loop to run.
    private func runFloat32() -> Bool {
        guard output.isContiguous, a.isDense(output.shape) else { return false }
        let bIsNumber = b.isBroadcastNumber
        guard bIsNumber || b.isDense(output.shape) else { return false }
        let kernels = ember_compare_f32_kernels_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)), Op.float32Comparison)
        guard let kernel = bIsNumber ? kernels.number_second : kernels.dense else { return false }
        let x = a.elementPointer(as: Float.self), y = b.elementPointer(as: Float.self), o = output.elementPointer(as: UInt8.self)
        Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
            kernel(x + range.lowerBound, bIsNumber ? y : y + range.lowerBound, o + range.lowerBound, range.count)
        }
        return true
    }
}

/// Reads any dtype as truth values: nonzero is true.
private struct TruthKernel: ElementVisitor {
    let input: Tensor, output: Tensor
    struct Map<E: Element>: UnaryElementFunction {
        @inline(__always) func callAsFunction(_ x: E) -> Bool { x.compute != E.Compute.zero }
    }
    func visit<E: Element>(_ type: E.Type) { mapElements(into: output, input, Map<E>()) }
}

extension Tensor {
    func compare<Op: CompareOp>(_ op: Op.Type, _ other: Tensor) -> Tensor {
        guard Tensor.checkSameDevice(self, other),
            let shape = Tensor.broadcastShapes(shape, other.shape)
        else { return Tensor.zeros([], dtype: .bool) }
        let dtype = resultType(promotionOperand, other.promotionOperand)
        let device = Tensor.commonDevice(self, other)
        let output = Tensor(uninitializedShape: shape, dtype: .bool, device: device)
        let a = converted(to: dtype).broadcastView(to: shape)
        let b = other.converted(to: dtype).secondOperand(beside: a, shape: shape)
        if device.kind == .cuda {
            Tensor.launchRegistered(Op.name, dtype: dtype, [output, a, b.broadcastView(to: shape)])
        } else {
            dtype.dispatch(CompareKernel<Op>(a: a, b: b, output: output))
        }
        return output
    }

    /// Elementwise `<`, giving a bool tensor (`torch.lt`).
    public static func .< (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.compare(LessThan.self, rhs) }
    /// Elementwise `<=` (`torch.le`).
    public static func .<= (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.compare(LessEqual.self, rhs) }
    /// Elementwise `>` (`torch.gt`).
    public static func .> (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.compare(GreaterThan.self, rhs) }
    /// Elementwise `>=` (`torch.ge`).
    public static func .>= (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.compare(GreaterEqual.self, rhs) }
    /// Elementwise `==` (`torch.eq`); `==` itself compares tensor identity.
    public static func .== (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.compare(Equal.self, rhs) }
    /// Elementwise `!=` (`torch.ne`).
    public static func .!= (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.compare(NotEqual.self, rhs) }

    /// Elementwise `<` against a Swift number: `h .< 0`.
    public static func .< <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs .< lhs.wrappedOperand(ScalarValue(rhs)) }
    /// Elementwise `<=` against a Swift number.
    public static func .<= <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs .<= lhs.wrappedOperand(ScalarValue(rhs)) }
    /// Elementwise `>` against a Swift number.
    public static func .> <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs .> lhs.wrappedOperand(ScalarValue(rhs)) }
    /// Elementwise `>=` against a Swift number.
    public static func .>= <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs .>= lhs.wrappedOperand(ScalarValue(rhs)) }
    /// Elementwise `==` against a Swift number.
    public static func .== <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs .== lhs.wrappedOperand(ScalarValue(rhs)) }
    /// Elementwise `!=` against a Swift number.
    public static func .!= <S: TensorScalar>(lhs: Tensor, rhs: S) -> Tensor { lhs .!= lhs.wrappedOperand(ScalarValue(rhs)) }

    /// The elements as truth values: nonzero is true.
    func truthValues() -> Tensor {
        if dtype == .bool { return self }
        if device.kind == .cuda { return self .!= Tensor.full([], .integer(0), dtype: dtype) }
        let output = Tensor(uninitializedShape: shape, dtype: .bool, device: device)
        dtype.dispatch(TruthKernel(input: self, output: output))
        return output
    }

    /// Elementwise logical and of truth values, giving bool (`torch.logical_and`).
    public func logicalAnd(_ other: Tensor) -> Tensor {
        truthValues().converted(to: .bool).binaryResult(Mul.self, other.truthValues())
    }

    /// Elementwise logical or of truth values, giving bool (`torch.logical_or`).
    public func logicalOr(_ other: Tensor) -> Tensor {
        truthValues().binaryResult(Add.self, other.truthValues())
    }

    /// Elementwise logical exclusive or of truth values (`torch.logical_xor`).
    public func logicalXor(_ other: Tensor) -> Tensor { truthValues() .!= other.truthValues() }

    /// Elementwise logical not of truth values, giving bool (`torch.logical_not`).
    public func logicalNot() -> Tensor { truthValues() .== Tensor.wrapped(.boolean(false)) }

    /// Logical and of bool tensors, as SIMD masks spell it (`a & b` in PyTorch).
    public static func .& (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.logicalAnd(rhs) }
    /// Logical or of bool tensors (`a | b` in PyTorch).
    public static func .| (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.logicalOr(rhs) }
    /// Logical exclusive or of bool tensors (`a ^ b` in PyTorch).
    public static func .^ (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.logicalXor(rhs) }
    /// Logical not of a bool tensor (`~mask` in PyTorch).
    public static prefix func .! (operand: Tensor) -> Tensor { operand.logicalNot() }
}

// MARK: - Selection

private struct WhereKernel: ElementVisitor {
    let condition: Tensor, a: Tensor, b: Tensor, output: Tensor
    struct Map<E: Element>: TernaryElementFunction {
        @inline(__always) func callAsFunction(_ take: Bool, _ a: E, _ b: E) -> E { take ? a : b }
    }
    func visit<E: Element>(_ type: E.Type) {
        if output.device.kind == .cuda { return Tensor.launchWhere(output, condition, a, b) }
        if selectDense(E.self, condition: condition, a: a, b: b, output: output) { return }
        mapElements(into: output, condition, a, b, Map<E>())
    }
}

/// `output = condition ? a : b` through CEmberKernels' select kernels when the mask and output
/// are dense and each operand is dense or one broadcast element; false where the general loop
/// must run (other layouts, or the baseline level). Swift's loop for the x86-64 baseline
/// extracts the mask a byte at a time, ten times slower than the kernels' widening loads.
func selectDense<E: Element>(_ type: E.Type, condition: Tensor, a: Tensor, b: Tensor, output: Tensor) -> Bool {
    guard output.isContiguous, condition.isDense(output.shape) else { return false }
    let aIsScalar = !a.isDense(output.shape), bIsScalar = !b.isDense(output.shape)
    guard !aIsScalar || a.isBroadcastNumber, !bIsScalar || b.isBroadcastNumber,
        let select = ember_select_kernel_for(
            Int32(MemoryLayout<E>.stride), aIsScalar ? 1 : 0, bIsScalar ? 1 : 0,
            ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))
    else { return false }
    let mask = condition.elementPointer(as: UInt8.self), o = output.elementPointer(as: E.self)
    let x = a.elementPointer(as: E.self), y = b.elementPointer(as: E.self)
    Parallel.forRanges(count: output.numel, grain: Parallel.defaultGrain) { range in
        let start = range.lowerBound
        select(range.count, mask + start, aIsScalar ? x : x + start, bIsScalar ? y : y + start, o + start)
    }
    return true
}

extension Tensor {
    /// Elements of `a` where `condition` holds and of `b` elsewhere, broadcasting all three
    /// (`torch.where`).
    ///
    /// ```swift
    /// Tensor.where(x .> 0, x, Tensor.zerosLike(x))
    /// ```
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard condition.dtype == .bool else {
            reportError("where expected condition to be a boolean tensor, but got a tensor with dtype \(condition.dtype.legacyName)")
            return a
        }
        guard checkSameDevice(condition, a, b),
            let partial = broadcastShapes(condition.shape, a.shape), let shape = broadcastShapes(partial, b.shape)
        else { return a }
        let dtype = resultType(a.promotionOperand, b.promotionOperand)
        let device = [a, b, condition].first { !($0.dim == 0 && $0.device == .cpu) }?.device ?? .cpu
        let output = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        dtype.dispatch(
            WhereKernel(
                condition: condition.broadcastView(to: shape), a: a.converted(to: dtype).broadcastView(to: shape),
                b: b.converted(to: dtype).broadcastView(to: shape), output: output))
        if isRecording(a, b) {
            let mask = condition.detach()
            record("WhereBackward0", inputs: [condition, a, b], outputs: [output]) { gradients in
                let zero = Tensor.zerosLike(gradients[0])
                return [nil, Tensor.where(mask, gradients[0], zero), Tensor.where(mask, zero, gradients[0])]
            }
        }
        return output
    }

    /// `a` where `condition` holds, else the Swift number `b`.
    public static func `where`<S: TensorScalar>(_ condition: Tensor, _ a: Tensor, _ b: S) -> Tensor {
        Tensor.where(condition, a, Tensor.wrapped(ScalarValue(b)))
    }

    /// The Swift number `a` where `condition` holds, else `b`.
    public static func `where`<S: TensorScalar>(_ condition: Tensor, _ a: S, _ b: Tensor) -> Tensor {
        Tensor.where(condition, Tensor.wrapped(ScalarValue(a)), b)
    }

    /// The Swift number `a` where `condition` holds, else the Swift number `b`; the result's
    /// dtype is that of the numbers (float32 for floating ones, int64 for `Int`s).
    public static func `where`<S: TensorScalar>(_ condition: Tensor, _ a: S, _ b: S) -> Tensor {
        Tensor.where(condition, Tensor.wrapped(ScalarValue(a)), Tensor.wrapped(ScalarValue(b)))
    }

    /// A copy with `value` wherever `mask` (broadcast to this shape) is true (`masked_fill`).
    public func maskedFill<S: TensorScalar>(_ mask: Tensor, _ value: S) -> Tensor {
        maskedFill(mask, Tensor.wrapped(ScalarValue(value)))
    }

    /// A copy with the 0-dim `value` wherever `mask` is true (`masked_fill` with a tensor value).
    public func maskedFill(_ mask: Tensor, _ value: Tensor) -> Tensor {
        guard mask.dtype == .bool else {
            reportError("masked_fill_ only supports boolean masks, but got mask with dtype \(mask.dtype.cTypeName)")
            return self
        }
        guard value.dim == 0 else {
            reportError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with \(value.dim) dimension(s).")
            return self
        }
        guard Tensor.checkSameDevice(self, mask) else { return self }
        // The mask broadcasts to the tensor, so it is tensor "a" in PyTorch's size message.
        guard let shape = Tensor.broadcastShapes(mask.shape, shape) else { return self }
        guard shape == self.shape else {
            reportError("The expanded size of the mask (\(shape.count)) must match the existing size of the tensor")
            return self
        }
        let output = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        dtype.dispatch(
            WhereKernel(
                condition: mask.broadcastView(to: shape), a: value.converted(to: dtype).broadcastView(to: shape),
                b: self, output: output))
        if Tensor.isRecording(self, value) {
            let mask = mask.detach()
            Tensor.record("MaskedFillBackward0", inputs: [self, value], outputs: [output]) { gradients in
                [gradients[0].maskedFill(mask, 0), Tensor.where(mask, gradients[0], 0).sum()]
            }
        }
        return output
    }
}

// MARK: - clamp and pow

/// `a` raised to at least `b`: clamp's lower bound. A NaN `a` fails the comparison and passes
/// through, and the select lets loops vectorize.
enum ClampMin: BinaryOp {
    static let name = "clamp_min", cuda = "(a < b) ? b : a"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { T.lessThan(a, b) ? b : a }
}

/// `a` lowered to at most `b`: clamp's upper bound; NaN passes through.
enum ClampMax: BinaryOp {
    static let name = "clamp_max", cuda = "(b < a) ? b : a"
    @inline(__always) static func apply<T: ComputeScalar>(_ a: T, _ b: T) -> T { T.lessThan(b, a) ? b : a }
}

extension Tensor {
    /// Limits every element to `[min, max]`; NaN stays NaN (`torch.clamp`).
    ///
    /// ```swift
    /// let hRelu = h.clamp(min: 0)
    /// ```
    public func clamp(min: Double? = nil, max: Double? = nil) -> Tensor {
        guard min != nil || max != nil else {
            reportError("torch.clamp: At least one of 'min' or 'max' must not be None")
            return self
        }
        // The bounds as wrapped numbers, without making them tensors or arrays: each took about
        // a third of a 1K clamp's time (arrays: 458 -> 282 ns a call).
        let bound = { (value: Double) in PromotionOperand.scalar(ScalarValue(integralOrFloating: value).wrappedDType) }
        let dtype = resultType(promotionOperand, min.map(bound), max.map(bound))
        // Bounds that raise the dtype (an int tensor clamped to 0.5) convert first, in place after.
        let source = converted(to: dtype)
        let output = source === self ? uninitializedLike(dtype: dtype) : source
        Tensor.runClamp(source, into: output, lower: min, upper: max)
        if Tensor.isRecording(self) {
            let input = SavedTensor(input: self)
            Tensor.record("ClampBackward1", inputs: [self], outputs: [output]) { gradients in
                [Tensor.clampGradient(gradients[0], input: input.unpack(), min: min, max: max)]
            }
        }
        return output
    }

    /// Limits every element to `[min, max]`, the bounds tensors that broadcast against this one
    /// (`torch.clamp` with tensor bounds). The result has the three's promoted dtype; a NaN
    /// element or bound gives NaN, and where `min > max` the result is `max`.
    ///
    /// ```swift
    /// x.clamp(min: lower, max: upper)   // a bound per element
    /// ```
    public func clamp(min: Tensor, max: Tensor) -> Tensor {
        guard resultType(promotionOperand, min.promotionOperand, max.promotionOperand) != .bool else {
            reportError("\"clamp_cpu\" not implemented for 'Bool'")
            return self
        }
        let output = noGrad { maximum(min).minimum(max) }
        if Tensor.isRecording(self, min) || Tensor.isRecording(max) {
            let (input, lower, upper) = (SavedTensor(input: self), SavedTensor(input: min), SavedTensor(input: max))
            Tensor.record("ClampBackward0", inputs: [self, min, max], outputs: [output]) { gradients in
                // PyTorch's subgradient: an element equal to one bound shares the gradient with
                // it, equal to both it keeps it, and a lower bound above the upper one gives the
                // upper bound everything.
                let (x, l, h, g) = (input.unpack(), lower.unpack(), upper.unpack(), gradients[0])
                let half = g / 2
                let lowTie = (x .== l) .& (l .< h), highTie = (x .== h) .& (l .< x)
                let inside = ((l .< x) .& (x .< h)) .| ((x .== l) .& (x .== h))
                return [
                    Tensor.where(inside, g, Tensor.where(lowTie .| highTie, half, 0.0)),
                    Tensor.where((x .< l) .& (l .<= h), g, Tensor.where(lowTie, half, 0.0)),
                    Tensor.where((h .< l) .| ((l .<= h) .& (h .< x)), g, Tensor.where(highTie, half, 0.0)),
                ]
            }
        }
        return output
    }

    /// Raises every element to at least the matching element of `min`, broadcasting
    /// (`torch.clamp_min` with a tensor): `maximum`'s values and gradients, under clamp's name.
    public func clampMin(_ min: Tensor) -> Tensor { extremum(Maximum.self, min, name: "ClampMinBackward1", losing: .<) }

    /// Lowers every element to at most the matching element of `max`, broadcasting
    /// (`torch.clamp_max` with a tensor): `minimum` under clamp's name.
    public func clampMax(_ max: Tensor) -> Tensor { extremum(Minimum.self, max, name: "ClampMaxBackward1", losing: .>) }

    /// Limits every element to `[min, max]` in place (`clamp_`).
    @discardableResult
    public func clamp_(min: Double? = nil, max: Double? = nil) -> Tensor {
        let wasRecording = Tensor.isRecording(self)
        guard checkInPlaceAllowed(), checkWritesEachElementOnce() else { return self }
        let original = wasRecording ? noGrad { clone() } : nil
        Tensor.runClamp(self, into: self, lower: min, upper: max)
        version.bump()
        if let original {
            recordInPlace("ClampBackward1", inputs: [previousHistory()]) { gradients in
                [Tensor.clampGradient(gradients[0], input: original, min: min, max: max)]
            }
        }
        return self
    }

    /// `output = min(max(source, lower), upper)` of one dtype: on the CPU one pass, on a GPU one
    /// launch per bound.
    private static func runClamp(_ source: Tensor, into output: Tensor, lower: Double?, upper: Double?) {
        guard source.device.kind == .cuda else {
            let source = output === source ? source : source.readableByRows
            return source.dtype.dispatch(ClampKernel(source: source, output: output, lower: lower, upper: upper))
        }
        var input = source
        for (name, bound) in [(ClampMin.name, lower), (ClampMax.name, upper)] {
            guard let bound else { continue }
            let scalar = Tensor.full([], ScalarValue(integralOrFloating: bound), dtype: source.dtype)
            Tensor.launchRegistered(name, dtype: source.dtype, [output, input, scalar.broadcastView(to: source.shape)])
            input = output
        }
    }

    /// Whether a gradient selected by `operand` (relu's result, clamp's input) can take the
    /// one-pass CPU map: both on the CPU with one floating dtype and shape, and no graph wanted
    /// of the result, since the map records none (a double backward takes the composite).
    private static func fusesGradient(_ gradient: Tensor, with operand: Tensor) -> Bool {
        operand.device.kind == .cpu && gradient.device.kind == .cpu && operand.dtype == gradient.dtype
            && operand.dtype.isFloatingPoint && operand.shape == gradient.shape && !Tensor.isRecording(gradient, operand)
    }

    /// Relu's backward: `gradient` where `result` (relu's output) is positive or NaN, else 0;
    /// one pass on the CPU, as in ``clampGradient(_:input:min:max:)``.
    static func reluGradient(_ gradient: Tensor, result: Tensor) -> Tensor {
        guard fusesGradient(gradient, with: result) else { return gradient.maskedFill(result .<= 0, 0) }
        let output = Tensor(uninitializedShape: result.shape, dtype: result.dtype, device: .cpu)
        result.dtype.dispatchFloat(ReluGradientKernel(result: result, gradient: gradient, output: output))
        return output
    }

    /// Clamp's backward: `gradient` where `x` lies strictly inside the bounds, else 0. An element
    /// equal to a bound gets zero, the subgradient PyTorch picks (recorded in grads_extra.json).
    /// Elsewhere the gradient is selected away, not multiplied by 0, so an infinite gradient gives
    /// 0, not NaN. On the CPU this is one pass; a comparison per bound and a `where`, each a pass
    /// and a new tensor, took 4.7 µs of the seed's backward on 64×100 floats against ~1.
    fileprivate static func clampGradient(_ gradient: Tensor, input x: Tensor, min: Double?, max: Double?) -> Tensor {
        guard fusesGradient(gradient, with: x) else {
            let aboveMin = min.map { x .> $0 }, belowMax = max.map { x .< $0 }
            let passes = aboveMin.map { above in belowMax.map { above.logicalAnd($0) } ?? above } ?? belowMax!
            return Tensor.where(passes, gradient, 0.0)
        }
        let output = Tensor(uninitializedShape: x.shape, dtype: x.dtype, device: .cpu)
        x.dtype.dispatchFloat(ClampGradientKernel(input: x, gradient: gradient, output: output, lower: min, upper: max))
        return output
    }

    /// Raises every element to `exponent` (`torch.pow` with a scalar exponent).
    ///
    /// ```swift
    /// let loss = (yPred - y).pow(2).sum()
    /// ```
    public func pow(_ exponent: Double) -> Tensor { pow(scalar: .floating(exponent)) }

    /// Raises every element to an integer power (`t.pow(2)`), keeping integer dtypes.
    public func pow(_ exponent: Int) -> Tensor { pow(scalar: .integer(Int64(exponent))) }

    /// `self ** exponent` for a Swift number that promotes like a Python scalar: a `Double`
    /// exponent makes an integer tensor float32, as `t ** 2.0` does.
    private func pow(scalar exponentValue: ScalarValue) -> Tensor {
        let exponent = exponentValue.doubleValue
        let dtype = resultType(promotionOperand, .scalar(exponentValue.defaultDType))
        if !dtype.isFloatingPoint && exponent < 0 {
            reportError("Integers to negative integer powers are not allowed.")
            return self
        }
        let source = converted(to: dtype)
        let output: Tensor
        if device.kind == .cuda {
            output = noGrad { source.powOnDevice(exponent) }
        } else if dtype.isFloatingPoint && Swift.abs(exponent) == 0.5 {
            // The vector roots of `sqrt` and `rsqrt`, which give the loop's bits: `pow(0.5)` of a
            // million floats took 0.83 ms in the loop, 2.7× PyTorch's time, and takes `sqrt`'s 0.1.
            output = noGrad { exponent > 0 ? source.sqrt() : source.rsqrt() }
        } else {
            output = source === self ? uninitializedLike(dtype: dtype) : source
            if dtype.isFloatingPoint {
                dtype.dispatchFloat(FloatPowScalarKernel(source: source, output: output, exponent: exponent))
            } else {
                dtype.dispatch(PowScalarKernel(source: source, output: output, exponent: exponent))
            }
        }
        if Tensor.isRecording(self) {
            let input = SavedTensor(input: self)
            Tensor.record("PowBackward0", inputs: [self], outputs: [output]) { gradients in
                if exponent == 0 { return [Tensor.zerosLike(gradients[0])] }
                // PyTorch's order, grad · (p · x^(p-1)), so the rounding matches; x¹ is x.
                let x = input.unpack()
                return [gradients[0] * (exponent * (exponent == 2 ? x : x.pow(exponent - 1)))]
            }
        }
        return output
    }

    /// `self ** exponent` on a GPU from the generated kernels, with the CPU kernels' special
    /// cases (x·x for 2, x·x·x for 3, sqrt for 0.5, 1/sqrt for -0.5, 1/x for -1, 1/(x·x) for
    /// -2), which therefore give the same bits; other exponents use CUDA's `pow`.
    private func powOnDevice(_ exponent: Double) -> Tensor {
        switch exponent {
        case 1: return clone()
        case 2: return self * self
        case 3: return self * self * self
        case 0.5 where dtype.isFloatingPoint: return sqrt()
        case -0.5 where dtype.isFloatingPoint: return sqrt().reciprocal()
        case -1 where dtype.isFloatingPoint: return reciprocal()
        case -2 where dtype.isFloatingPoint: return (self * self).reciprocal()
        default: return binaryResult(Pow.self, Tensor.full([], ScalarValue(integralOrFloating: exponent), dtype: dtype))
        }
    }

    /// Raises every element to the matching element of `exponent`, broadcasting (`torch.pow`).
    /// Integer tensors to negative integer powers give what PyTorch gives (1 for a base of 1,
    /// ±1 for -1, else 0); only a negative Swift number as exponent is refused.
    public func pow(_ exponent: Tensor) -> Tensor {
        let output = binaryResult(Pow.self, exponent)
        if Tensor.isRecording(self, exponent) {
            let (base, power) = (SavedTensor(input: self), SavedTensor(input: exponent))
            let result = SavedTensor(output: output)
            Tensor.record("PowBackward1", inputs: [self, exponent], outputs: [output], savedOutputs: [result]) { gradients in
                let (x, p) = (base.unpack(), power.unpack())
                // Grouped as PyTorch's pow_backward_self and pow_backward_exponent, for its float32 bits.
                let gradBase = Tensor.where(p .== 0, 0.0, gradients[0] * (p * x.pow(p - 1)))
                // d/dp xᵖ = xᵖ·log x, taken as 0 where x = 0 and p ≥ 0, as PyTorch does.
                let gradPower = Tensor.where((x .== 0).logicalAnd(p .>= 0), 0.0, gradients[0] * (result.unpack() * x.log()))
                return [gradBase, gradPower]
            }
        }
        return output
    }

    /// A Swift number raised to each element of `exponent` (`torch.pow(2, t)`).
    public static func pow<S: TensorScalar>(_ base: S, _ exponent: Tensor) -> Tensor {
        let baseTensor = Tensor.wrapped(ScalarValue(base))
        let output = baseTensor.binaryResult(Pow.self, exponent)
        if isRecording(exponent) {
            let result = SavedTensor(output: output)
            let logBase = Foundation_log(base.doubleValue)
            record("PowBackward2", inputs: [exponent], outputs: [output], savedOutputs: [result]) { gradients in
                [gradients[0] * (result.unpack() * logBase)]
            }
        }
        return output
    }
}

private struct ClampKernel: ElementVisitor {
    let source: Tensor, output: Tensor, lower: Double?, upper: Double?
    func visit<E: Element>(_ type: E.Type) {
        // A missing bound is the type's extreme, so the loop has no branch on it.
        let low = lower.map { E(converting: $0).compute } ?? .lowest, high = upper.map { E(converting: $0).compute } ?? .highest
        if E.self == Float.self, clampFloat32(source, into: output, low: unsafeBitCast(low, to: Float.self), high: unsafeBitCast(high, to: Float.self)) {
            return
        }
        mapElements(into: output, source, Map<E>(low: low, high: high))
    }

    struct Map<E: Element>: UnaryElementFunction {
        let low: E.Compute, high: E.Compute
        @inline(__always) func callAsFunction(_ x: E) -> E {
            // The lower bound first, so that low > high gives high as in PyTorch.
            E(compute: ClampMax.apply(ClampMin.apply(x.compute, low), high))
        }
    }
}

/// `output = result <= 0 ? 0 : gradient`: relu's backward, NaN passing the gradient as in
/// PyTorch's `threshold_backward`.
private struct ReluGradientKernel: FloatElementVisitor {
    let result: Tensor, gradient: Tensor, output: Tensor
    func visit<E: Element>(_ type: E.Type) where E.Compute: FloatCompute {
        mapElements(into: output, result, gradient, Map<E>())
    }

    struct Map<E: Element>: BinaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ result: E, _ gradient: E) -> E {
            result.compute <= .zero ? E(compute: .zero) : gradient
        }
    }
}

/// `output = inside(input) ? gradient : 0`, inside meaning above `lower` and below `upper`
/// (each compared in the input's dtype, as `x > min` does), a missing bound passing everything.
/// A map per set of bounds: with a flag per bound, LLVM left the loop unvectorized (~3 cycles
/// an element).
private struct ClampGradientKernel: FloatElementVisitor {
    let input: Tensor, gradient: Tensor, output: Tensor, lower: Double?, upper: Double?
    func visit<E: Element>(_ type: E.Type) where E.Compute: FloatCompute {
        let bound = { (value: Double) in E(converting: value).compute }
        switch (lower.map(bound), upper.map(bound)) {
        case let (low?, high?): mapElements(into: output, input, gradient, Between<E>(low: low, high: high))
        case let (low?, nil): mapElements(into: output, input, gradient, Above<E>(low: low))
        case let (nil, high?): mapElements(into: output, input, gradient, Below<E>(high: high))
        case (nil, nil): preconditionFailure("clamp without bounds")
        }
    }

    struct Between<E: Element>: BinaryElementFunction {
        let low, high: E.Compute
        @inline(__always) func callAsFunction(_ x: E, _ gradient: E) -> E {
            E.Compute.lessThan(low, x.compute) && E.Compute.lessThan(x.compute, high) ? gradient : E(compute: .zero)
        }
    }

    struct Above<E: Element>: BinaryElementFunction {
        let low: E.Compute
        @inline(__always) func callAsFunction(_ x: E, _ gradient: E) -> E {
            E.Compute.lessThan(low, x.compute) ? gradient : E(compute: .zero)
        }
    }

    struct Below<E: Element>: BinaryElementFunction {
        let high: E.Compute
        @inline(__always) func callAsFunction(_ x: E, _ gradient: E) -> E {
            E.Compute.lessThan(x.compute, high) ? gradient : E(compute: .zero)
        }
    }
}

/// Runs clamp's C kernel over dense float32 tensors of one shape, split across cores; false
/// where it does not apply (other layouts, or no AVX2), for the Swift loop to run instead.
func clampFloat32(_ input: Tensor, into output: Tensor, low: Float, high: Float) -> Bool {
    guard input.isContiguous, output.isContiguous, input.shape == output.shape, let kernel = float32ClampKernel else { return false }
    let x = input.elementPointer(as: Float.self), y = output.elementPointer(as: Float.self)
    Parallel.forRanges(count: input.numel, grain: Parallel.defaultGrain) { range in
        kernel(x + range.lowerBound, y + range.lowerBound, range.count, low, high)
    }
    return true
}

private let float32ClampKernel = ember_clamp_f32_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

/// Integer and bool powers: x·x for 2, x·x·x for 3, else repeated squaring (PyTorch's `powi`).
private struct PowScalarKernel: ElementVisitor {
    let source: Tensor, output: Tensor, exponent: Double
    func visit<E: Element>(_ type: E.Type) {
        mapElements(into: output, source, Map<E>(exponent: exponent, p: E(converting: exponent).compute))
    }

    struct Map<E: Element>: UnaryElementFunction {
        let exponent: Double, p: E.Compute
        @inline(__always) func callAsFunction(_ x: E) -> E {
            switch exponent {
            case 2: E(compute: .multiply(x.compute, x.compute))
            case 3: E(compute: .multiply(.multiply(x.compute, x.compute), x.compute))
            default: E(compute: .power(x.compute, p))
            }
        }
    }
}

/// Floating powers with PyTorch's exact special cases: x·x for 2, x·x·x for 3, 1/x for -1 and
/// 1/(x·x) for -2, which round differently from `pow` (0.5 and -0.5 never get here: `pow`
/// runs `sqrt` and `rsqrt` for them, which keep the sign of -0.0). Half types compute in float
/// and round once.
private struct FloatPowScalarKernel: FloatElementVisitor {
    let source: Tensor, output: Tensor, exponent: Double
    /// PyTorch's special cases, each a loop of its own: with the choice inside the loop it did not
    /// vectorize, and `pow(3)` of a million floats took 4 times PyTorch's 0.2 ms. (One struct
    /// holding a closure instead took 8 times as long again: the closure was not inlined.)
    func visit<E: Element>(_ type: E.Type) where E.Compute: FloatCompute {
        switch exponent {
        case 1: mapElements(into: output, source, Identity<E>())
        case 2: mapElements(into: output, source, Square<E>())
        case 3: mapElements(into: output, source, Cube<E>())
        case -1: mapElements(into: output, source, Reciprocal<E>())
        case -2: mapElements(into: output, source, ReciprocalSquare<E>())
        default: mapElements(into: output, source, Power<E>(p: E.Compute(exponent)))
        }
    }

    struct Identity<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ x: E) -> E { x }
    }
    struct Square<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: x.compute * x.compute) }
    }
    struct Cube<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: x.compute * x.compute * x.compute) }
    }
    struct Reciprocal<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: 1 / x.compute) }
    }
    struct ReciprocalSquare<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: 1 / (x.compute * x.compute)) }
    }
    struct Power<E: Element>: UnaryElementFunction where E.Compute: FloatCompute {
        let p: E.Compute
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: .pow(x.compute, p)) }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func Foundation_log(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func Foundation_log(_ x: Double) -> Double { Darwin.log(x) }
#endif
