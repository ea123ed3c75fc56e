import Testing

@testable import Ember

/// `max(dim:)`, `min(dim:)`, `amax`, `argmax` over float32 rows long enough for the vector
/// kernels, against a scalar reference: the first of equal extremes and its own value (-0.0 or
/// 0.0 as it stands), the first NaN, infinities, rows in every position of a chunk of eight.
@Suite struct ExtremumRowsTests {
    /// The scalar loop's answer for one row: the first best element, the first NaN winning.
    static func reference(_ row: [Float], largest: Bool) -> (value: Float, index: Int) {
        var (best, index) = (row[0], 0)
        if best.isNaN { return (best, 0) }
        for (i, value) in row.enumerated().dropFirst() {
            if value.isNaN { return (value, i) }
            if largest ? value > best : value < best { (best, index) = (value, i) }
        }
        return (best, index)
    }

    @Test(arguments: [32, 37, 100, 1000])
    func rowsMatchTheScalarLoop(length: Int) {
        let rows = 12
        var values = Tensor.randn([rows, length], generator: Generator(seed: UInt64(length))).toArray(as: Float.self)
        // Row 0: ties at the top; 1: signed zeros only; 2: a NaN late; 3: two NaNs; 4: +inf;
        // 5: -inf everywhere; 6: the extreme in the last element.
        values[5] = 9
        values[length - 2] = 9
        values[0 * length + 3] = 9
        for i in 0..<length { values[1 * length + i] = i % 3 == 0 ? -0.0 : 0.0 }
        values[2 * length + length - 1] = .nan
        values[3 * length + 7] = .nan
        values[3 * length + 20] = .nan
        values[4 * length + length / 2] = .infinity
        for i in 0..<length { values[5 * length + i] = -.infinity }
        values[6 * length + length - 1] = 50
        values[6 * length + length - 2] = -50
        let x = Tensor(values, shape: [rows, length])
        for largest in [true, false] {
            let (best, indices) = largest ? x.max(dim: 1) : x.min(dim: 1)
            let extremes = largest ? x.amax(dim: 1) : x.amin(dim: 1)
            let arg = largest ? x.argmax(dim: 1) : x.argmin(dim: 1)
            let (bestValues, extremeValues) = (best.toArray(as: Float.self), extremes.toArray(as: Float.self))
            let (bestIndices, argIndices) = (indices.toArray(as: Int.self), arg.toArray(as: Int.self))
            for row in 0..<rows {
                let expected = Self.reference(Array(values[row * length..<(row + 1) * length]), largest: largest)
                let (value, amax, index, argIndex) = (bestValues[row], extremeValues[row], bestIndices[row], argIndices[row])
                #expect(value.bitPattern == expected.value.bitPattern || (value.isNaN && expected.value.isNaN), "row \(row) largest \(largest)")
                #expect(amax.bitPattern == expected.value.bitPattern || (amax.isNaN && expected.value.isNaN), "row \(row) largest \(largest)")
                #expect(index == expected.index && argIndex == expected.index, "row \(row) largest \(largest): \(index), \(argIndex)")
            }
        }
    }
}
