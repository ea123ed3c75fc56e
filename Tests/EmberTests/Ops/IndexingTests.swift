import Testing

@testable import Ember

/// The CPU's index ops (whole rows moved at once, masks compacted without a branch per element)
/// against element-by-element references, over the layouts the recorded cases miss: empty and
/// 0-dim tensors, several leading and trailing dimensions, views, repeated and negative indices.
@Suite struct IndexingTests {
    static func mask(_ shape: [Int], seed: UInt64) -> Tensor { Tensor.randn(shape, generator: Generator(seed: seed)) .> 0.3 }

    /// Every coordinate of `shape` in row-major order.
    static func coordinates(_ shape: [Int]) -> [[Int]] {
        shape.reduce([[]]) { prefixes, size in prefixes.flatMap { prefix in (0..<size).map { prefix + [$0] } } }
    }

    @Test(arguments: [[0], [1], [7], [3, 4], [2, 3, 5], [2, 0, 3], [130, 3]])
    func nonzeroAndMaskedSelectMatchAnElementwiseReference(shape: [Int]) {
        let mask = Self.mask(shape, seed: UInt64(shape.reduce(1, *) + shape.count))
        let flags = mask.toArray(as: Bool.self)
        let expected = zip(Self.coordinates(shape), flags).filter(\.1).map(\.0)
        let found = mask.nonzero()
        #expect(found.shape == [expected.count, shape.count])
        #expect(found.toArray(as: Int.self) == expected.flatMap { $0 })
        let values = Tensor.arange(0, Double(mask.numel)).reshape(shape)
        #expect(values[mask].toArray(as: Double.self) == flags.indices.filter { flags[$0] }.map(Double.init))
    }

    /// `t[mask]` over a mask of t's shape, large enough that threads compact parts of it, for
    /// every element size, on a transposed view, with masks whose parts hold no true element or
    /// end in false ones; `nonzero` of large masks; and the counting of true bytes eight at a
    /// time at every length.
    @Test func largeMasksCompactEachPartInPlace() {
        let count = 4 * Parallel.defaultGrain + 13
        let masks = [
            Self.mask([count], seed: 5),
            Tensor.arange(0, Double(count)) .< Double(count / 3),
            Tensor.arange(0, Double(count)) .>= Double(count - 5),
            Tensor.zeros([count], dtype: .bool),
        ]
        for mask in masks {
            let flags = mask.toArray(as: Bool.self)
            let kept = flags.indices.filter { flags[$0] }
            for dtype in [DType.bool, .int8, .float16, .float32, .float64] {
                let values = Tensor((0..<count).map { Double($0 % 97) }, shape: [count]).to(dtype)
                let all = values.toArray(as: Double.self)
                let selected = values[mask].toArray(as: Double.self), expected = kept.map { all[$0] }
                #expect(selected.count == expected.count && !zip(selected, expected).contains { $0 != $1 }, "\(dtype)")
            }
            let grid = Tensor.arange(0, Double(count - 13)).reshape([256, 512]).t()
            let gridMask = mask[0..<count - 13].reshape([512, 256])
            let gridFlags = gridMask.toArray(as: Bool.self), gridValues = grid.toArray(as: Double.self)
            let selected = grid[gridMask].toArray(as: Double.self), expected = gridFlags.indices.filter { gridFlags[$0] }.map { gridValues[$0] }
            #expect(selected.count == expected.count && !zip(selected, expected).contains { $0 != $1 })
        }
        // nonzero splits the rows of the last dimension: parts start inside a leading dimension.
        for shape in [[7, 64, 300], [300, 600], [5, 3, 4096]] {
            let mask = Self.mask(shape, seed: UInt64(shape[0])), flags = mask.toArray(as: Bool.self)
            let expected = zip(Self.coordinates(shape), flags).filter(\.1).flatMap(\.0)
            let found = mask.nonzero().toArray(as: Int.self)
            #expect(found.count == expected.count && !zip(found, expected).contains { $0 != $1 }, "\(shape)")
            #expect((mask .& Tensor.zeros(shape, dtype: .bool)).nonzero().shape == [0, shape.count])
        }
        let bytes: [UInt8] = (0..<77).map { UInt8(($0 * 7) % 3 == 0 ? 1 : 0) }
        bytes.withUnsafeBufferPointer { buffer in
            for start in 0..<9 {
                for end in start...77 {
                    #expect(Tensor.countTrue(buffer.baseAddress!, in: start..<end) == bytes[start..<end].reduce(0) { $0 + Int($1) })
                }
            }
        }
    }

    @Test func nonzeroOfAZeroDimTensor() {
        #expect(Tensor(2.0).nonzero().shape == [1, 0])
        #expect(Tensor(0.0).nonzero().shape == [0, 0])
    }

    @Test func indexSelectAndSubscriptsMoveWholeRows() {
        let x = Tensor.arange(0, 24).reshape([2, 3, 4])
        // Along a middle dimension of a transposed view, repeated and (for subscripts) negative.
        let view = x.transpose(0, 2)  // [4, 3, 2]
        let picked = view.indexSelect(dim: 1, index: Tensor([2, 0, 2]))
        let rows = [2, 0, 2]
        for (i, j, k) in [(0, 0, 0), (3, 1, 1), (1, 2, 0)] {
            let actual: Double = picked[i, j, k].item(), reference: Double = view[i, rows[j], k].item()
            #expect(actual == reference)
        }
        let swapped: [Double] = (12..<24).map(Double.init) + (0..<12).map(Double.init)
        #expect(x[Tensor([-1, 0])].toArray(as: Double.self) == swapped)
    }

    @Test func indexAddAddsRepeatedRowsInOrder() {
        // Float16 rounds after each addition, as adding one slice at a time does.
        for dtype in [DType.float32, .float16, .int16, .bool] {
            let base = (Tensor.arange(0, 12).reshape([3, 4]) * 0.3).to(dtype)
            let source = (Tensor.arange(0, 9).reshape([3, 3]) * 0.7 + 1000).to(dtype)
            let index = Tensor([3, 0, 3])
            var expected = base.clone()
            for (slot, column) in [3, 0, 3].enumerated() {
                expected = expected.clone()
                expected[TensorIndex.all, column] = expected[TensorIndex.all, column] + source[TensorIndex.all, slot]
            }
            let added = base.indexAdd(dim: 1, index: index, source: source)
            #expect(added.toArray(as: Double.self) == expected.toArray(as: Double.self), "\(dtype)")
        }
    }

    @Test func largeIndexAddsSplitRowsAcrossThreadsInOrder() {
        // 3000 rows of 40 floats (three cache lines each, split between threads) into 50 rows,
        // each added many times: the bits of adding them one at a time, in the index's order.
        let (rows, columns, slots) = (50, 40, 3000)
        let base = (0..<rows * columns).map { Float($0) * 0.37 }
        let added = (0..<slots * columns).map { Float(($0 * 7919) % 1013) * 0.013 - 6.5 }
        let index = (0..<slots).map { ($0 * 31 + $0 / 7) % rows }
        var expected = base
        for (slot, row) in index.enumerated() {
            for column in 0..<columns { expected[row * columns + column] += added[slot * columns + column] }
        }
        let result = Tensor(base, shape: [rows, columns]).indexAdd(dim: 0, index: Tensor(index.map(Int64.init)), source: Tensor(added, shape: [slots, columns]))
        let mismatches = zip(result.toArray(as: Float.self), expected).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(mismatches == 0, "\(mismatches) of \(rows * columns) elements differ")
    }

    @Test func assignmentThroughAnIndexTensorOrAMask() {
        // Repeated positions: the last one wins, as on PyTorch's CPU; negatives count from the end.
        let x = Tensor.zeros(4, 3)
        x[Tensor([1, -1, 1])] = Tensor([1, 1, 1, 2, 2, 2, 3, 3, 3] as [Float], shape: [3, 3])
        #expect(x.toArray(as: Float.self) == [0, 0, 0, 3, 3, 3, 0, 0, 0, 2, 2, 2])
        // A view that is not contiguous writes through to its base.
        let y = Tensor.zeros(3, 4)
        let columns = y.t()
        columns[Tensor([0, 2])] = Tensor([5, 6, 7] as [Float], shape: [1, 3])
        #expect(y.toArray(as: Float.self) == [5, 0, 5, 0, 6, 0, 6, 0, 7, 0, 7, 0])
        // A mask with one value per true element, and one broadcast over rows.
        let z = Tensor.arange(0, 6).reshape([2, 3])
        z[z .> 2] = Tensor([-1, -2, -3] as [Double], shape: [3])
        #expect(z.toArray(as: Double.self) == [0, 1, 2, -1, -2, -3])
        z[Tensor([true, false])] = Tensor([9, 8, 7] as [Double], shape: [3])
        #expect(z.toArray(as: Double.self) == [9, 8, 7, -1, -2, -3])
    }

    @Test func gatherAndScatterAddAlongAMiddleDimensionOfAView() {
        let base = Tensor.arange(0, 24).reshape([2, 3, 4])
        let view = base.transpose(0, 2)  // [4, 3, 2], not contiguous
        let picks = [2, 0, 1, 1, 0, 2, 2, 2, 1, 0, 0, 0, 2, 1, 1, 2]
        let index = Tensor(picks.map(Int64.init), shape: [4, 2, 2])
        let values = view.contiguous().toArray(as: Double.self)
        let element = { (i: Int, j: Int, k: Int) in values[(i * 3 + j) * 2 + k] }
        var gathered: [Double] = [], scattered = [Double](repeating: 0, count: 24)
        for i in 0..<4 {
            for j in 0..<2 {
                for k in 0..<2 {
                    let pick = picks[(i * 2 + j) * 2 + k]
                    gathered.append(element(i, pick, k))
                    scattered[(i * 3 + pick) * 2 + k] += Double((i * 2 + j) * 2 + k)
                }
            }
        }
        #expect(view.gather(dim: 1, index: index).toArray(as: Double.self) == gathered)
        let sources = Tensor.arange(0, 16).reshape([4, 2, 2])
        #expect(Tensor.zeros([4, 3, 2], dtype: .float64).scatterAdd(dim: 1, index: index, src: sources).toArray(as: Double.self) == scattered)
    }

    /// A gather large enough to split its rows across threads, along the last and a middle
    /// dimension of a transposed view: each chunk starts from its own first row's coordinates.
    @Test(arguments: [2, 1])
    func largeGatherSplitsRowsBetweenThreads(dim: Int) {
        let (a, b, c) = (37, 60, 50)  // the view is [a, b, c]; 37·60·50 index elements, several chunks
        let base = Tensor.arange(0, Double(a * b * c)).reshape([c, b, a])
        let view = base.permute(2, 1, 0)
        let size = dim == 2 ? c : b
        let picks = (0..<a * b * c).map { ($0 &* 7919 &+ $0 / 13) % size }
        let index = Tensor(picks.map(Int64.init), shape: [a, b, c])
        var expected: [Double] = []
        for i in 0..<a {
            for j in 0..<b {
                for k in 0..<c {
                    let pick = picks[(i * b + j) * c + k]
                    let (jj, kk) = dim == 2 ? (j, pick) : (pick, k)
                    expected.append(Double((kk * b + jj) * a + i))  // base's value at [kk, jj, i]
                }
            }
        }
        #expect(view.gather(dim: dim, index: index).toArray(as: Double.self) == expected)
    }

    /// Rows whose leading dimensions merge into one stride step by it: a 3-d tensor, one with a
    /// dimension of 1 from a slice, and an index shorter than the input along a leading
    /// dimension (whose rows do not merge), gathered and scattered along the last dimension.
    @Test(arguments: [([4, 5, 6], [4, 5, 3]), ([4, 5, 6], [4, 3, 2]), ([3, 1, 7], [3, 1, 4]), ([2, 3, 4, 5], [2, 2, 4, 3])])
    func gatherAndScatterStepRowsThatMerge(inputShape: [Int], indexShape: [Int]) {
        let count = inputShape.reduce(1, *), picked = indexShape.reduce(1, *), last = inputShape.count - 1
        // A dimension of 1 is a slice of a wider tensor, so that its stride is not the next one's span.
        let sliced = inputShape.firstIndex(of: 1) ?? 0
        var wide = inputShape
        wide[sliced] = inputShape[sliced] == 1 ? 3 : inputShape[sliced]
        let input = Tensor.arange(0, Double(wide.reduce(1, *))).reshape(wide).narrow(dim: sliced, start: 0, length: inputShape[sliced])
        let values = input.contiguous().toArray(as: Double.self)
        let picks = (0..<picked).map { ($0 &* 7 &+ $0 / 3) % inputShape[last] }
        let index = Tensor(picks.map(Int64.init), shape: indexShape)
        func inputOffset(_ flat: Int, column: Int) -> Int {  // the input's flat offset of an index element's row, at `column`
            var (remaining, offset, span) = (flat / indexShape[last], column, inputShape[last])
            for axis in (0..<last).reversed() {
                offset += remaining % indexShape[axis] * span
                remaining /= indexShape[axis]
                span *= inputShape[axis]
            }
            return offset
        }
        let gathered = (0..<picked).map { values[inputOffset($0, column: picks[$0])] }
        let gatheredRight = input.gather(dim: last, index: index).toArray(as: Double.self) == gathered
        #expect(gatheredRight)
        var scattered = [Double](repeating: 0, count: count)
        for flat in 0..<picked { scattered[inputOffset(flat, column: picks[flat])] += Double(flat) }
        let sources = Tensor.arange(0, Double(picked)).reshape(indexShape)
        let scatteredRight = Tensor.zeros(inputShape, dtype: .float64).scatterAdd(dim: last, index: index, src: sources).toArray(as: Double.self) == scattered
        #expect(scatteredRight)
    }

    /// A gather along a dense last dimension (its own loop) with an index that is a transposed
    /// view, read through a dense copy; a value out of range anywhere in it, negative or too
    /// large, is reported as PyTorch reports the first.
    @Test func gatherAlongADenseLastDimensionWithATransposedIndex() throws {
        let (rows, columns, picked) = (300, 80, 12)
        let base = Tensor.arange(0, Double(rows * columns)).reshape([rows, columns])
        let picks = (0..<picked * rows).map { ($0 &* 37 &+ $0 / 7) % columns }  // index.t()'s storage, [picked, rows]
        let index = Tensor(picks.map(Int64.init), shape: [picked, rows]).t()
        var expected: [Double] = []
        for row in 0..<rows {
            for slot in 0..<picked { expected.append(Double(row * columns + picks[slot * rows + row])) }
        }
        #expect(base.gather(dim: 1, index: index).toArray(as: Double.self) == expected)
        for (bad, message) in [(-1, "index -1 is out of bounds for dimension 1 with size 80"), (80, "index 80 is out of bounds for dimension 1 with size 80")] {
            var values = picks
            values[values.count - 5] = bad
            let badIndex = Tensor(values.map(Int64.init), shape: [picked, rows]).t()
            let error = #expect(throws: EmberError.self) { try withErrorChecking { _ = base.gather(dim: 1, index: badIndex) } }
            #expect(error?.message == message)
        }
    }

    /// A scatter along the index's last dimension splits its rows across threads: each writes
    /// its own row of the target, repeated positions in index order (the last written wins;
    /// adds in order), over a 2-d target and a 3-d view with a middle dimension.
    @Test func scattersAlongTheLastDimensionSplitRowsInOrder() {
        let (rows, columns, picked) = (2000, 50, 16)
        let picks = (0..<rows * picked).map { ($0 &* 31 &+ $0 / 5) % 9 }  // repeats within each row
        let sources = (0..<rows * picked).map { Double($0 % 97) * 0.25 }
        let index = Tensor(picks.map(Int64.init), shape: [rows, picked]), source = Tensor(sources, shape: [rows, picked])
        var written = [Double](repeating: -1, count: rows * columns), added = [Double](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            for slot in 0..<picked {
                written[row * columns + picks[row * picked + slot]] = sources[row * picked + slot]
                added[row * columns + picks[row * picked + slot]] += sources[row * picked + slot]
            }
        }
        let target = Tensor.full([rows, columns], -1.0, dtype: .float64)
        #expect(target.scatter(dim: 1, index: index, src: source).toArray(as: Double.self) == written)
        #expect(Tensor.zeros([rows, columns], dtype: .float64).scatterAdd(dim: 1, index: index, src: source).toArray(as: Double.self) == added)
        let batch = Tensor.zeros([columns, rows / 4, 4], dtype: .float64).permute(1, 0, 2).permute(0, 2, 1)  // [500, 4, 50], strided
        let batchResult = batch.scatterAdd(dim: 2, index: index.view(rows / 4, 4, picked), src: source.view(rows / 4, 4, picked))
        #expect(batchResult.contiguous().toArray(as: Double.self) == added)
    }
}
