// CUDA gather and scatter along one dimension (`gather`, `index_select`, `scatter`): strided
// grid-stride kernels whose third operand is the source (or target) with the indexed
// dimension's stride zeroed, the index supplying that coordinate.

extension CUDAKernelSource {
    /// `ember_gather_float32`, `ember_scatter_float32`.
    static func indexKernelName(gathering: Bool, _ dtype: DType) -> String { "ember_\(gathering ? "gather" : "scatter")_\(dtype.rawValue)" }

    /// `ember_scatter_add_float32`.
    static func scatterAddKernelName(_ dtype: DType) -> String { "ember_scatter_add_\(dtype.rawValue)" }

    /// The dtypes `scatter_add` has a kernel for, adding atomically where indices repeat: the
    /// hardware's adds for float32, float64, int32 and int64 (as unsigned 64-bit: the same
    /// two's-complement bits, wrapping as the CPU does), a compare-and-swap loop on the 32-bit
    /// word around the element for the 16- and 8-bit dtypes. bool stays on the host.
    static func hasAtomicAdd(_ dtype: DType) -> Bool { dtype != .bool }

    /// `target[base(i) + index[i]·axis_stride] += source[i]`, atomically.
    static func scatterAddKernel(_ dtype: DType) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        let operands = ["\(storage)* target", "const long long* index", "const \(storage)* source"]
        return gridStrideKernel(
            name: scatterAddKernelName(dtype), indexing: .strided, operands: operands, extra: ["long long axis_stride"]
        ) { at in
            let element = "target[\(at(0)) + index[\(at(1))] * axis_stride]", value = "source[\(at(2))]"
            // The narrow dtypes' sums, from the element's bits to the new bits: in float,
            // rounded once, for the half types; wrapping for the integers, as on the CPU.
            let narrowSum: String? =
                switch dtype {
                case .float16, .bfloat16:
                    "\(storage) h; h.bits = (unsigned short)bits; return (unsigned int)\(dtype.cudaStore("ember_compute(h) + ember_compute(\(value))")).bits;"
                case .int16, .int8, .uint8:
                    "return (unsigned int)(\(dtype == .int16 ? "unsigned short" : "unsigned char"))((\(storage))bits + \(value));"
                default: nil
                }
            if let narrowSum { return "    ember_atomic_narrow(&\(element), [&](unsigned int bits) { \(narrowSum) });" }
            return dtype == .int64
                ? "    atomicAdd((unsigned long long*)&\(element), (unsigned long long)\(value));"
                : "    atomicAdd(&\(element), \(value));"
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
