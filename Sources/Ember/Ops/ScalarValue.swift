/// A Swift number taking part in a tensor operation, with the category PyTorch gives a Python
/// scalar: floating point, integer or boolean.
enum ScalarValue: Sendable {
    case floating(Double)
    case integer(Int64)
    case boolean(Bool)

    init<S: TensorScalar>(_ value: S) {
        if S.dtype.isFloatingPoint {
            self = .floating(value.doubleValue)
        } else if S.dtype == .bool {
            self = .boolean(value.int64Value != 0)
        } else {
            self = .integer(value.int64Value)
        }
    }

    /// A `Double` argument that stands for a Python int when it is integral and for a Python
    /// float otherwise: the bounds of `clamp(min:max:)` and the `alpha` of `add`, which Swift
    /// spells as `Double`, so that `clamp(min: 0)` keeps an int64 tensor int64.
    init(integralOrFloating value: Double) {
        self = value.rounded() == value && Swift.abs(value) < 9e18 ? .integer(Int64(value)) : .floating(value)
    }

    /// The dtype a tensor made of this number alone gets (`torch.tensor(2.5)` is float32).
    var defaultDType: DType {
        switch self {
        case .floating: .defaultFloat
        case .integer: .int64
        case .boolean: .bool
        }
    }

    var doubleValue: Double {
        switch self {
        case .floating(let value): value
        case .integer(let value): Double(value)
        case .boolean(let value): value ? 1 : 0
        }
    }

    /// The value converted to a storage element, as `static_cast` would.
    func element<E: Element>(as type: E.Type) -> E {
        switch self {
        case .floating(let value): E(converting: value)
        case .integer(let value): E(converting: value)
        case .boolean(let value): E(converting: Int64(value ? 1 : 0))
        }
    }

    var isNaN: Bool { if case .floating(let value) = self { value.isNaN } else { false } }

    /// The dtype of this number wrapped as a 0-dim tensor: float64 for a floating number, as
    /// PyTorch keeps a Python float, else `defaultDType`.
    var wrappedDType: DType { if case .floating = self { .float64 } else { defaultDType } }
}

extension Tensor {
    /// A 0-dim tensor holding a Swift number, marked as a wrapped number so that type
    /// promotion treats it as PyTorch treats a Python scalar. A floating number is kept in
    /// double precision, as PyTorch keeps a Python float, and rounds once, to the dtype the
    /// operation computes in (`x * 0.1` on float64 multiplies by the double 0.1).
    static func wrapped(_ value: ScalarValue, device: Device = .cpu) -> Tensor {
        let tensor = Tensor.full([], value, dtype: value.wrappedDType, device: device)
        tensor.isWrappedNumber = true
        return tensor
    }

    /// `value` wrapped for an op between this tensor and it, already of the dtype the op
    /// computes in, so that the op need not convert it: `x * 0.5` on float32 makes one 0-dim
    /// float32 tensor, not a float64 one and then its float32 copy. Promotion reads only a
    /// wrapped number's category, which that dtype keeps or outranks without changing the
    /// result. A `Bool` stays bool, for subtraction's refusal of it, and a number beside
    /// float16 or bfloat16 stays as it is, as products and quotients read it in float32 there.
    func wrappedOperand(_ value: ScalarValue) -> Tensor {
        if case .boolean = value { return .wrapped(value) }
        let dtype = resultType(promotionOperand, .scalar(value.wrappedDType))
        if dtype == .float16 || dtype == .bfloat16 { return .wrapped(value) }
        let tensor = Tensor.full([], value, dtype: dtype)
        tensor.isWrappedNumber = true
        return tensor
    }

    /// This tensor as a participant in `torch.result_type`.
    var promotionOperand: PromotionOperand {
        isWrappedNumber ? .scalar(dtype) : .tensor(dtype, dims: dim)
    }
}
