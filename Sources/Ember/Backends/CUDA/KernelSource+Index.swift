// CUDA gather and scatter along one dimension (`gather`, `index_select`, `scatter`): strided
// grid-stride kernels whose third operand is the source (or target) with the indexed
// dimension's stride zeroed, the index supplying that coordinate.

extension CUDAKernelSource {
    /// `ember_gather_float32`, `ember_scatter_float32`.
    static func indexKernelName(gathering: Bool, _ dtype: DType) -> String { "ember_\(gathering ? "gather" : "scatter")_\(dtype.rawValue)" }

    /// `ember_scatter_add_float32`.
    static func scatterAddKernelName(_ dtype: DType) -> String { "ember_scatter_add_\(dtype.rawValue)" }

    /// The dtypes with hardware atomic adds, which `scatter_add` needs where indices repeat:
    /// int64 adds as unsigned 64-bit (the same two's-complement bits, wrapping as the CPU does).
    static func hasAtomicAdd(_ dtype: DType) -> Bool { [.float32, .float64, .int32, .int64].contains(dtype) }

    /// `target[base(i) + index[i]·axis_stride] += source[i]`, atomically.
    static func scatterAddKernel(_ dtype: DType) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        let operands = ["\(storage)* target", "const long long* index", "const \(storage)* source"]
        return gridStrideKernel(
            name: scatterAddKernelName(dtype), indexing: .strided, operands: operands, extra: ["long long axis_stride"]
        ) { at in
            let element = "target[\(at(0)) + index[\(at(1))] * axis_stride]"
            return dtype == .int64
                ? "    atomicAdd((unsigned long long*)&\(element), (unsigned long long)source[\(at(2))]);"
                : "    atomicAdd(&\(element), source[\(at(2))]);"
        }
    }

    /// Gather: `out[i] = source[base(i) + index[i]·axis_stride]`. Scatter:
    /// `target[base(i) + index[i]·axis_stride] = source[i]`, the last writer winning where an
    /// index repeats (as in PyTorch). Indices are int64 and were checked by the host.
    static func indexKernel(gathering: Bool, _ dtype: DType) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        let operands = gathering
            ? ["\(storage)* out", "const long long* index", "const \(storage)* source"]
            : ["\(storage)* target", "const long long* index", "const \(storage)* source"]
        return gridStrideKernel(
            name: indexKernelName(gathering: gathering, dtype), indexing: .strided, operands: operands,
            extra: ["long long axis_stride"]
        ) { at in
            gathering
                ? "    out[\(at(0))] = source[\(at(2)) + index[\(at(1))] * axis_stride];"
                : "    target[\(at(0)) + index[\(at(1))] * axis_stride] = source[\(at(2))];"
        }
    }
}
