/// The element type of a tensor, with PyTorch's names and promotion rules.
///
/// ```swift
/// let t = Tensor.zeros(2, 3, dtype: .float64)
/// t.dtype            // .float64
/// DType.promote(.int32, .float16)   // .float16
/// ```
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, float16, bfloat16
    case int64, int32, int16, int8, uint8
    case bool

    /// The dtype that factories use when none is given (`torch.get_default_dtype()`).
    public static let defaultFloat: DType = .float32

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Whether the dtype is a floating-point type (`torch.is_floating_point`).
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: true
        default: false
        }
    }

    /// Whether the dtype is an integer type, `bool` excluded.
    public var isInteger: Bool {
        switch self {
        case .int64, .int32, .int16, .int8, .uint8: true
        default: false
        }
    }

    /// The name PyTorch prints after `dtype=` (without the `torch.` prefix).
    public var description: String { rawValue }

    /// The legacy tensor type name (`torch.FloatTensor`), used in autograd error messages.
    var legacyTypeName: String {
        switch self {
        case .float32: "FloatTensor"
        case .float64: "DoubleTensor"
        case .float16: "HalfTensor"
        case .bfloat16: "BFloat16Tensor"
        case .int64: "LongTensor"
        case .int32: "IntTensor"
        case .int16: "ShortTensor"
        case .int8: "CharTensor"
        case .uint8: "ByteTensor"
        case .bool: "BoolTensor"
        }
    }

    /// PyTorch's C++ name for the dtype (`Float`, `Long`), as its errors print it.
    var scalarTypeName: String { String(legacyTypeName.dropLast("Tensor".count)) }

    /// The category order PyTorch's `result_type` compares: bool < integer < floating point.
    var category: Int { self == .bool ? 0 : (isFloatingPoint ? 2 : 1) }
}

// MARK: - Promotion

extension DType {
    /// The smallest dtype both operands convert to without losing their category
    /// (`torch.promote_types`).
    public static func promote(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a == .bool { return b }
        if b == .bool { return a }
        if a.isFloatingPoint || b.isFloatingPoint {
            if !a.isFloatingPoint { return b }
            if !b.isFloatingPoint { return a }
            if a == .float64 || b == .float64 { return .float64 }
            return .float32  // float32 with a half type, or float16 with bfloat16
        }
        // Both integers.
        if a == .uint8 || b == .uint8 {
            let other = a == .uint8 ? b : a
            return other == .int8 ? .int16 : other
        }
        return a.itemSize >= b.itemSize ? a : b
    }
}

/// One participant of `torch.result_type`: a tensor with dimensions, a zero-dimensional tensor,
/// or a wrapped Swift number (a Python scalar in PyTorch).
enum PromotionOperand {
    case tensor(DType, dims: Int)
    case scalar(DType)
}

/// The result dtype of an operation over two or three operands (nil ones are absent), as
/// `torch.result_type` computes it: a 0-dim tensor or a scalar only raises the result's dtype
/// when it is of a higher category. No array: every op asks, and one cost a third of a 1K clamp.
func resultType(_ a: PromotionOperand, _ b: PromotionOperand?, _ c: PromotionOperand? = nil) -> DType {
    var promotion = Promotion()
    promotion.add(a)
    if let b { promotion.add(b) }
    if let c { promotion.add(c) }
    return promotion.result
}

/// `torch.result_type`'s running state: the promoted dtype of each category of operand.
private struct Promotion {
    var dimResult: DType?, zeroDimResult: DType?, wrappedResult: DType?

    mutating func add(_ operand: PromotionOperand) {
        func merge(_ slot: inout DType?, _ dtype: DType) { slot = slot.map { DType.promote($0, dtype) } ?? dtype }
        switch operand {
        case .tensor(let dtype, let dims) where dims > 0: merge(&dimResult, dtype)
        case .tensor(let dtype, _): merge(&zeroDimResult, dtype)
        case .scalar(let dtype):
            // A Python float stands for the default dtype, a Python int for int64.
            merge(&wrappedResult, dtype.isFloatingPoint ? .defaultFloat : (dtype == .bool ? .bool : .int64))
        }
    }

    var result: DType {
        func combine(_ higher: DType?, _ lower: DType?) -> DType? {
            guard let higher else { return lower }
            guard let lower else { return higher }
            if higher.isFloatingPoint { return higher }
            if higher == .bool || lower.isFloatingPoint { return DType.promote(higher, lower) }
            return higher
        }
        return combine(dimResult, combine(zeroDimResult, wrappedResult)) ?? .defaultFloat
    }
}
