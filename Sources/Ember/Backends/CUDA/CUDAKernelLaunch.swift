// Host-side launch planning for the generated kernels: which variant to run, the packed
// strided layout it takes, and grid sizes. Pure arithmetic, so it is tested without a GPU.

/// How to run an elementwise kernel over operands that share a shape (after broadcasting)
/// but have their own strides.
enum CUDAElementwisePlan: Equatable, Sendable {
    /// Every operand is dense and in order: the `_contiguous` kernel over `count` elements.
    case contiguous(count: Int)
    /// The `_strided` kernel, with the packed `ember_layout` parameter.
    case strided(count: Int, layout: CUDAStridedLayout)
    /// More dimensions than the kernels take even after merging; the caller copies the odd
    /// operands to contiguous memory first.
    case tooManyDimensions

    /// Merges dimensions the way PyTorch's TensorIterator does, so that most views launch
    /// the contiguous kernel or a strided one with few dimensions: size-1 dimensions are
    /// dropped, and a dimension folds into the next inner one when every operand steps over
    /// both as over one. `strides` holds one stride list per operand, output first, in
    /// elements (0 for broadcast dimensions).
    ///
    /// ```swift
    /// // A transposed 2×3 input, written to a contiguous output:
    /// CUDAElementwisePlan.make(shape: [2, 3], strides: [[3, 1], [1, 2]])   // strided, 2 dims
    /// ```
    static func make(shape: [Int], strides: [[Int]]) -> Self {
        precondition(strides.count <= CUDAKernelSource.maxOperands, "too many operands for one kernel")
        precondition(strides.allSatisfy { $0.count == shape.count }, "one stride per dimension and operand")
        let count = shape.reduce(1, *)
        if count == 0 { return .contiguous(count: 0) }
        // Innermost first while merging.
        var sizes: [Int] = []
        var merged: [[Int]] = Array(repeating: [], count: strides.count)
        for dimension in shape.indices.reversed() where shape[dimension] != 1 {
            let size = shape[dimension]
            if let innerSize = sizes.last,
                strides.indices.allSatisfy({ strides[$0][dimension] == merged[$0].last! * innerSize })
            {
                sizes[sizes.count - 1] = innerSize * size
            } else {
                sizes.append(size)
                for operand in strides.indices { merged[operand].append(strides[operand][dimension]) }
            }
        }
        if sizes.isEmpty || (sizes.count == 1 && merged.allSatisfy { $0 == [1] }) { return .contiguous(count: count) }
        guard sizes.count <= CUDAKernelSource.maxDims else { return .tooManyDimensions }
        return .strided(
            count: count, layout: CUDAStridedLayout(sizes: sizes.reversed(), strides: merged.map { $0.reversed() }))
    }
}

/// The strided kernels' `ember_layout` parameter: dimensions outermost first, and per
/// operand (output first) a stride per dimension, in elements.
struct CUDAStridedLayout: Equatable, Sendable {
    /// Dimension sizes, outermost first.
    let sizes: [Int]
    /// Per operand, output first, one stride per dimension.
    let strides: [[Int]]

    /// The parameter as the kernel reads it: `ndim`, then sizes padded to `maxDims`, then
    /// `maxOperands` rows of `maxDims` strides; 81 int64 words, 648 bytes.
    var words: [Int64] {
        [Int64](unsafeUninitializedCapacity: Self.byteCount / 8) { buffer, count in
            write(to: UnsafeMutableRawPointer(buffer.baseAddress!))
            count = Self.byteCount / 8
        }
    }

    /// Writes `words` at `destination` (8-byte aligned).
    func write(to destination: UnsafeMutableRawPointer) {
        let dims = CUDAKernelSource.maxDims
        let words = destination.bindMemory(to: Int64.self, capacity: Self.byteCount / 8)
        words.initialize(repeating: 0, count: Self.byteCount / 8)
        words[0] = Int64(sizes.count)
        for (dimension, size) in sizes.enumerated() { words[1 + dimension] = Int64(size) }
        for (operand, row) in strides.enumerated() {
            for (dimension, stride) in row.enumerated() { words[1 + dims * (1 + operand) + dimension] = Int64(stride) }
        }
    }

    /// The size of `ember_layout` in bytes.
    static var byteCount: Int { (1 + CUDAKernelSource.maxDims * (1 + CUDAKernelSource.maxOperands)) * 8 }
}

/// Grid sizes for the generated kernels, all launched with `CUDAKernelSource.blockSize` threads.
enum CUDALaunchGeometry {
    /// Blocks per multiprocessor a grid-stride kernel launches at most: enough to fill the
    /// GPU, few enough that each thread loops a few times instead of paying for more blocks.
    static let blocksPerMultiprocessor = 32

    /// Blocks for an elementwise kernel over `count` elements.
    static func elementwiseBlocks(count: Int, multiprocessors: Int) -> Int {
        let needed = (count + CUDAKernelSource.blockSize - 1) / CUDAKernelSource.blockSize
        return max(1, min(needed, multiprocessors * blocksPerMultiprocessor))
    }

    /// Whether `outer` rows of `inner` elements reduce faster a warp per row (many short
    /// rows) or a block per row (few or long rows, which a block's 256 threads share).
    static func reductionShape(outer: Int, inner: Int, multiprocessors: Int) -> CUDAReductionShape {
        if outer < multiprocessors * 4 { return .block }
        return inner <= 4096 ? .warp : .block
    }

    /// Blocks for a reduction of `outer` rows.
    static func reductionBlocks(outer: Int, shape: CUDAReductionShape, multiprocessors: Int) -> Int {
        let rowsPerBlock = shape == .block ? 1 : CUDAKernelSource.blockSize / 32
        let needed = (outer + rowsPerBlock - 1) / rowsPerBlock
        return max(1, min(needed, multiprocessors * blocksPerMultiprocessor))
    }
}
