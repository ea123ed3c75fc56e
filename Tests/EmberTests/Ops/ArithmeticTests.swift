import CEmberKernels
import Testing

@testable import Ember

/// The float32 add, subtract, multiply and divide kernels, and those of tanh's and sigmoid's
/// gradients, at every instruction-set level this CPU runs, against the Swift loop's bits for each operand layout (both dense, a number second,
/// a number first): NaN, ±0, ±inf and subnormals, every vector tail, into another array and in
/// place through either operand; nothing written past the end; and through the ops. Likewise
/// the scaled add of `add`/`sub` with `alpha` against Swift's fused multiply-add.
@Suite struct ArithmeticTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }
    static let functions: [(ArithmeticFunction, @Sendable (Float, Float) -> Float)] = [
        (.add, { $0 + $1 }), (.subtract, { $0 - $1 }), (.multiply, { $0 * $1 }), (.divide, { $0 / $1 }),
        (.tanhBackward, { $0 * Float(1).addingProduct(-$1, $1) }), (.sigmoidBackward, { $0 * (1 - $1) * $1 }),
    ]
    static let specials: [Float] = [
        .nan, 0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
        0.1, -0.3, 3, 1e-38, -7.5, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude / 3,
    ]

    /// Equal bits, or both NaN: a NaN's payload depends on which operand the compiler reads first.
    static func same(_ x: [Float], _ y: [Float]) -> Bool {
        x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    @Test func baselineKeepsTheSwiftLoop() {
        for (function, _) in Self.functions { #expect(function.float32Kernels(at: .baseline) == nil) }
    }

    @Test func everyLevelGivesTheSwiftLoopsBits() throws {
        for level in Self.levels {
            for (function, swift) in Self.functions {
                let kernels = try #require(function.float32Kernels(at: level))
                for count in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 131] {
                    let a = (0..<count).map { Self.specials[($0 * 5) % Self.specials.count] }
                    let b = (0..<count).map { Self.specials[($0 * 7 + 3) % Self.specials.count] }
                    for number in [Float(2), -0.0, .nan, .infinity, .leastNormalMagnitude / 8] {
                        let layouts: [(String, ArithmeticFunction.Float32Kernel, [Float], [Float], [Float])] = [
                            ("dense", kernels.dense, a, b, zip(a, b).map(swift)),
                            ("number second", kernels.numberSecond, a, [number], a.map { swift($0, number) }),
                            ("number first", kernels.numberFirst, [number], b, b.map { swift(number, $0) }),
                        ]
                        for (layout, kernel, x, y, expected) in layouts {
                            let context = "\(function) \(layout) at \(level), count \(count), number \(number)"
                            var output = [Float](repeating: 42, count: count + 16)
                            x.withUnsafeBufferPointer { x in
                                y.withUnsafeBufferPointer { y in
                                    output.withUnsafeMutableBufferPointer { o in kernel(x.baseAddress, y.baseAddress, o.baseAddress, count) }
                                }
                            }
                            #expect(Self.same(Array(output[..<count]), expected), "\(context)")
                            #expect(output[count...].allSatisfy { $0 == 42 }, "\(context) wrote past the end")
                            // In place through whichever operand is dense (both, for dense).
                            if x.count == count {
                                var inPlace = x
                                y.withUnsafeBufferPointer { y in
                                    inPlace.withUnsafeMutableBufferPointer { o in kernel(o.baseAddress, y.baseAddress, o.baseAddress, count) }
                                }
                                #expect(Self.same(inPlace, expected), "\(context) in place of a")
                            }
                            if y.count == count {
                                var inPlace = y
                                x.withUnsafeBufferPointer { x in
                                    inPlace.withUnsafeMutableBufferPointer { o in kernel(x.baseAddress, o.baseAddress, o.baseAddress, count) }
                                }
                                #expect(Self.same(inPlace, expected), "\(context) in place of b")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func theOpsRunItOnDenseFloat32() {
        let values = (0..<1000).map { Self.specials[$0 % Self.specials.count] }
        let others = (0..<1000).map { Self.specials[($0 * 3 + 1) % Self.specials.count] }
        let x = Tensor(values, shape: [1000]), y = Tensor(others, shape: [1000])
        #expect(Self.same((x + y).toArray(as: Float.self), zip(values, others).map { $0 + $1 }))
        #expect(Self.same((x - y).toArray(as: Float.self), zip(values, others).map { $0 - $1 }))
        #expect(Self.same((x * 1e-6).toArray(as: Float.self), values.map { $0 * Float(1e-6) }))
        #expect(Self.same((1e-6 * y).toArray(as: Float.self), others.map { Float(1e-6) * $0 }))
        #expect(Self.same((1 / y).toArray(as: Float.self), others.map { 1 / $0 }))
        #expect(Self.same((x / y).toArray(as: Float.self), zip(values, others).map { $0 / $1 }))
        let inPlace = x.clone()
        inPlace -= y
        #expect(Self.same(inPlace.toArray(as: Float.self), zip(values, others).map { $0 - $1 }))
        inPlace.mul_(2)
        #expect(Self.same(inPlace.toArray(as: Float.self), zip(values, others).map { ($0 - $1) * 2 }))
        // A transposed view (the Swift loop) agrees.
        let matrix = x.view(40, 25).t(), other = y.view(40, 25).t()
        #expect(Self.same((matrix + other).contiguous().toArray(as: Float.self), zip(matrix.contiguous().toArray(as: Float.self), other.contiguous().toArray(as: Float.self)).map { $0 + $1 }))
    }

    /// Broadcast operands whose rows are dense or one number run the kernels row by row: a
    /// column and a row (each row a number first), a bias row (dense rows), a column second, a
    /// 3-d batch against one matrix, and in place; each element is its own operation's.
    @Test func broadcastRowsRunTheKernelsRowByRow() {
        let (rows, columns) = (37, 45)
        let grid = (0..<rows * columns).map { Self.specials[($0 * 5) % Self.specials.count] * Float($0 % 9 + 1) }
        let columnValues = (0..<rows).map { Self.specials[($0 * 3 + 1) % Self.specials.count] }
        let rowValues = (0..<columns).map { Float($0) * 0.37 - 4 }
        let x = Tensor(grid, shape: [rows, columns])
        let column = Tensor(columnValues, shape: [rows, 1]), row = Tensor(rowValues, shape: [1, columns])
        func expected(_ f: (Float, Float) -> Float, _ first: (Int, Int) -> Float, _ second: (Int, Int) -> Float) -> [Float] {
            (0..<rows * columns).map { f(first($0 / columns, $0 % columns), second($0 / columns, $0 % columns)) }
        }
        let cell = { (i: Int, j: Int) in grid[i * columns + j] }, columnCell = { (i: Int, _: Int) in columnValues[i] }
        let rowCell = { (_: Int, j: Int) in rowValues[j] }
        #expect(Self.same((column + row).toArray(as: Float.self), expected(+, columnCell, rowCell)))
        #expect(Self.same((column - row).toArray(as: Float.self), expected(-, columnCell, rowCell)))
        #expect(Self.same((x / row).toArray(as: Float.self), expected(/, cell, rowCell)))
        #expect(Self.same((row * x).toArray(as: Float.self), expected(*, rowCell, cell)))
        #expect(Self.same((x - column).toArray(as: Float.self), expected(-, cell, columnCell)))
        let batch = x.unsqueeze(0).expand([3, rows, columns]), scales = Tensor([1, -2, 0.5] as [Float], shape: [3, 1, 1])
        #expect(Self.same((batch * scales)[2].toArray(as: Float.self), grid.map { $0 * 0.5 }))
        let inPlace = x.clone()
        inPlace.add_(row)
        #expect(Self.same(inPlace.toArray(as: Float.self), expected(+, cell, rowCell)))
    }

    /// In place, the kernels run at any size (a fresh output past 2M elements takes the Swift
    /// loop), so past that size each op, on a dense operand or a number, still splits across
    /// threads into the right elements.
    @Test func inPlacePastTheFreshOutputLimit() {
        let count = (1 << 21) + 37
        let others = (0..<count).map { Float($0 % 1001) - 500.5 }
        var expected = (0..<count).map { Self.specials[$0 % Self.specials.count] * Float($0 % 7 + 1) }
        let x = Tensor(expected, shape: [count]), y = Tensor(others, shape: [count])
        let steps: [(String, (Tensor) -> Void, (Float, Float) -> Float)] = [
            ("sub_", { $0.sub_(y) }, { $0 - $1 }), ("div_", { $0.div_(y) }, { $0 / $1 }),
            ("mul_ number", { $0.mul_(0.5) }, { x, _ in x * 0.5 }),
        ]
        for (name, step, swift) in steps {
            step(x)
            expected.withUnsafeMutableBufferPointer { expected in
                others.withUnsafeBufferPointer { others in
                    for index in 0..<count { expected[index] = swift(expected[index], others[index]) }
                }
            }
            let result = x.toArray(as: Float.self)
            let mismatch = result.withUnsafeBufferPointer { result in
                expected.withUnsafeBufferPointer { expected in
                    (0..<count).first { result[$0].bitPattern != expected[$0].bitPattern && !(result[$0].isNaN && expected[$0].isNaN) }
                }
            }
            #expect(mismatch == nil, "\(name): element \(mismatch ?? 0)")
        }
    }

    /// A number first (`2 * x`, `1 - p`) stays 0-dim beside a dense tensor of any dtype, and is
    /// broadcast beside a strided one, with the same values either way.
    @Test func aNumberFirstMeetsEveryDtypeAndLayout() {
        let matrix = Tensor((0..<12).map { Double($0) - 5 }, shape: [3, 4])
        for dtype in [DType.float32, .float64, .float16, .int64, .int32, .uint8] {
            let x = matrix.to(dtype)
            for operand in [x, x.t(), x[1], Tensor.full([], .integer(3), dtype: dtype)] {
                let values = operand.to(.float64).contiguous().toArray(as: Double.self)
                let context = "\(dtype), shape \(operand.shape), contiguous \(operand.isContiguous)"
                #expect((2 * operand).dtype == dtype, "\(context)")
                #expect((2 * operand).shape == operand.shape, "\(context)")
                #expect((2 * operand).to(.float64).toArray(as: Double.self) == values.map { (2 * $0).stored(as: dtype) }, "\(context)")
                #expect((7 - operand).to(.float64).toArray(as: Double.self) == values.map { (7 - $0).stored(as: dtype) }, "\(context)")
                #expect((1.5 + operand).dtype == (dtype.isFloatingPoint ? dtype : .float32), "\(context)")
                #expect((1.5 + operand).to(.float64).toArray(as: Double.self) == values.map { 1.5 + $0 }, "\(context)")
            }
        }
    }

    @Test func scaledAddKernelFusesAtEveryLevel() {
        #expect(ember_scaled_add_f32_kernel_for(EMBER_CPU_BASELINE) == nil)
        for level in Self.levels {
            let kernel = ember_scaled_add_f32_kernel_for(ember_cpu_level(rawValue: UInt32(level.rawValue)))!
            for count in [0, 1, 15, 16, 17, 33, 64, 100, 131] {
                let a = (0..<count).map { Self.specials[($0 * 5) % Self.specials.count] }
                let b = (0..<count).map { Self.specials[($0 * 7 + 3) % Self.specials.count] }
                for alpha in [Float(-1e-3), 0, -.infinity, .nan, 3] {
                    let expected = zip(a, b).map { $0.addingProduct($1, alpha) }
                    let context = "level \(level), count \(count), alpha \(alpha)"
                    var output = [Float](repeating: 42, count: count + 16)
                    output.withUnsafeMutableBufferPointer { o in kernel(a, b, alpha, o.baseAddress, count) }
                    #expect(Self.same(Array(output[..<count]), expected), "\(context)")
                    #expect(output[count...].allSatisfy { $0 == 42 }, "\(context) wrote past the end")
                    var inA = a, inB = b
                    inA.withUnsafeMutableBufferPointer { o in kernel(o.baseAddress, b, alpha, o.baseAddress, count) }
                    inB.withUnsafeMutableBufferPointer { o in kernel(a, o.baseAddress, alpha, o.baseAddress, count) }
                    #expect(Self.same(inA, expected), "\(context) in place of a")
                    #expect(Self.same(inB, expected), "\(context) in place of b")
                }
            }
        }
    }

    @Test func addAndSubWithAlphaRoundOnce() {
        // Inputs where rounding alpha·b first changes the sum's last bit.
        let generator = Generator(seed: 5)
        let x = Tensor.randn([4096], generator: generator), y = Tensor.randn([4096], generator: generator)
        let (values, others) = (x.toArray(as: Float.self), y.toArray(as: Float.self))
        let alpha = Float(-1e-3)
        let fused = zip(values, others).map { $0.addingProduct($1, alpha) }
        #expect(fused != zip(values, others).map { $0 + alpha * $1 }, "no input where the rounding matters")
        #expect(Self.same(x.add(y, alpha: Double(alpha)).toArray(as: Float.self), fused))
        #expect(Self.same(x.sub(y, alpha: -Double(alpha)).toArray(as: Float.self), fused))
        let updated = x.clone()
        updated.add_(y, alpha: Double(alpha))
        #expect(Self.same(updated.toArray(as: Float.self), fused))
        updated.copy_(x)
        updated.sub_(y, alpha: -Double(alpha))
        #expect(Self.same(updated.toArray(as: Float.self), fused))
        // A transposed view and a broadcast row (the Swift loop), and float64.
        let matrix = x.view(64, 64).t(), other = y.view(64, 64).t()
        let expected = zip(matrix.contiguous().toArray(as: Float.self), other.contiguous().toArray(as: Float.self)).map { $0.addingProduct($1, alpha) }
        #expect(Self.same(matrix.add(other, alpha: Double(alpha)).contiguous().toArray(as: Float.self), expected))
        let row = y[0..<64]
        let broadcast = x.view(64, 64).add(row, alpha: Double(alpha)).toArray(as: Float.self)
        #expect(Self.same(broadcast, values.indices.map { values[$0].addingProduct(others[$0 % 64], alpha) }))
        let doubles = x.double().add(y.double(), alpha: 0.1).toArray(as: Double.self)
        #expect(doubles == zip(values, others).map { Double($0).addingProduct(Double($1), 0.1) })
    }
}

extension Double {
    /// This whole number as `dtype` stores it: uint8 wraps around, as a C cast does.
    fileprivate func stored(as dtype: DType) -> Double { dtype == .uint8 ? Double(UInt8(truncatingIfNeeded: Int(self))) : self }
}
