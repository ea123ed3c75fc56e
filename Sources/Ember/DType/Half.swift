/// IEEE 754 half precision, stored as its bits so that it builds on every platform
/// (Swift's `Float16` is missing on Intel Macs). Arithmetic happens in `Float`.
public struct Half: Sendable, Equatable {
    /// The raw IEEE 754 binary16 bits.
    public var bitPattern: UInt16

    /// Wraps raw bits.
    @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds a `Float` to the nearest half, ties to even, as PyTorch's `c10::Half` does.
    @inlinable public init(_ value: Float) {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {  // inf or nan
            bitPattern = sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0)
            return
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F {
            bitPattern = sign | 0x7C00
            return
        }
        if halfExponent <= 0 {
            if halfExponent < -10 {
                bitPattern = sign
                return
            }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
            bitPattern = sign | UInt16(half)
            return
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) { half += 1 }  // may carry into inf
        bitPattern = sign | UInt16(half)
    }

    /// The exact `Float` value.
    @inlinable public var floatValue: Float {
        let sign = UInt32(bitPattern & 0x8000) << 16
        let exponent = UInt32(bitPattern >> 10) & 0x1F
        var mantissa = UInt32(bitPattern & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            var e: UInt32 = 127 - 15 + 1
            while mantissa & 0x400 == 0 {
                mantissa <<= 1
                e -= 1
            }
            return Float(bitPattern: sign | (e << 23) | ((mantissa & 0x3FF) << 13))
        }
        return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
    }
}

/// Google's brain floating point: the top 16 bits of a `Float`, rounded to nearest even.
public struct BFloat16: Sendable, Equatable {
    /// The raw bits: a `Float`'s sign, exponent and top 7 mantissa bits.
    public var bitPattern: UInt16

    /// Wraps raw bits.
    @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds a `Float` to the nearest bfloat16, ties to even; NaN stays NaN.
    @inlinable public init(_ value: Float) {
        if value.isNaN {
            bitPattern = 0x7FC0
            return
        }
        let bits = value.bitPattern
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        bitPattern = UInt16((bits &+ rounding) >> 16)
    }

    /// The exact `Float` value.
    @inlinable public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
}
