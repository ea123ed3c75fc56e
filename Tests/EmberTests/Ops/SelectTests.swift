import CEmberKernels
import Testing

@testable import Ember

/// The bool-mask select kernels behind `where` and `masked_fill_`, called directly at every
/// instruction-set level this CPU runs, and through the ops on each element width.
@Suite struct SelectTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }

    @Test func baselineAndOddWidthsLeaveTheSwiftLoop() {
        #expect(ember_select_kernel_for(4, 0, 0, EMBER_CPU_BASELINE) == nil)
        #expect(ember_select_kernel_for(3, 0, 0, EMBER_CPU_AVX2_FMA) == nil)
        #expect(ember_select_kernel_for(16, 0, 0, EMBER_CPU_AVX2_FMA) == nil)
    }

    @Test(arguments: [1, 2, 4, 8])
    func everyVariantSelectsExactBits(width: Int) throws {
        switch width {
        case 1: try check(UInt8.self)
        case 2: try check(UInt16.self)
        case 4: try check(UInt32.self)
        default: try check(UInt64.self)
        }
    }

    /// Counts 0–70 at offsets 0–3 (unaligned, every vector tail), both operands dense or one
    /// broadcast element, into a fresh output and in place; nothing outside the range written.
    private func check<T: FixedWidthInteger>(_ type: T.Type) throws {
        let sentinel = T.max / 3
        for level in Self.levels {
            for (aIsScalar, bIsScalar) in [(false, false), (false, true), (true, false), (true, true)] {
                let select = try #require(ember_select_kernel_for(
                    Int32(MemoryLayout<T>.stride), aIsScalar ? 1 : 0, bIsScalar ? 1 : 0,
                    ember_cpu_level(rawValue: UInt32(level.rawValue))))
                for count in [0, 1, 7, 8, 15, 16, 17, 31, 33, 64, 70] {
                    for offset in 0..<4 {
                        let length = offset + count + 8
                        let mask = (0..<length).map { UInt8(($0 * 7 + offset) % 3 == 0 ? 1 : 0) }
                        let a = (0..<length).map { T(truncatingIfNeeded: $0 &* 40_503 &+ 1) }
                        let b = (0..<length).map { T(truncatingIfNeeded: $0 &* 9_973 &+ 2) }
                        let expected = (offset..<offset + count).map {
                            mask[$0] == 1 ? (aIsScalar ? a[0] : a[$0]) : (bIsScalar ? b[0] : b[$0])
                        }
                        var output = [T](repeating: sentinel, count: length)
                        var inPlace = b
                        mask.withUnsafeBufferPointer { m in
                            a.withUnsafeBufferPointer { a in
                                b.withUnsafeBufferPointer { b in
                                    let x = aIsScalar ? a.baseAddress! : a.baseAddress! + offset
                                    let y = bIsScalar ? b.baseAddress! : b.baseAddress! + offset
                                    output.withUnsafeMutableBufferPointer { o in
                                        select(count, m.baseAddress! + offset, x, y, o.baseAddress! + offset)
                                    }
                                    if !bIsScalar {
                                        inPlace.withUnsafeMutableBufferPointer { o in
                                            select(count, m.baseAddress! + offset, x, o.baseAddress! + offset, o.baseAddress! + offset)
                                        }
                                    }
                                }
                            }
                        }
                        let context = "\(T.self) at \(level), scalars \(aIsScalar)/\(bIsScalar), count \(count), offset \(offset)"
                        #expect(Array(output[offset..<offset + count]) == expected, "\(context)")
                        #expect((output[..<offset] + output[(offset + count)...]).allSatisfy { $0 == sentinel }, "\(context) wrote outside")
                        if !bIsScalar { #expect(Array(inPlace[offset..<offset + count]) == expected, "\(context) in place") }
                    }
                }
            }
        }
    }

    /// `where` and `masked_fill` on a dtype of each width, dense and broadcast, against Swift.
    @Test(arguments: [DType.bool, .float16, .float32, .int32, .float64, .int64])
    func opsOnEveryWidth(dtype: DType) {
        let count = 70_001  // more than one parallel chunk, with a tail
        let maskValues = (0..<count).map { $0 % 3 == 0 || $0 % 7 == 1 }
        let mask = Tensor(maskValues, shape: [count])
        let a = Tensor((0..<count).map { Double($0 % 50) }, shape: [count]).to(dtype)
        let b = Tensor((0..<count).map { Double($0 % 11) + 60 }, shape: [count]).to(dtype)
        let aValues = a.toArray(as: Double.self), bValues = b.toArray(as: Double.self)
        #expect(Tensor.where(mask, a, b).toArray(as: Double.self) == zip(maskValues, zip(aValues, bValues)).map { $0 ? $1.0 : $1.1 })
        let filled = b.maskedFill(mask, 1).toArray(as: Double.self)
        let one = Tensor(1.0).to(dtype).item(as: Double.self)
        #expect(filled == zip(maskValues, bValues).map { $0 ? one : $1 })
        let inPlace = b.clone()
        inPlace[mask] = 1
        #expect(inPlace.toArray(as: Double.self) == filled)
        // A strided view takes the general loop and must agree.
        let strided = Tensor.stack([b, b], dim: 1)[0..., 0]
        #expect(!strided.isContiguous)
        #expect(Tensor.where(mask, a, strided).toArray(as: Double.self) == Tensor.where(mask, a, b).toArray(as: Double.self))
    }
}
