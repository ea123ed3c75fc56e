// CUDA gather and scatter along one dimension (`gather`, `index_select`, `scatter`): strided
// grid-stride kernels whose third operand is the source (or target) with the indexed
// dimension's stride zeroed, the index supplying that coordinate. Every index is checked
// against the dimension's size as the kernel reads it (see `CUDAIndexErrors`).

extension CUDAKernelSource {
    /// `ember_gather_float32`, `ember_scatter_float32`.
    static func indexKernelName(gathering: Bool, _ dtype: DType) -> String { "ember_\(gathering ? "gather" : "scatter")_\(dtype.rawValue)" }

    /// `ember_scatter_add_float32`.
    static func scatterAddKernelName(_ dtype: DType) -> String { "ember_scatter_add_\(dtype.rawValue)" }

    /// `target[base(i) + index[i]·axis_stride] += source[i]`, atomically where indices repeat:
    /// the hardware's adds for float32, float64, int32 and int64 (as unsigned 64-bit: the same
    /// two's-complement bits, wrapping as the CPU does), a compare-and-swap loop on the 32-bit
    /// word around the element for the 16- and 8-bit dtypes and bool (whose sum is `or`).
    static func scatterAddKernel(_ dtype: DType) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        let operands = ["\(storage)* target", "const long long* index", "const \(storage)* source"]
        return gridStrideKernel(
            name: scatterAddKernelName(dtype), indexing: .strided, operands: operands, extra: indexParameters
        ) { at in
            let element = "target[\(at(0)) + position * axis_stride]", value = "source[\(at(2))]"
            // The narrow dtypes' sums, from the element's bits to the new bits: in float,
            // rounded once, for the half types; wrapping for the integers, as on the CPU.
            let narrowSum: String? =
                switch dtype {
                case .float16, .bfloat16:
                    "\(storage) h; h.bits = (unsigned short)bits; return (unsigned int)\(dtype.cudaStore("ember_compute(h) + ember_compute(\(value))")).bits;"
                case .int16, .int8, .uint8:
                    "return (unsigned int)(\(dtype == .int16 ? "unsigned short" : "unsigned char"))((\(storage))bits + \(value));"
                case .bool: "return (bits != 0u || \(value)) ? 1u : 0u;"
                default: nil
                }
            if let narrowSum { return checkedPosition(at) + "    ember_atomic_narrow(&\(element), [&](unsigned int bits) { \(narrowSum) });" }
            return checkedPosition(at)
                + (dtype == .int64
                    ? "    atomicAdd((unsigned long long*)&\(element), (unsigned long long)\(value));"
                    : "    atomicAdd(&\(element), \(value));")
        }
    }

    /// Gather: `out[i] = source[base(i) + index[i]·axis_stride]`. Scatter:
    /// `target[base(i) + index[i]·axis_stride] = source[i]`, the last writer winning where an
    /// index repeats (as in PyTorch).
    static func indexKernel(gathering: Bool, _ dtype: DType) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        let operands = gathering
            ? ["\(storage)* out", "const long long* index", "const \(storage)* source"]
            : ["\(storage)* target", "const long long* index", "const \(storage)* source"]
        return gridStrideKernel(
            name: indexKernelName(gathering: gathering, dtype), indexing: .strided, operands: operands,
            extra: indexParameters
        ) { at in
            checkedPosition(at)
                + (gathering
                    ? "    out[\(at(0))] = source[\(at(2)) + position * axis_stride];"
                    : "    target[\(at(0)) + position * axis_stride] = source[\(at(2))];")
        }
    }

    /// Elements of a bool mask that one thread of the mask kernels walks, in order.
    static let maskTile = 128

    /// Mask compaction (`nonzero`, `t[mask]`) in two passes over tiles of `maskTile` elements,
    /// a thread per tile: `ember_count_true` counts each tile's true elements, the host turns the
    /// counts into each tile's first output slot, and `ember_true_positions` writes the flat
    /// positions of the tile's true elements from that slot on, in order.
    static let maskKernels: [(name: String, source: String)] = [
        (
            "ember_count_true",
            """
            extern "C" __global__ void __launch_bounds__(EMBER_BLOCK)
            ember_count_true(long long n, long long tile, const bool* mask, long long* counts) {
              EMBER_FOR_EACH(t, (n + tile - 1) / tile) {
                const long long end = (t + 1) * tile < n ? (t + 1) * tile : n;
                long long count = 0;
                for (long long i = t * tile; i < end; ++i) count += mask[i] ? 1 : 0;
                counts[t] = count;
              }
            }

            """
        ),
        (
            "ember_true_positions",
            """
            extern "C" __global__ void __launch_bounds__(EMBER_BLOCK)
            ember_true_positions(long long n, long long tile, const bool* mask, const long long* first_slots, long long* positions) {
              EMBER_FOR_EACH(t, (n + tile - 1) / tile) {
                const long long end = (t + 1) * tile < n ? (t + 1) * tile : n;
                long long slot = first_slots[t];
                for (long long i = t * tile; i < end; ++i) {
                  if (mask[i]) positions[slot++] = i;
                }
              }
            }

            """
        ),
    ]

    /// The index kernels' parameters after their operands: the indexed dimension's stride and
    /// size, and the check's details for `ember_index_out_of_range`.
    private static let indexParameters = [
        "long long axis_stride", "long long axis_size", "int negative_from_end", "int check_op", "int check_axis",
        "long long* index_error",
    ]

    /// `position`, the index operand's value (negatives counted from the end where the op allows
    /// them); an element whose index is out of range is recorded and skipped.
    private static func checkedPosition(_ at: (Int) -> String) -> String {
        """
            long long position = index[\(at(1))];
            if (position < 0 && negative_from_end) position += axis_size;
            if (position < 0 || position >= axis_size) {
              ember_index_out_of_range(index_error, check_op, check_axis, axis_size, index[\(at(1))]);
              continue;
            }

        """
    }
}
