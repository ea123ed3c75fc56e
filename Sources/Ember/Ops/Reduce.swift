internal import CEmberKernels

// Reductions: sum, mean, prod, max/min (with indices), amax/amin, argmax/argmin.
// variance, std and logsumexp are composites in Composite.swift.

/// How a reduction sees its input: `outer` independent rows of `inner` contiguous elements.
struct ReductionLayout {
    let input: Tensor
    let outer: Int
    let inner: Int
    /// The result's shape with and without the reduced dimensions kept as size 1.
    let keptShape: [Int]
    let squeezedShape: [Int]
}

extension Tensor {
    /// Wraps and deduplicates reduction dimensions; an empty list means all of them.
    func reductionDims(_ dims: [Int]) -> [Int]? {
        if dims.isEmpty { return Array(0..<dim) }
        var seen = Set<Int>()
        for raw in dims {
            let axis = normalizedDim(raw)
            guard seen.insert(axis).inserted else {
                reportError("dim \(axis) appears multiple times in the list of dims")
                return nil
            }
        }
        // A 0-dim tensor accepts dim 0 and -1, but has no dimension to reduce.
        return dim == 0 ? [] : seen.sorted()
    }

    /// Moves the reduced dimensions last and makes the input contiguous so every output
    /// element reduces one contiguous row.
    ///
    /// The reduced dimensions go in the order they lie in memory (the largest stride first):
    /// all of a row's elements reduce into one value, whatever their order, and a permuted
    /// tensor then reads its memory as it is instead of through a copy (`x.t().sum()` is
    /// `x.sum()`, as in PyTorch, whose TensorIterator orders dimensions the same way).
    func reductionLayout(_ dims: [Int]) -> ReductionLayout {
        let reduced = Set(dims)
        let kept = (0..<dim).filter { !reduced.contains($0) }
        let order = kept + dims.sorted { strides[$0] != strides[$1] ? strides[$0] > strides[$1] : $0 < $1 }
        let arranged = order == Array(0..<dim) ? self : permuteView(order)
        let contiguousInput = arranged.isContiguous ? arranged : arranged.cloneContiguous()
        let keptShape = shape.indices.map { reduced.contains($0) ? 1 : shape[$0] }
        return ReductionLayout(
            input: contiguousInput, outer: kept.reduce(1) { $0 * shape[$1] }, inner: dims.reduce(1) { $0 * shape[$1] },
            keptShape: keptShape, squeezedShape: kept.map { shape[$0] })
    }

    /// Expands a reduced gradient back over the reduced dimensions.
    static func expandReduced(_ gradient: Tensor, to shape: [Int], dims: [Int], keepdim: Bool) -> Tensor {
        var gradient = gradient
        if !keepdim { for axis in dims.sorted() { gradient = gradient.unsqueeze(axis) } }
        return gradient.expand(shape)
    }
}

// MARK: - Kernels

/// Sums (or multiplies) each row; floating rows accumulate in Double, integers in Int64.
struct SumRowsKernel: ElementVisitor {
    let layout: ReductionLayout, output: Tensor, product: Bool
    func visit<E: Element>(_ type: E.Type) {
        let source = layout.input.elementPointer(as: E.self)
        let inner = layout.inner
        if E.dtype.isFloatingPoint && !product && layout.outer == 1 && inner >= 2 * wholeTensorGrain {
            // One long row (`sum()` of a whole tensor): each core sums a part.
            let total = splitRow(inner, grain: wholeTensorGrain) { Self.sum(source + $0.lowerBound, count: $0.count) }.reduce(0, +)
            output.dtype.dispatch(StoreRows(values: [total], output: output))
        } else if E.self == Float.self, let kernel = product ? Self.rowProduct : Self.rowSum {
            // The kernel looked up once, not once a row (a lazy global's `swift_once`, and the
            // generic row's branches): summing 65536 rows of 4–32 floats took 292–358 µs, now
            // 180–233 (PyTorch 191–224).
            let floats = UnsafeRawPointer(source).assumingMemoryBound(to: Float.self)
            let results = rowResults(count: layout.outer, inner: inner) { row in kernel(floats + row * inner, inner) }
            output.dtype.dispatch(StoreRows(values: results, output: output))
        } else if E.dtype.isFloatingPoint {
            let results = rowResults(count: layout.outer, inner: inner) { row -> Double in
                let start = source + row * inner
                return product ? Self.product(start, count: inner) : Self.sum(start, count: inner)
            }
            output.dtype.dispatch(StoreRows(values: results, output: output))
        } else {
            let results = rowResults(count: layout.outer, inner: inner) { row -> Int64 in
                let start = source + row * inner
                var total: Int64 = product ? 1 : 0
                for i in 0..<inner { total = product ? total &* start[i].int64Value : total &+ start[i].int64Value }
                return total
            }
            output.dtype.dispatch(StoreRows(values: results, output: output))
        }
    }

    /// A float row sum: blocks of 256 summed in the element type's precision eight lanes wide,
    /// the blocks added in Double, accurate and fast; rows under 256 add in Double throughout,
    /// sixteen lanes wide. Rows of 64 doubles or more add in sixteen lanes too; other rows, and
    /// other types, in one chain.
    @inline(__always)
    static func sum<E: Element>(_ start: UnsafeMutablePointer<E>, count: Int) -> Double {
        if E.self == Float.self, let kernel = rowSum {
            return kernel(UnsafeRawPointer(start).assumingMemoryBound(to: Float.self), count)
        }
        return loopSum(start, count: count)
    }

    /// A float row's product in Double, 32 lanes wide, each lane multiplying every 32nd element,
    /// the lanes then multiplied as a tree and the remainder in turn: one chain of dependent
    /// multiplications took ten times PyTorch's time (4096 rows of 1000).
    @inline(__always)
    static func product<E: Element>(_ start: UnsafeMutablePointer<E>, count: Int) -> Double {
        if E.self == Float.self, let kernel = rowProduct {
            return kernel(UnsafeRawPointer(start).assumingMemoryBound(to: Float.self), count)
        }
        return loopProduct(start, count: count)
    }

    /// `product` as a Swift loop, which the x86-64 baseline and half types run.
    @inline(__always)
    static func loopProduct<E: Element>(_ start: UnsafeMutablePointer<E>, count: Int) -> Double {
        var total = 1.0
        var index = 0
        if count >= 32 {
            // Four registers' worth of lanes (a SIMD32 subscripted in a loop went through memory,
            // 100x slower).
            @inline(__always) func widened(_ at: Int) -> SIMD8<Double> {
                let p = start + at
                return SIMD8(
                    p[0].doubleValue, p[1].doubleValue, p[2].doubleValue, p[3].doubleValue, p[4].doubleValue,
                    p[5].doubleValue, p[6].doubleValue, p[7].doubleValue)
            }
            var lanes = (SIMD8<Double>(repeating: 1), SIMD8<Double>(repeating: 1), SIMD8<Double>(repeating: 1), SIMD8<Double>(repeating: 1))
            while index + 32 <= count {
                lanes.0 *= widened(index)
                lanes.1 *= widened(index + 8)
                lanes.2 *= widened(index + 16)
                lanes.3 *= widened(index + 24)
                index += 32
            }
            let eight = (lanes.0 * lanes.2) * (lanes.1 * lanes.3)
            let four = eight.lowHalf * eight.highHalf, two = four.lowHalf * four.highHalf
            total = two[0] * two[1]
        }
        while index < count {
            total *= start[index].doubleValue
            index += 1
        }
        return total
    }

    /// The C kernel for this CPU's vector unit (the same arithmetic); nil at the baseline level.
    static let rowProduct = ember_row_product_f32_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

    /// Doubles a row needs to add in sixteen lanes rather than in one chain.
    static let doubleLaneMinimum = 64

    /// The C kernel for this CPU's vector unit (the same arithmetic); nil at the baseline level.
    static let rowSum = ember_row_sum_f32_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

    /// The eight lanes added as a tree (halves, then quarters), so that the additions wait on
    /// three others rather than seven.
    @inline(__always)
    static func laneSum(_ lanes: SIMD8<Float>) -> Float {
        let quarters = lanes.lowHalf + lanes.highHalf
        let halves = quarters.lowHalf + quarters.highHalf
        return halves[0] + halves[1]
    }

    /// `sum` as a Swift loop, which the x86-64 baseline runs on SSE registers.
    @inline(__always)
    static func loopSum<E: Element>(_ start: UnsafeMutablePointer<E>, count: Int) -> Double {
        var total = 0.0
        var index = 0
        if E.self == Float.self {
            let floats = UnsafeRawPointer(start)
            @inline(__always) func widened(_ at: Int) -> SIMD8<Double> {
                SIMD8<Double>(floats.loadUnaligned(fromByteOffset: at * 4, as: SIMD8<Float>.self))
            }
            if count < 256 {
                // A short row in Double, as the C kernels add it: two accumulators of eight lanes.
                var lanes = (SIMD8<Double>(), SIMD8<Double>())
                while index + 16 <= count {
                    lanes.0 += widened(index)
                    lanes.1 += widened(index + 8)
                    index += 16
                }
                while index + 8 <= count {
                    lanes.0 += widened(index)
                    index += 8
                }
                let sums = lanes.0 + lanes.1
                total = ((sums[0] + sums[4]) + (sums[2] + sums[6])) + ((sums[1] + sums[5]) + (sums[3] + sums[7]))
            }
            while index + 256 <= count {
                // Four independent accumulators, so additions overlap instead of waiting on
                // each other's latency.
                var lanes = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for block in stride(from: index * 4, to: (index + 256) * 4, by: 128) {
                    lanes.0 += floats.loadUnaligned(fromByteOffset: block, as: SIMD8<Float>.self)
                    lanes.1 += floats.loadUnaligned(fromByteOffset: block + 32, as: SIMD8<Float>.self)
                    lanes.2 += floats.loadUnaligned(fromByteOffset: block + 64, as: SIMD8<Float>.self)
                    lanes.3 += floats.loadUnaligned(fromByteOffset: block + 96, as: SIMD8<Float>.self)
                }
                total += Double(Self.laneSum((lanes.0 + lanes.1) + (lanes.2 + lanes.3)))
                index += 256
            }
            if index > 0 && index + 8 <= count {
                // A long row's tail, four accumulators of eight lanes, then groups of eight.
                var lanes = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                while index + 32 <= count {
                    lanes.0 += floats.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                    lanes.1 += floats.loadUnaligned(fromByteOffset: index * 4 + 32, as: SIMD8<Float>.self)
                    lanes.2 += floats.loadUnaligned(fromByteOffset: index * 4 + 64, as: SIMD8<Float>.self)
                    lanes.3 += floats.loadUnaligned(fromByteOffset: index * 4 + 96, as: SIMD8<Float>.self)
                    index += 32
                }
                while index + 8 <= count {
                    lanes.0 += floats.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
                    index += 8
                }
                total += Double(Self.laneSum((lanes.0 + lanes.1) + (lanes.2 + lanes.3)))
            }
        }
        if E.self == Double.self && count >= doubleLaneMinimum {
            // Sixteen lanes in four accumulators: one chain of dependent additions took 6× PyTorch's
            // time over rows of 1000 doubles. Shorter rows keep the one chain, which the column
            // sums of a transposed layout also add (`PropertyTests.layoutsDoNotChangeResults`).
            let doubles = UnsafeRawPointer(start)
            @inline(__always) func lane(_ at: Int) -> SIMD4<Double> {
                doubles.loadUnaligned(fromByteOffset: at * 8, as: SIMD4<Double>.self)
            }
            var lanes = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
            while index + 16 <= count {
                lanes.0 += lane(index)
                lanes.1 += lane(index + 4)
                lanes.2 += lane(index + 8)
                lanes.3 += lane(index + 12)
                index += 16
            }
            let sums = (lanes.0 + lanes.1) + (lanes.2 + lanes.3)
            total = (sums[0] + sums[2]) + (sums[1] + sums[3])
        }
        while index < count {
            total += start[index].doubleValue
            index += 1
        }
        return total
    }
}

/// Sums a contiguous input over a run of consecutive dimensions with kept ones after it: each
/// of `slices` blocks (the kept dimensions before the run) row after row into per-column totals
/// (Double for floating dtypes, Int64 for integers). One block splits its rows across cores;
/// several are shared out whole, each summed by one thread.
///
/// A middle dimension (`x.sum(dim: 1)` of 64×128×128) had gone through a transposed copy of the
/// input and then row sums, 22x PyTorch's time.
private struct SumColumnsKernel: ElementVisitor {
    let input: Tensor, slices: Int, columns: Int, output: Tensor
    func visit<E: Element>(_ type: E.Type) {
        if E.dtype.isFloatingPoint {
            output.dtype.dispatch(StoreRows(values: totals(E.self, Double.self), output: output))
        } else {
            output.dtype.dispatch(StoreRows(values: totals(E.self, Int64.self), output: output))
        }
    }

    /// Every block's column totals, block after block.
    private func totals<E: Element, Total: ColumnTotal>(_: E.Type, _: Total.Type) -> [Total] {
        let source = input.elementPointer(as: E.self)
        let rows = input.numel / (slices * columns), columns = self.columns
        if slices == 1 {
            // Each thread adds a block of rows into totals of its own, streaming through memory
            // (threads sharing the totals and splitting columns ran 3x slower than one thread);
            // the blocks' totals are then added in order.
            let partials = splitRow(rows, grain: Swift.max(1, Parallel.defaultGrain / columns)) { rowRange in
                var totals = [Total](repeating: .zero, count: columns)
                totals.withUnsafeMutableBufferPointer { totals in
                    Self.addRows(source + rowRange.lowerBound * columns, rows: rowRange.count, columns: columns, into: totals.baseAddress!)
                }
                return totals
            }
            var totals = partials[0]
            for partial in partials.dropFirst() {
                for column in 0..<columns { totals[column] = Total.merging(totals[column], partial[column]) }
            }
            return totals
        }
        var totals = [Total](repeating: .zero, count: slices * columns)
        totals.withUnsafeMutableBufferPointer { totals in
            let base = totals.baseAddress!
            Parallel.forRanges(count: slices, grain: Swift.max(1, Parallel.defaultGrain / (rows * columns))) { range in
                for slice in range {
                    Self.addRows(source + slice * rows * columns, rows: rows, columns: columns, into: base + slice * columns)
                }
            }
        }
        return totals
    }

    /// Adds `rows` rows of `columns` elements into `totals`, in row order for each column.
    private static func addRows<E: Element, Total: ColumnTotal>(
        _ values: UnsafeMutablePointer<E>, rows: Int, columns: Int, into totals: UnsafeMutablePointer<Total>
    ) {
        if E.self == Float.self, Total.self == Double.self, let vectorSums = columnSums {
            // The same additions in the same order per column, eight or sixteen columns at a time.
            return vectorSums(
                UnsafeRawPointer(values).assumingMemoryBound(to: Float.self), rows, columns,
                UnsafeMutableRawPointer(totals).assumingMemoryBound(to: Double.self))
        }
        for row in 0..<rows {
            let rowValues = values + row * columns
            for column in 0..<columns { totals[column] = Total.adding(rowValues[column], to: totals[column]) }
        }
    }

    /// The C kernel for this CPU's vector unit; nil at the baseline level.
    private static let columnSums = ember_column_sums_f32_kernel_for(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))
}

/// How a sum's totals accumulate: in Double for floating dtypes, in Int64 (wrapping, as
/// PyTorch's integer sums do) otherwise.
private protocol ColumnTotal {
    static var zero: Self { get }
    static func adding<E: Element>(_ element: E, to total: Self) -> Self
    static func merging(_ a: Self, _ b: Self) -> Self
    /// The total in the output's dtype.
    func element<E: Element>(as type: E.Type) -> E
}

extension Double: ColumnTotal {
    @inline(__always) static func adding<E: Element>(_ element: E, to total: Double) -> Double { total + element.doubleValue }
    static func merging(_ a: Double, _ b: Double) -> Double { a + b }
    @inline(__always) func element<E: Element>(as type: E.Type) -> E { E(converting: self) }
}

extension Int64: ColumnTotal {
    @inline(__always) static func adding<E: Element>(_ element: E, to total: Int64) -> Int64 { total &+ element.int64Value }
    static func merging(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    @inline(__always) func element<E: Element>(as type: E.Type) -> E { E(converting: self) }
}

/// Finds each row's largest (or smallest) element and its first index; NaN wins.
private struct ExtremumRowsKernel: ElementVisitor {
    let layout: ReductionLayout, values: Tensor?, indices: Tensor?, largest: Bool
    func visit<E: Element>(_ type: E.Type) {
        let source = layout.input.elementPointer(as: E.self)
        let inner = layout.inner
        let valueOut = values?.elementPointer(as: E.self), indexOut = indices?.elementPointer(as: Int64.self)
        if E.self == Float.self && layout.outer == 1 && inner >= 4096, let valueOut {
            // One long float row (`max()` of a whole tensor): a part per core, vector kernels.
            let floats = UnsafeRawPointer(source)
            let partial = splitRow(inner, grain: wholeTensorGrain) { Self.extremum(floats, from: $0.lowerBound, to: $0.upperBound, largest: largest) }
            let best = partial.dropFirst().reduce(partial[0]) { $0.isNaN ? $0 : ($1.isNaN ? $1 : (largest ? Swift.max($0, $1) : Swift.min($0, $1))) }
            valueOut[0] = unsafeBitCast(best, to: E.self)
            if let indexOut {
                indexOut[0] = Int64(Self.firstIndex(of: best, in: floats.assumingMemoryBound(to: Float.self), count: inner))
            }
            return
        }
        if E.self == Float.self && inner >= 32, let kernel = largest ? Self.vectorMax : Self.vectorMin {
            // Float rows: the vector kernel's answer, then the first element equal to it (the
            // first NaN), whose own value is kept (so -0.0 and 0.0 come out as the loop below
            // finds them). Without indices (`amax`), a nonzero number is its own first match:
            // the second pass had made amax of 4096x1000 1.4 times PyTorch's time.
            let floats = UnsafeRawPointer(source).assumingMemoryBound(to: Float.self)
            Parallel.forRanges(count: layout.outer, grain: Swift.max(1, 16_384 / inner)) { rows in
                for row in rows {
                    let start = floats + row * inner
                    let best = kernel(start, inner)
                    if indexOut == nil && best != 0 && !best.isNaN {
                        valueOut?[row] = unsafeBitCast(best, to: E.self)
                        continue
                    }
                    let index = Self.firstIndex(of: best, in: start, count: inner)
                    valueOut?[row] = unsafeBitCast(start[index], to: E.self)
                    indexOut?[row] = Int64(index)
                }
            }
            return
        }
        Parallel.forRanges(count: layout.outer, grain: Swift.max(1, 16_384 / Swift.max(inner, 1))) { rows in
            for row in rows {
                let start = source + row * inner
                var best = start[0].compute, bestIndex = 0
                if !best.isNaN {
                    for i in 1..<Swift.max(inner, 1) {
                        let value = start[i].compute
                        if value.isNaN {
                            best = value
                            bestIndex = i
                            break
                        }
                        if largest ? E.Compute.lessThan(best, value) : E.Compute.lessThan(value, best) {
                            best = value
                            bestIndex = i
                        }
                    }
                }
                valueOut?[row] = E(compute: best)
                indexOut?[row] = Int64(bestIndex)
            }
        }
    }
}

extension ExtremumRowsKernel {
    /// The largest (or smallest) float in `[start, end)`, NaN if any element is NaN.
    static func extremum(_ floats: UnsafeRawPointer, from start: Int, to end: Int, largest: Bool) -> Float {
        if let kernel = largest ? vectorMax : vectorMin {
            return kernel(floats.assumingMemoryBound(to: Float.self) + start, end - start)
        }
        return largest ? extremum(floats, from: start, to: end, Largest.self) : extremum(floats, from: start, to: end, Smallest.self)
    }

    /// The first position of `value` (of a NaN, for NaN) among `count` floats that hold it,
    /// a vector at a time.
    static func firstIndex(of value: Float, in floats: UnsafePointer<Float>, count: Int) -> Int {
        if let vectorFirstIndex { return vectorFirstIndex(floats, count, value) }
        let raw = UnsafeRawPointer(floats), target = SIMD8<Float>(repeating: value)
        var index = 0
        while index + 8 <= count {
            let chunk = raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
            if any(value.isNaN ? chunk .!= chunk : chunk .== target) { break }
            index += 8
        }
        while value.isNaN ? !floats[index].isNaN : floats[index] != value { index += 1 }
        return index
    }

    /// The C kernels for the CPU's vector unit (AVX2 or AVX-512); nil at the baseline level.
    static let vectorMax = ember_max_f32_kernel(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))
    static let vectorMin = ember_min_f32_kernel(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))
    static let vectorFirstIndex = ember_first_index_f32_kernel(ember_cpu_level(rawValue: UInt32(CPUFeatures.level.rawValue)))

    /// Which way an extremum looks, as a type so that the loop is specialized for it.
    protocol Direction { static func better(_ candidate: SIMD16<Float>, than best: SIMD16<Float>) -> SIMDMask<SIMD16<Int32>> }
    enum Largest: Direction { @inline(__always) static func better(_ a: SIMD16<Float>, than b: SIMD16<Float>) -> SIMDMask<SIMD16<Int32>> { a .> b } }
    enum Smallest: Direction { @inline(__always) static func better(_ a: SIMD16<Float>, than b: SIMD16<Float>) -> SIMDMask<SIMD16<Int32>> { a .< b } }

    @inline(__always)
    static func extremum<D: Direction>(_ floats: UnsafeRawPointer, from start: Int, to end: Int, _: D.Type) -> Float {
        // Two accumulators of 16 lanes, so comparisons overlap instead of waiting on each other.
        var lanes = (
            SIMD16<Float>(repeating: floats.load(fromByteOffset: start * 4, as: Float.self)),
            SIMD16<Float>(repeating: floats.load(fromByteOffset: start * 4, as: Float.self))
        )
        var sawNaN = SIMDMask<SIMD16<Int32>>()
        var index = start
        while index + 32 <= end {
            let first = floats.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<Float>.self)
            let second = floats.loadUnaligned(fromByteOffset: index * 4 + 64, as: SIMD16<Float>.self)
            sawNaN .|= (first .!= first) .| (second .!= second)
            lanes.0.replace(with: first, where: D.better(first, than: lanes.0))
            lanes.1.replace(with: second, where: D.better(second, than: lanes.1))
            index += 32
        }
        if any(sawNaN) { return .nan }
        lanes.0.replace(with: lanes.1, where: D.better(lanes.1, than: lanes.0))
        let largest = D.self == Largest.self
        var best = largest ? lanes.0.max() : lanes.0.min()
        while index < end {
            let value = floats.load(fromByteOffset: index * 4, as: Float.self)
            if value.isNaN { return .nan }
            best = largest ? Swift.max(best, value) : Swift.min(best, value)
            index += 1
        }
        return best
    }
}

/// Writes one value per row into a contiguous output of any dtype.
private struct StoreRows<Total: ColumnTotal>: ElementVisitor {
    let values: [Total], output: Tensor
    func visit<E: Element>(_ type: E.Type) {
        let pointer = output.elementPointer(as: E.self)
        for (index, value) in values.enumerated() { pointer[index] = value.element(as: E.self) }
    }
}

/// Elements a thread reads, at least, when `sum()`, `max()` or `min()` of a whole tensor splits
/// it: twice the elementwise grain, as a reduction only reads. On the 2-vCPU Emerald Rapids host,
/// alternating in one process, 64K floats took 2.9 µs on one thread against 3.7–3.8 on two (the
/// worker's start and its result coming back cost about as much as the half it read), 128K
/// 5.0–5.4 either way, 256K 8.0–8.9 on two against 10.0–10.2.
private let wholeTensorGrain = 2 * Parallel.defaultGrain

/// `body`'s results for each core's part of `0..<count`, in order; a part has at least `grain`
/// items.
private func splitRow<R>(_ count: Int, grain: Int = Parallel.defaultGrain, _ body: (Range<Int>) -> R) -> [R] {
    let parts = Swift.max(1, Swift.min(Parallel.threadCount, count / grain))
    return [R](unsafeUninitializedCapacity: parts) { buffer, initialized in
        let base = buffer.baseAddress!
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range { (base + part).initialize(to: body(count * part / parts..<count * (part + 1) / parts)) }
        }
        initialized = parts
    }
}

/// Runs `body` for each row, split across cores when the rows are many or long.
@inline(__always)
private func rowResults<R>(count: Int, inner: Int, _ body: (Int) -> R) -> [R] {
    [R](unsafeUninitializedCapacity: count) { buffer, initialized in
        let base = buffer.baseAddress!
        Parallel.forRanges(count: count, grain: Swift.max(1, 32_768 / Swift.max(inner, 1))) { rows in
            for row in rows { (base + row).initialize(to: body(row)) }
        }
        initialized = count
    }
}

// MARK: - Public reductions

extension Tensor {
    /// The sum of all elements (`torch.sum`); integer and bool tensors sum to int64.
    public func sum(dtype: DType? = nil) -> Tensor { sum(dims: [], keepdim: false, dtype: dtype) }

    /// The sum over one dimension.
    ///
    /// ```swift
    /// t.sum(dim: 1, keepdim: true)
    /// ```
    public func sum(dim: Int, keepdim: Bool = false, dtype: DType? = nil) -> Tensor { sum(dims: [dim], keepdim: keepdim, dtype: dtype) }

    /// The sum over several dimensions (all of them when `dims` is empty).
    public func sum(dims: [Int], keepdim: Bool = false, dtype: DType? = nil) -> Tensor {
        let resultDType = dtype ?? (self.dtype.isFloatingPoint ? self.dtype : .int64)
        guard let axes = reductionDims(dims) else { return self }
        let output = sumKernel(axes, keepdim: keepdim, dtype: resultDType, product: false)
        if Tensor.isRecording(self) {
            let shape = self.shape
            Tensor.record(dims.isEmpty ? "SumBackward0" : "SumBackward1", inputs: [self], outputs: [output]) { gradients in
                [Tensor.expandReduced(gradients[0], to: shape, dims: axes, keepdim: keepdim || dims.isEmpty)]
            }
        }
        return output
    }

    private func sumKernel(_ axes: [Int], keepdim: Bool, dtype: DType, product: Bool) -> Tensor {
        if !product, device.kind == .cpu, isContiguous, let first = axes.first, let last = axes.last,
            axes == Array(first...last), shape[(last + 1)...].reduce(1, *) > 1, numel > 0
        {
            // Consecutive dimensions with kept ones after them (a bias gradient's `sumTo`, a mean
            // over a sequence): add whole rows into per-column totals, rather than transposing
            // the input into a contiguous copy first. With a single column ([B, N, 1]) the reduced
            // elements are contiguous already, and the row sums' vector blocks beat one chain of
            // Double additions.
            let (before, after) = (Array(shape[..<first]), Array(shape[(last + 1)...]))
            let outputShape = keepdim ? before + axes.map { _ in 1 } + after : before + after
            let output = Tensor(uninitializedShape: outputShape, dtype: dtype, device: device)
            self.dtype.dispatch(
                SumColumnsKernel(input: self, slices: before.reduce(1, *), columns: after.reduce(1, *), output: output))
            return output
        }
        let layout = reductionLayout(axes)
        let output = Tensor(uninitializedShape: keepdim ? layout.keptShape : layout.squeezedShape, dtype: dtype, device: device)
        if layout.inner == 0 || layout.outer == 0 {
            output.fillElements(.integer(product ? 1 : 0))
        } else if device.kind == .cuda {
            Tensor.launchReduction(product ? .prod : .sum, layout, values: output)
        } else {
            self.dtype.dispatch(SumRowsKernel(layout: layout, output: output, product: product))
        }
        return output
    }

    /// The mean of all elements (`torch.mean`); floating-point tensors only.
    public func mean() -> Tensor { mean(dims: [], keepdim: false) }

    /// The mean over one dimension.
    public func mean(dim: Int, keepdim: Bool = false) -> Tensor { mean(dims: [dim], keepdim: keepdim) }

    /// The mean over several dimensions (all of them when `dims` is empty).
    public func mean(dims: [Int], keepdim: Bool = false) -> Tensor {
        guard dtype.isFloatingPoint else {
            reportError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(dtype.legacyName)")
            return self
        }
        guard let axes = reductionDims(dims) else { return self }
        let count = axes.reduce(1) { $0 * shape[$1] }
        let output = sumKernel(axes, keepdim: keepdim, dtype: dtype, product: false)
        if device.kind == .cuda {
            Tensor.launchRegistered("div", dtype: output.dtype, [output, output, Tensor.full([], .floating(Double(count)), dtype: output.dtype)])
        } else {
            output.dtype.dispatch(DivideKernel(tensor: output, divisor: Double(count)))
        }
        if Tensor.isRecording(self) {
            let shape = self.shape
            Tensor.record(dims.isEmpty ? "MeanBackward0" : "MeanBackward1", inputs: [self], outputs: [output]) { gradients in
                [Tensor.expandReduced(gradients[0], to: shape, dims: axes, keepdim: keepdim || dims.isEmpty) / Double(count)]
            }
        }
        return output
    }

    /// The product of all elements (`torch.prod`).
    public func prod(dtype: DType? = nil) -> Tensor { prod(dims: [], keepdim: false, dtype: dtype) }

    /// The product over one dimension.
    public func prod(dim: Int, keepdim: Bool = false, dtype: DType? = nil) -> Tensor { prod(dims: [dim], keepdim: keepdim, dtype: dtype) }

    func prod(dims: [Int], keepdim: Bool, dtype: DType?) -> Tensor {
        let resultDType = dtype ?? (self.dtype.isFloatingPoint ? self.dtype : .int64)
        guard let axes = reductionDims(dims) else { return self }
        let output = sumKernel(axes, keepdim: keepdim, dtype: resultDType, product: true)
        if Tensor.isRecording(self) {
            let input = SavedTensor(input: self), result = SavedTensor(output: output)
            let shape = self.shape
            Tensor.record(dims.isEmpty ? "ProdBackward0" : "ProdBackward1", inputs: [self], outputs: [output], savedOutputs: [result]) { gradients in
                let x = input.unpack()
                let keep = keepdim || dims.isEmpty
                let gradient = Tensor.expandReduced(gradients[0], to: shape, dims: axes, keepdim: keep)
                let product = Tensor.expandReduced(result.unpack(), to: shape, dims: axes, keepdim: keep)
                let isZero = x .== 0
                let zeros = isZero.sum(dims: axes, keepdim: true)
                // Building the gradient's graph with two zeros in a slice: the gradient is 0
                // there, but its derivative is not, so use the form that keeps it.
                if GradMode.isEnabled && (zeros .> 1).toArray(as: Bool.self).contains(true) {
                    return [gradient * Tensor.exclusiveProducts(x, axes: axes)]
                }
                // With one zero in a slice, the zero's gradient is the product of the others.
                let nonzeroX = Tensor.where(isZero, 1.0, x)
                let othersProduct = nonzeroX.prod(dims: axes, keepdim: true, dtype: nil).expand(shape)
                let atZero = Tensor.where(zeros.expand(shape) .== 1, othersProduct, 0.0)
                // Dividing by 1 where x is 0 keeps the unused branch finite, so that its
                // derivative (taken in double backward) is 0 there rather than NaN.
                return [gradient * Tensor.where(isZero, atZero, product / nonzeroX)]
            }
        }
        return output
    }

    /// Π_{j≠i} xⱼ over the slice along `axes` of each element i: every product with one
    /// element left out, as an n×n product per slice of n. Differentiable everywhere, zeros
    /// included, which `product / x` is not; used only for double backward through zeros.
    static func exclusiveProducts(_ x: Tensor, axes: [Int]) -> Tensor {
        let kept = (0..<x.dim).filter { !axes.contains($0) }
        let order = kept + axes
        let arranged = x.permute(order)
        let count = axes.reduce(1) { $0 * x.shape[$1] }
        let rows = arranged.reshape(kept.map { x.shape[$0] } + [count])
        let square = rows.unsqueeze(-2).expand(Array(rows.shape.dropLast()) + [count, count])
        let products = Tensor.where(Tensor.eye(count, dtype: .bool, device: x.device), 1.0, square).prod(dim: -1)
        var inverse = [Int](repeating: 0, count: order.count)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        return products.reshape(arranged.shape).permute(inverse)
    }

    /// The largest element (`torch.max()`); NaN if any element is NaN.
    public func max() -> Tensor { extremumAll(largest: true) }

    /// The smallest element (`torch.min()`).
    public func min() -> Tensor { extremumAll(largest: false) }

    private func extremumAll(largest: Bool) -> Tensor {
        guard numel > 0 else {
            reportError(
                "\(largest ? "max" : "min")(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
            return self
        }
        let layout = reductionLayout(Array(0..<dim))
        let output = Tensor(uninitializedShape: [], dtype: dtype, device: device)
        Tensor.runExtremum(layout, values: output, indices: nil, largest: largest)
        if Tensor.isRecording(self) {
            let input = SavedTensor(input: self), result = SavedTensor(output: output)
            Tensor.record(largest ? "MaxBackward1" : "MinBackward1", inputs: [self], outputs: [output], savedOutputs: [result]) { gradients in
                [Tensor.evenlyDistribute(gradients[0], input: input.unpack(), value: result.unpack())]
            }
        }
        return output
    }

    /// The gradient of a reduction to one value, shared evenly by the elements equal to it.
    static func evenlyDistribute(_ gradient: Tensor, input: Tensor, value: Tensor) -> Tensor {
        let isExtremum = input .== value
        let count = isExtremum.sum()
        return Tensor.where(isExtremum, gradient / count, 0.0)
    }

    /// The largest elements along `dim` and their first indices (`torch.max(dim=)`).
    ///
    /// ```swift
    /// let (values, indices) = logits.max(dim: 1)
    /// ```
    public func max(dim: Int, keepdim: Bool = false) -> (values: Tensor, indices: Tensor) {
        extremum(dim: dim, keepdim: keepdim, largest: true)
    }

    /// The smallest elements along `dim` and their first indices (`torch.min(dim=)`).
    public func min(dim: Int, keepdim: Bool = false) -> (values: Tensor, indices: Tensor) {
        extremum(dim: dim, keepdim: keepdim, largest: false)
    }

    private func extremum(dim: Int, keepdim: Bool, largest: Bool) -> (values: Tensor, indices: Tensor) {
        let axis = normalizedDim(dim)
        guard self.dim == 0 || shape[axis] > 0 else {
            reportError(
                "\(largest ? "max" : "min")(): Expected reduction dim \(axis) to have non-zero size.")
            return (self, self)
        }
        let layout = reductionLayout(self.dim == 0 ? [] : [axis])
        let resultShape = keepdim ? layout.keptShape : layout.squeezedShape
        let values = Tensor(uninitializedShape: resultShape, dtype: dtype, device: device)
        let indices = Tensor(uninitializedShape: resultShape, dtype: .int64, device: device)
        Tensor.runExtremum(layout, values: values, indices: indices, largest: largest)
        if Tensor.isRecording(self) {
            let shape = self.shape
            let savedIndices = indices.detach()
            Tensor.record(largest ? "MaxBackward0" : "MinBackward0", inputs: [self], outputs: [values, indices]) { gradients in
                let index = keepdim ? savedIndices : savedIndices.unsqueeze(axis)
                let gradient = keepdim ? gradients[0] : gradients[0].unsqueeze(axis)
                return [
                    Tensor.zeros(
                        shape, receiving: gradient, write: { _ = $0.scatterGather(.scatter, index: index, axis: axis, other: gradient, src: gradient) },
                        recorded: { $0.scatter(dim: axis, index: index, src: gradient) })
                ]
            }
        }
        return (values, indices)
    }

    /// The largest (or smallest) element of each row of `layout` and, when asked, its first index.
    private static func runExtremum(_ layout: ReductionLayout, values: Tensor, indices: Tensor?, largest: Bool) {
        if values.device.kind == .cuda {
            launchReduction(largest ? .max : .min, layout, values: values, indices: indices)
        } else {
            layout.input.dtype.dispatch(ExtremumRowsKernel(layout: layout, values: values, indices: indices, largest: largest))
        }
    }

    /// The largest values over `dims` (`torch.amax`); ties share the gradient evenly.
    public func amax(dims: [Int] = [], keepdim: Bool = false) -> Tensor { extremumValues(dims, keepdim: keepdim, largest: true) }

    /// The largest values along one dimension.
    public func amax(dim: Int, keepdim: Bool = false) -> Tensor { amax(dims: [dim], keepdim: keepdim) }

    /// The smallest values over `dims` (`torch.amin`).
    public func amin(dims: [Int] = [], keepdim: Bool = false) -> Tensor { extremumValues(dims, keepdim: keepdim, largest: false) }

    /// The smallest values along one dimension.
    public func amin(dim: Int, keepdim: Bool = false) -> Tensor { amin(dims: [dim], keepdim: keepdim) }

    private func extremumValues(_ dims: [Int], keepdim: Bool, largest: Bool) -> Tensor {
        guard let axes = reductionDims(dims) else { return self }
        let layout = reductionLayout(axes)
        guard layout.inner > 0 else {
            reportError("\(largest ? "amax" : "amin")(): Expected reduction dim \(axes.first ?? 0) to have non-zero size.")
            return self
        }
        let output = Tensor(uninitializedShape: keepdim ? layout.keptShape : layout.squeezedShape, dtype: dtype, device: device)
        Tensor.runExtremum(layout, values: output, indices: nil, largest: largest)
        if Tensor.isRecording(self) {
            let input = SavedTensor(input: self), result = SavedTensor(output: output)
            let shape = self.shape
            Tensor.record(largest ? "AmaxBackward0" : "AminBackward0", inputs: [self], outputs: [output], savedOutputs: [result]) { gradients in
                let x = input.unpack()
                let value = Tensor.expandReduced(result.unpack(), to: shape, dims: axes, keepdim: keepdim)
                let gradient = Tensor.expandReduced(gradients[0], to: shape, dims: axes, keepdim: keepdim)
                let isExtremum = (x .== value)
                let count = isExtremum.sum(dims: axes, keepdim: true)
                return [Tensor.where(isExtremum, gradient / count, 0.0)]
            }
        }
        return output
    }

    /// The index of the largest element, of the flattened tensor or along `dim` (`torch.argmax`).
    public func argmax(dim: Int? = nil, keepdim: Bool = false) -> Tensor { argExtremum(dim: dim, keepdim: keepdim, largest: true) }

    /// The index of the smallest element, of the flattened tensor or along `dim` (`torch.argmin`).
    public func argmin(dim: Int? = nil, keepdim: Bool = false) -> Tensor { argExtremum(dim: dim, keepdim: keepdim, largest: false) }

    private func argExtremum(dim: Int?, keepdim: Bool, largest: Bool) -> Tensor {
        guard let dim else {
            guard numel > 0 else {
                reportError("\(largest ? "argmax" : "argmin")(): Expected reduction dim to be specified for input.numel() == 0.")
                return Tensor.zeros([], dtype: .int64, device: device)
            }
            let flat = reshape([-1])
            let index = noGrad { flat.extremum(dim: 0, keepdim: false, largest: largest).indices }
            return keepdim ? index.reshape(shape.map { _ in 1 }) : index
        }
        return noGrad { extremum(dim: dim, keepdim: keepdim, largest: largest).indices }
    }
}

/// Divides every element by a constant in place (the division of `mean`).
private struct DivideKernel: ElementVisitor {
    let tensor: Tensor, divisor: Double
    func visit<E: Element>(_ type: E.Type) {
        // For half types the compute type is Float, which holds the count exactly.
        let divisor = E.Compute.self == Float.self ? (Float(divisor) as! E.Compute) : E(converting: divisor).compute
        mapElements(into: tensor, tensor, Map<E>(divisor: divisor))
    }

    struct Map<E: Element>: UnaryElementFunction {
        let divisor: E.Compute
        @inline(__always) func callAsFunction(_ x: E) -> E { E(compute: .divide(x.compute, divisor)) }
    }
}
