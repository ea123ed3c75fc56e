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
}

extension Tensor {
    /// A 0-dim tensor holding a Swift number, marked as a wrapped number so that type
    /// promotion treats it as PyTorch treats a Python scalar.
    static func wrapped(_ value: ScalarValue, device: Device = .cpu) -> Tensor {
        let tensor = Tensor.full([], value, dtype: value.defaultDType, device: device)
        tensor.isWrappedNumber = true
        return tensor
    }

    /// This tensor as a participant in `torch.result_type`.
    var promotionOperand: PromotionOperand {
        isWrappedNumber ? .scalar(dtype) : .tensor(dtype, dims: dim)
    }
}
