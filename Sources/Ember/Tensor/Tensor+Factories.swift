// Factories: `torch.zeros`, `torch.arange`, `torch.randn` and friends, static on `Tensor`.

extension Tensor {
    /// A tensor of the given Swift values laid out row-major in `shape`; its dtype follows the
    /// element type (`Int` gives int64).
    ///
    /// ```swift
    /// let t = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
    /// ```
    public convenience init<S: TensorScalar>(_ scalars: [S], shape: [Int], device: Device = .cpu, requiresGrad: Bool = false) {
        let count = shape.reduce(1, *)
        let valid = shape.allSatisfy { $0 >= 0 } && count == scalars.count
        if !valid {
            reportError("shape '\(Tensor.describe(shape))' is invalid for input of size \(scalars.count)")
        }
        let shape = valid ? shape : [scalars.count]
        let device = device.checkAvailable() ? device : .cpu
        self.init(uninitializedShape: shape, dtype: S.dtype, device: device)
        if device.kind == .cuda {
            copyElements(from: Tensor(scalars, shape: shape))
        } else {
            S.dtype.dispatch(StoreScalars(scalars: scalars, target: self))
        }
        _ = requiringGradFromFactory(requiresGrad)
    }

    /// A 1-d tensor of the given Swift values.
    public convenience init<S: TensorScalar>(_ scalars: [S], device: Device = .cpu, requiresGrad: Bool = false) {
        self.init(scalars, shape: [scalars.count], device: device, requiresGrad: requiresGrad)
    }

    /// A 0-dim tensor holding one Swift value.
    public convenience init<S: TensorScalar>(_ scalar: S, device: Device = .cpu, requiresGrad: Bool = false) {
        self.init([scalar], shape: [], device: device, requiresGrad: requiresGrad)
    }

    /// An uninitialized tensor (`torch.empty`).
    public static func empty(_ shape: [Int], dtype: DType = .defaultFloat, device: Device = .cpu) -> Tensor {
        guard validate(shape), device.checkAvailable() else { return Tensor(uninitializedShape: [0], dtype: dtype) }
        return Tensor(uninitializedShape: shape, dtype: dtype, device: device)
    }

    /// A tensor filled with `value` (`torch.full`); without `dtype`, a floating-point value gives
    /// float32, an `Int` int64 and a `Bool` bool, as Python scalars do.
    ///
    /// ```swift
    /// Tensor.full([2, 3], 7)          // int64 sevens
    /// Tensor.full([2], 0.5)           // float32
    /// ```
    public static func full<S: TensorScalar>(
        _ shape: [Int], _ value: S, dtype: DType? = nil, device: Device = .cpu, requiresGrad: Bool = false
    ) -> Tensor {
        let value = ScalarValue(value)
        return full(shape, value, dtype: dtype ?? value.defaultDType, device: device).requiringGradFromFactory(requiresGrad)
    }

    static func full(_ shape: [Int], _ value: ScalarValue, dtype: DType, device: Device = .cpu) -> Tensor {
        let tensor = empty(shape, dtype: dtype, device: device)
        tensor.fillElements(value)
        return tensor
    }

    /// A tensor of zeros (`torch.zeros`).
    public static func zeros(_ shape: [Int], dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false) -> Tensor {
        full(shape, .integer(0), dtype: dtype, device: device).requiringGradFromFactory(requiresGrad)
    }

    /// A tensor of zeros (`torch.zeros(2, 3)`).
    public static func zeros(_ shape: Int..., dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false) -> Tensor {
        zeros(shape, dtype: dtype, device: device, requiresGrad: requiresGrad)
    }

    /// A tensor of ones (`torch.ones`).
    public static func ones(_ shape: [Int], dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false) -> Tensor {
        full(shape, .integer(1), dtype: dtype, device: device).requiringGradFromFactory(requiresGrad)
    }

    /// A tensor of ones (`torch.ones(2, 3)`).
    public static func ones(_ shape: Int..., dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false) -> Tensor {
        ones(shape, dtype: dtype, device: device, requiresGrad: requiresGrad)
    }

    /// Zeros with another tensor's shape, dtype and device.
    public static func zerosLike(_ other: Tensor, dtype: DType? = nil, requiresGrad: Bool = false) -> Tensor {
        zeros(other.shape, dtype: dtype ?? other.dtype, device: other.device, requiresGrad: requiresGrad)
    }

    /// Ones with another tensor's shape, dtype and device.
    public static func onesLike(_ other: Tensor, dtype: DType? = nil, requiresGrad: Bool = false) -> Tensor {
        ones(other.shape, dtype: dtype ?? other.dtype, device: other.device, requiresGrad: requiresGrad)
    }

    /// `value` with another tensor's shape, dtype and device.
    public static func fullLike<S: TensorScalar>(_ other: Tensor, _ value: S, dtype: DType? = nil, requiresGrad: Bool = false) -> Tensor {
        full(other.shape, ScalarValue(value), dtype: dtype ?? other.dtype, device: other.device).requiringGradFromFactory(requiresGrad)
    }

    /// The identity matrix, `n`×`m` (`torch.eye`).
    public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false) -> Tensor {
        let m = m ?? n
        guard n >= 0, m >= 0 else {
            reportError("n must be greater or equal to 0, got \(Swift.min(n, m))")
            return zeros([0], dtype: dtype)
        }
        let result = zeros([n, m], dtype: dtype, device: device)
        if n > 0 && m > 0 {
            Tensor(storage: result.storage, shape: [Swift.min(n, m)], strides: [m + 1], offset: 0, dtype: dtype).fillElements(.integer(1))
        }
        return result.requiringGradFromFactory(requiresGrad)
    }

    /// Values from `start` up to (not including) `end` by `step` (`torch.arange`); all-integer
    /// arguments give int64, otherwise float32.
    ///
    /// ```swift
    /// Tensor.arange(5)              // tensor([0, 1, 2, 3, 4])
    /// Tensor.arange(0, 1, 0.25)     // tensor([0.0000, 0.2500, 0.5000, 0.7500])
    /// ```
    public static func arange<S: TensorScalar>(
        _ start: S, _ end: S, _ step: S? = nil, dtype: DType? = nil, device: Device = .cpu, requiresGrad: Bool = false
    ) -> Tensor {
        let (start, end, step) = (start.doubleValue, end.doubleValue, step?.doubleValue ?? 1)
        let dtype = dtype ?? (S.dtype.isFloatingPoint ? .defaultFloat : .int64)
        guard step != 0 else {
            reportError("step must be nonzero")
            return zeros([0], dtype: dtype)
        }
        guard (step > 0 && end >= start) || (step < 0 && end <= start) else {
            reportError("upper bound and lower bound inconsistent with step sign")
            return zeros([0], dtype: dtype)
        }
        let count = Int(((end - start) / step).rounded(.up))
        let values = (0..<count).map { start + Double($0) * step }
        return Tensor(values, shape: [count], device: device).to(dtype).requiringGradFromFactory(requiresGrad)
    }

    /// `0..<end` (`torch.arange(end)`), int64 for an integer end.
    public static func arange<S: TensorScalar>(_ end: S, dtype: DType? = nil, device: Device = .cpu, requiresGrad: Bool = false) -> Tensor {
        arange(S(converting: Int64(0)), end, S(converting: Int64(1)), dtype: dtype, device: device, requiresGrad: requiresGrad)
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive (`torch.linspace`).
    public static func linspace(
        _ start: Double, _ end: Double, steps: Int, dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false
    ) -> Tensor {
        guard steps >= 0 else {
            reportError("number of steps must be non-negative")
            return zeros([0], dtype: dtype)
        }
        // PyTorch computes in the result's type (in double for integer types, from the bounds
        // converted to that type): the first half forward from start, the second half
        // backward from end, each value one fused multiply-add (its compiler contracts
        // `start + step * i`), except in half types, which round after every operation.
        let values: [Double]
        switch dtype {
        case .float32: values = Self.linspaceValues(Float(start), Float(end), steps: steps).map(Double.init)
        case .float16: values = Self.linspaceValues(start, end, steps: steps) { Half(Float($0)).doubleValue }
        case .bfloat16: values = Self.linspaceValues(start, end, steps: steps) { BFloat16(Float($0)).doubleValue }
        case _ where dtype.isFloatingPoint: values = Self.linspaceValues(start, end, steps: steps)
        default:
            values = Self.linspaceValues(Double(Int64(truncatingFloat: start)), Double(Int64(truncatingFloat: end)), steps: steps)
        }
        return Tensor(values, shape: [steps], device: device).to(dtype).requiringGradFromFactory(requiresGrad)
    }

    /// `linspace` in `T`'s precision with fused multiply-adds.
    private static func linspaceValues<T: BinaryFloatingPoint>(_ start: T, _ end: T, steps: Int) -> [T] {
        guard steps > 1 else { return Array(repeating: start, count: steps) }
        let step = (end - start) / T(steps - 1)
        let half = steps / 2
        return (0..<steps).map { i in i < half ? start.addingProduct(step, T(i)) : end.addingProduct(-step, T(steps - i - 1)) }
    }

    /// `linspace` with every operation rounded by `round` (to a half type).
    private static func linspaceValues(_ start: Double, _ end: Double, steps: Int, round: (Double) -> Double) -> [Double] {
        let (start, end) = (round(start), round(end))
        guard steps > 1 else { return Array(repeating: start, count: steps) }
        let step = round(round(end - start) / Double(steps - 1))
        let half = steps / 2
        return (0..<steps).map { i in
            i < half ? round(start + round(step * Double(i))) : round(end - round(step * Double(steps - i - 1)))
        }
    }

    /// Checks a requested shape: no negative sizes.
    static func validate(_ shape: [Int]) -> Bool {
        if let negative = shape.first(where: { $0 < 0 }) {
            reportError("Trying to create tensor with negative dimension \(negative): \(describe(shape))")
            return false
        }
        return true
    }
}

/// Copies Swift values into a new tensor's memory.
private struct StoreScalars<S: TensorScalar>: ElementVisitor {
    let scalars: [S]
    let target: Tensor

    func visit<E: Element>(_ type: E.Type) {
        let pointer = target.elementPointer(as: E.self)
        if let same = scalars as? [E] {
            same.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: Swift.min($0.count, target.numel)) }
        } else {
            for index in 0..<Swift.min(scalars.count, target.numel) { pointer[index] = E(converting: scalars[index].doubleValue) }
        }
    }
}

// MARK: - Literals

// A number literal becomes a 0-dim tensor marked as a wrapped number, as the Swift number it
// stands for would be: Swift picks these initializers over the operators' generic number
// overloads, so `half0Dim * 0.5` must promote as PyTorch's Python float does (to float16).

extension Tensor: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    /// A 0-dim int64 tensor: `let t: Tensor = 3`.
    public convenience init(integerLiteral value: Int) {
        self.init(uninitializedShape: [], dtype: .int64)
        elementPointer(as: Int64.self).pointee = Int64(value)
        isWrappedNumber = true
    }

    /// A 0-dim float32 tensor: `let t: Tensor = 0.5`.
    public convenience init(floatLiteral value: Double) {
        self.init(uninitializedShape: [], dtype: .float32)
        elementPointer(as: Float.self).pointee = Float(value)
        floatLiteral = value
        isWrappedNumber = true
    }

    /// A 0-dim bool tensor.
    public convenience init(booleanLiteral value: Bool) {
        self.init([value], shape: [])
        isWrappedNumber = true
    }

    /// A tensor from nested literals, stacked along a new first dimension with the promoted
    /// dtype, as `torch.tensor([[1, 2], [3, 4]])` does. Ragged nesting is refused in PyTorch's
    /// words (its dim counted from the list being built, which is the outermost one unless an
    /// inner list is itself ragged).
    public convenience init(arrayLiteral elements: Tensor...) {
        if let first = elements.first, let ragged = elements.first(where: { $0.dim == first.dim && $0.shape != first.shape }),
            let axis = first.shape.indices.first(where: { first.shape[$0] != ragged.shape[$0] })
        {
            reportError("expected sequence of length \(first.shape[axis]) at dim \(axis + 1) (got \(ragged.shape[axis]))")
            let placeholder = Tensor.zeros([0])
            self.init(storage: placeholder.storage, shape: [0], strides: [1], offset: 0, dtype: first.dtype)
            return
        }
        let stacked = elements.isEmpty ? Tensor.zeros([0]) : Tensor.stack(elements.map { $0 }, dim: 0)
        self.init(storage: stacked.storage, shape: stacked.shape, strides: stacked.strides, offset: stacked.offset, dtype: stacked.dtype)
    }
}
