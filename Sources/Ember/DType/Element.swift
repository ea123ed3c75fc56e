#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A type that CPU kernels compute in: `Float` for the 32-bit and half types, `Double`, the
/// integer types, and `Bool`. Integer arithmetic wraps, as it does in PyTorch.
protocol ComputeScalar: Equatable, Sendable {
    static var zero: Self { get }
    static var one: Self { get }
    /// The smallest and largest values, -∞ and +∞ for floating point.
    static var lowest: Self { get }
    static var highest: Self { get }
    static func add(_ a: Self, _ b: Self) -> Self
    static func subtract(_ a: Self, _ b: Self) -> Self
    static func multiply(_ a: Self, _ b: Self) -> Self
    /// `a + b·c`, rounded once for floating point (a fused multiply-add, as PyTorch's add with
    /// `alpha` computes it); integers wrap, and for bool it is `a || (b && c)`.
    static func multiplyAdd(_ a: Self, _ b: Self, _ c: Self) -> Self
    /// `-a`; for floats this flips the sign of zero too, as PyTorch's `neg` does.
    static func negate(_ a: Self) -> Self
    /// `|a|`; for floats the sign bit cleared (`fabs`), so -0 and a NaN come out positive, as
    /// PyTorch's `abs` gives them; integers wrap (`|Int.min|` is `Int.min`).
    static func absolute(_ a: Self) -> Self
    /// Division; integer division truncates (true division promotes before it gets here).
    static func divide(_ a: Self, _ b: Self) -> Self
    static func lessThan(_ a: Self, _ b: Self) -> Bool
    /// `a` unless `b` is larger, propagating NaN (`torch.maximum`): C++'s `std::max`, so of
    /// 0.0 and -0.0 the first wins.
    static func maximum(_ a: Self, _ b: Self) -> Self
    /// `a` unless `b` is smaller, propagating NaN (`torch.minimum`, `std::min`).
    static func minimum(_ a: Self, _ b: Self) -> Self
    /// The quotient rounded toward zero (`rounding_mode="trunc"`); integer division by zero is
    /// refused by the caller.
    static func truncatingDivide(_ a: Self, _ b: Self) -> Self
    /// The quotient rounded toward negative infinity (`rounding_mode="floor"`, Python's `//`).
    static func flooringDivide(_ a: Self, _ b: Self) -> Self
    /// `a` raised to `b`; a negative integer exponent gives what PyTorch's `powi` gives
    /// (1 for a base of 1, ±1 for -1, else 0).
    static func power(_ a: Self, _ b: Self) -> Self
    var isNaN: Bool { get }
}

/// The floating-point compute types, with the math that unary ops need.
protocol FloatCompute: ComputeScalar, BinaryFloatingPoint {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func sin(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    init(_ value: Double)
}

/// The integer compute types.
protocol IntegerCompute: ComputeScalar, FixedWidthInteger {}

extension ComputeScalar where Self: Numeric & Comparable {
    @inline(__always) static var one: Self { 1 }
    @inline(__always) static func lessThan(_ a: Self, _ b: Self) -> Bool { a < b }
}

extension FloatCompute {
    @inline(__always) static var zero: Self { 0 }
    @inline(__always) static var lowest: Self { -.infinity }
    @inline(__always) static var highest: Self { .infinity }
    @inline(__always) static func add(_ a: Self, _ b: Self) -> Self { a + b }
    @inline(__always) static func subtract(_ a: Self, _ b: Self) -> Self { a - b }
    @inline(__always) static func multiply(_ a: Self, _ b: Self) -> Self { a * b }
    @inline(__always) static func multiplyAdd(_ a: Self, _ b: Self, _ c: Self) -> Self { a.addingProduct(b, c) }
    @inline(__always) static func divide(_ a: Self, _ b: Self) -> Self { a / b }
    @inline(__always) static func negate(_ a: Self) -> Self { -a }
    @inline(__always) static func absolute(_ a: Self) -> Self { a.magnitude }
    @inline(__always) static func maximum(_ a: Self, _ b: Self) -> Self { a.isNaN ? a : (b.isNaN ? b : (a < b ? b : a)) }
    @inline(__always) static func minimum(_ a: Self, _ b: Self) -> Self { a.isNaN ? a : (b.isNaN ? b : (b < a ? b : a)) }
    @inline(__always) static func power(_ a: Self, _ b: Self) -> Self { .pow(a, b) }
    @inline(__always) static func truncatingDivide(_ a: Self, _ b: Self) -> Self { (a / b).rounded(.towardZero) }
    /// PyTorch's `div_floor_floating`: the quotient from `fmod`, so that `a - b·q` stays exact,
    /// rounded down, with division by zero giving the IEEE quotient and a zero keeping its sign.
    @inline(__always) static func flooringDivide(_ a: Self, _ b: Self) -> Self {
        if b == 0 { return a / b }
        let remainder = a.truncatingRemainder(dividingBy: b)
        var quotient = (a - remainder) / b
        if remainder != 0 && (b < 0) != (remainder < 0) { quotient -= 1 }
        guard quotient != 0 else { return Self(signOf: a / b, magnitudeOf: 0) }
        var floored = quotient.rounded(.down)
        if quotient - floored > 0.5 { floored += 1 }
        return floored
    }
}

extension IntegerCompute {
    @inline(__always) static var zero: Self { 0 }
    @inline(__always) static var lowest: Self { .min }
    @inline(__always) static var highest: Self { .max }
    @inline(__always) static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) static func subtract(_ a: Self, _ b: Self) -> Self { a &- b }
    @inline(__always) static func multiply(_ a: Self, _ b: Self) -> Self { a &* b }
    @inline(__always) static func multiplyAdd(_ a: Self, _ b: Self, _ c: Self) -> Self { a &+ b &* c }
    @inline(__always) static func negate(_ a: Self) -> Self { 0 &- a }
    @inline(__always) static func absolute(_ a: Self) -> Self { a < 0 ? 0 &- a : a }
    @inline(__always) static func divide(_ a: Self, _ b: Self) -> Self { b == 0 ? 0 : a.dividedReportingOverflow(by: b).partialValue }
    @inline(__always) static func maximum(_ a: Self, _ b: Self) -> Self { Swift.max(a, b) }
    @inline(__always) static func minimum(_ a: Self, _ b: Self) -> Self { Swift.min(a, b) }
    @inline(__always) static func truncatingDivide(_ a: Self, _ b: Self) -> Self { a.dividedReportingOverflow(by: b).partialValue }
    @inline(__always) static func flooringDivide(_ a: Self, _ b: Self) -> Self {
        let quotient = a.dividedReportingOverflow(by: b).partialValue
        // Truncation rounded up a negative quotient with a remainder: step down.
        let remainder = a.remainderReportingOverflow(dividingBy: b).partialValue
        return remainder != 0 && (a < 0) != (b < 0) ? quotient &- 1 : quotient
    }
    @inline(__always) static func power(_ a: Self, _ b: Self) -> Self {
        if b < 0 { return a == 1 ? 1 : (a == 0 &- 1 ? (b & 1 == 0 ? 1 : a) : 0) }
        var (result, base, exponent): (Self, Self, Self) = (1, a, b)
        while exponent > 0 {
            if exponent & 1 == 1 { result = result &* base }
            base = base &* base
            exponent >>= 1
        }
        return result
    }
    @inline(__always) var isNaN: Bool { false }
}

extension Float: FloatCompute {
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func sin(_ x: Float) -> Float { sinf(x) }
    @inline(__always) static func cos(_ x: Float) -> Float { cosf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}

extension Double: FloatCompute {
    @inline(__always) static func exp(_ x: Double) -> Double { Glibc_exp(x) }
    @inline(__always) static func log(_ x: Double) -> Double { Glibc_log(x) }
    @inline(__always) static func sin(_ x: Double) -> Double { Glibc_sin(x) }
    @inline(__always) static func cos(_ x: Double) -> Double { Glibc_cos(x) }
    @inline(__always) static func tanh(_ x: Double) -> Double { Glibc_tanh(x) }
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Glibc_pow(x, y) }
}

// The C library's double functions, named apart from the protocol requirements they implement.
@inline(__always) private func Glibc_exp(_ x: Double) -> Double { exp(x) }
@inline(__always) private func Glibc_log(_ x: Double) -> Double { log(x) }
@inline(__always) private func Glibc_sin(_ x: Double) -> Double { sin(x) }
@inline(__always) private func Glibc_cos(_ x: Double) -> Double { cos(x) }
@inline(__always) private func Glibc_tanh(_ x: Double) -> Double { tanh(x) }
@inline(__always) private func Glibc_pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }

extension Int64: IntegerCompute {}
extension Int32: IntegerCompute {}
extension Int16: IntegerCompute {}
extension Int8: IntegerCompute {}
extension UInt8: IntegerCompute {}

extension Bool: ComputeScalar {
    static var zero: Bool { false }
    static var one: Bool { true }
    static var lowest: Bool { false }
    static var highest: Bool { true }
    // PyTorch's bool arithmetic: + is "or", * is "and", - is refused before it gets here.
    static func add(_ a: Bool, _ b: Bool) -> Bool { a || b }
    static func subtract(_ a: Bool, _ b: Bool) -> Bool { a != b }
    static func multiply(_ a: Bool, _ b: Bool) -> Bool { a && b }
    static func multiplyAdd(_ a: Bool, _ b: Bool, _ c: Bool) -> Bool { a || (b && c) }
    static func negate(_ a: Bool) -> Bool { a }
    static func absolute(_ a: Bool) -> Bool { a }
    static func divide(_ a: Bool, _ b: Bool) -> Bool { a && b }
    static func truncatingDivide(_ a: Bool, _ b: Bool) -> Bool { a && b }
    static func flooringDivide(_ a: Bool, _ b: Bool) -> Bool { a && b }
    static func lessThan(_ a: Bool, _ b: Bool) -> Bool { !a && b }
    static func maximum(_ a: Bool, _ b: Bool) -> Bool { a || b }
    static func minimum(_ a: Bool, _ b: Bool) -> Bool { a && b }
    static func power(_ a: Bool, _ b: Bool) -> Bool { a || !b }
    var isNaN: Bool { false }
}

// MARK: - Scalars and storage elements

/// A Swift number that tensors are made from and read into: `Float`, `Double`, `Int`, `Int64`,
/// `Int32`, `Int16`, `Int8`, `UInt8`, `Bool`, `Half`, `BFloat16`.
///
/// ```swift
/// let t = Tensor([1, 2, 3] as [Int32], shape: [3])   // dtype int32
/// t.toArray(as: Double.self)                         // [1.0, 2.0, 3.0]
/// ```
public protocol TensorScalar: Sendable {
    /// The dtype of a tensor made of these values (`Int` makes `int64`, as Python ints do).
    static var dtype: DType { get }
    /// Converts as C++ `static_cast` does in PyTorch: floats truncate toward zero into integers.
    init(converting value: Double)
    /// Converts an integer, wrapping into narrower integer types.
    init(converting value: Int64)
    /// The value as a `Double`.
    var doubleValue: Double { get }
    /// The value as an `Int64`, truncated toward zero.
    var int64Value: Int64 { get }
}

extension TensorScalar where Self: BinaryFloatingPoint {
    /// Rounds to the nearest representable value.
    public init(converting value: Double) { self.init(value) }
    /// Rounds to the nearest representable value.
    public init(converting value: Int64) { self.init(Double(value)) }
    /// The exact value.
    public var doubleValue: Double { Double(self) }
    /// Truncated toward zero; NaN gives 0 and out-of-range values saturate.
    public var int64Value: Int64 { Int64(truncatingFloat: Double(self)) }
}

extension TensorScalar where Self: FixedWidthInteger {
    /// Truncates toward zero, then wraps into this type's range; narrow types go through a
    /// 32-bit conversion, as PyTorch's kernels do on x86.
    public init(converting value: Double) {
        self = Self.bitWidth == 64
            ? Self(truncatingIfNeeded: Int64(truncatingFloat: value)) : Self(truncatingIfNeeded: Int32(truncatingFloat: value))
    }
    /// Wraps into this type's range.
    public init(converting value: Int64) { self.init(truncatingIfNeeded: value) }
    /// The value as a `Double`.
    public var doubleValue: Double { Double(self) }
    /// The value, sign-extended.
    public var int64Value: Int64 { Int64(truncatingIfNeeded: self) }
}

extension Int64 {
    /// Truncates toward zero; NaN and out-of-range values give `Int64.min`, as x86's conversion
    /// instruction (and so PyTorch on x86) does where C++ leaves the result undefined.
    init(truncatingFloat value: Double) {
        self = value.isNaN || value >= 9.2233720368547758e18 || value < -9.2233720368547758e18 ? .min : Int64(value)
    }
}

extension Int32 {
    /// Truncates toward zero; NaN and out-of-range values give `Int32.min`, as on x86.
    init(truncatingFloat value: Double) {
        self = value.isNaN || value >= 2147483648 || value <= -2147483649 ? .min : Int32(value)
    }
}

extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Double: TensorScalar { public static var dtype: DType { .float64 } }
extension Int: TensorScalar { public static var dtype: DType { .int64 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int16: TensorScalar { public static var dtype: DType { .int16 } }
extension Int8: TensorScalar { public static var dtype: DType { .int8 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }

extension Bool: TensorScalar {
    /// `bool`.
    public static var dtype: DType { .bool }
    /// Nonzero is `true`.
    public init(converting value: Double) { self = value != 0 }
    /// Nonzero is `true`.
    public init(converting value: Int64) { self = value != 0 }
    /// 1 or 0.
    public var doubleValue: Double { self ? 1 : 0 }
    /// 1 or 0.
    public var int64Value: Int64 { self ? 1 : 0 }
}

extension Half: TensorScalar {
    /// `float16`.
    public static var dtype: DType { .float16 }
    /// Rounds to the nearest half.
    public init(converting value: Double) { self.init(Float(value)) }
    /// Rounds to the nearest half.
    public init(converting value: Int64) { self.init(Float(value)) }
    /// The exact value.
    public var doubleValue: Double { Double(floatValue) }
    /// Truncated toward zero.
    public var int64Value: Int64 { Int64(truncatingFloat: Double(floatValue)) }
}

extension BFloat16: TensorScalar {
    /// `bfloat16`.
    public static var dtype: DType { .bfloat16 }
    /// Rounds to the nearest bfloat16.
    public init(converting value: Double) { self.init(Float(value)) }
    /// Rounds to the nearest bfloat16.
    public init(converting value: Int64) { self.init(Float(value)) }
    /// The exact value.
    public var doubleValue: Double { Double(floatValue) }
    /// Truncated toward zero.
    public var int64Value: Int64 { Int64(truncatingFloat: Double(floatValue)) }
}

/// A type stored in tensor memory, with the type its kernels compute in.
protocol Element: TensorScalar, BitwiseCopyable {
    associatedtype Compute: ComputeScalar
    init(compute: Compute)
    var compute: Compute { get }
}

extension Element where Compute == Self {
    @inline(__always) init(compute: Self) { self = compute }
    @inline(__always) var compute: Self { self }
}

extension Float: Element {}
extension Double: Element {}
extension Int64: Element {}
extension Int32: Element {}
extension Int16: Element {}
extension Int8: Element {}
extension UInt8: Element {}
extension Bool: Element {}

extension Half: Element {
    @inline(__always) init(compute: Float) { self.init(compute) }
    @inline(__always) var compute: Float { floatValue }
}

extension BFloat16: Element {
    @inline(__always) init(compute: Float) { self.init(compute) }
    @inline(__always) var compute: Float { floatValue }
}

// MARK: - Dispatch on dtype

/// Work that is generic over the element type, run once per op after a switch on the dtype,
/// so that the loops inside are specialized and no element pays for dynamic dispatch.
protocol ElementVisitor {
    associatedtype Result
    func visit<E: Element>(_ type: E.Type) -> Result
}

/// Like `ElementVisitor`, for work defined on floating-point dtypes only.
protocol FloatElementVisitor {
    associatedtype Result
    func visit<E: Element>(_ type: E.Type) -> Result where E.Compute: FloatCompute
}

extension DType {
    @inline(__always)
    func dispatch<V: ElementVisitor>(_ visitor: V) -> V.Result {
        switch self {
        case .float32: visitor.visit(Float.self)
        case .float64: visitor.visit(Double.self)
        case .float16: visitor.visit(Half.self)
        case .bfloat16: visitor.visit(BFloat16.self)
        case .int64: visitor.visit(Int64.self)
        case .int32: visitor.visit(Int32.self)
        case .int16: visitor.visit(Int16.self)
        case .int8: visitor.visit(Int8.self)
        case .uint8: visitor.visit(UInt8.self)
        case .bool: visitor.visit(Bool.self)
        }
    }

    /// Dispatches a floating-point dtype; callers promote integer inputs first.
    @inline(__always)
    func dispatchFloat<V: FloatElementVisitor>(_ visitor: V) -> V.Result {
        switch self {
        case .float64: visitor.visit(Double.self)
        case .float16: visitor.visit(Half.self)
        case .bfloat16: visitor.visit(BFloat16.self)
        default: visitor.visit(Float.self)
        }
    }
}
