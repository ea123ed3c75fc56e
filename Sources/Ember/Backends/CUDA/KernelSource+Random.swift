// CUDA random fills: Philox4x32-10 blocks turned into uniform, normal and integer elements with
// exactly the arithmetic of `PhiloxDistribution.referenceFill`, so the GPU's values are checked
// against the CPU's (Scripts/gpu-check).

/// The distributions with random-fill kernels; `PhiloxDistribution` holds their parameters.
enum CUDARandomKind: String, CaseIterable, Sendable {
    case uniform, normal, integers

    /// Whether `dtype` has a kernel: uniform and normal fill the floating dtypes, integers all.
    func supports(_ dtype: DType) -> Bool { self == .integers || dtype.isFloatingPoint }
}

extension CUDAKernelSource {
    /// `ember_random_normal_float32`.
    static func randomKernelName(_ kind: CUDARandomKind, _ dtype: DType) -> String { "ember_random_\(kind.rawValue)_\(dtype.rawValue)" }

    /// The Philox block function, in the random modules only.
    static let philoxSource = """
        struct ember_words { unsigned int w[4]; };

        // Philox4x32-10: counter = the 64-bit block index, key = the 64-bit seed.
        __device__ __forceinline__ ember_words ember_philox(unsigned long long index, unsigned long long seed) {
          unsigned int c0 = (unsigned int)index, c1 = (unsigned int)(index >> 32), c2 = 0u, c3 = 0u;
          unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
        #pragma unroll
          for (int round = 0; round < 10; ++round) {
            if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
            const unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
            const unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
            c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
          }
          ember_words out;
          out.w[0] = c0; out.w[1] = c1; out.w[2] = c2; out.w[3] = c3;
          return out;
        }

        // A uniform on (0, 1), never 0 or 1, from 32 bits or from 53 of two words.
        __device__ __forceinline__ double ember_open_unit(unsigned int w) { return ((double)w + 0.5) * 2.3283064365386963e-10; }
        __device__ __forceinline__ double ember_open_unit(unsigned int high, unsigned int low) {
          return ((double)((((unsigned long long)high << 32) | low) >> 11) + 0.5) * 1.1102230246251565e-16;
        }
        // Box-Muller. Products stay products and sums stay sums (fma is explicit where wanted),
        // so that the CPU reproduces the bits; NVRTC would otherwise contract a*b+c.
        __device__ __forceinline__ void ember_normal_pair(double u1, double u2, double* z0, double* z1) {
          const double radius = sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
          *z0 = radius * cos(angle);
          *z1 = radius * sin(angle);
        }

        """

    /// A fill of `ember_n` contiguous elements from Philox blocks `offset…`, each thread
    /// turning whole blocks into `elementsPerBlock` consecutive elements.
    static func randomKernel(_ kind: CUDARandomKind, _ dtype: DType) -> (name: String, source: String) {
        let name = randomKernelName(kind, dtype)
        let storage = dtype.cudaStorageType, compute = dtype.cudaComputeType
        let parameters: String
        let perBlock: String
        var prologue = ""
        let body: String
        switch kind {
        case .uniform where dtype == .float64:
            parameters = "double from, double range, double to"
            perBlock = "2"
            body = """
                    const unsigned long long bits = (((unsigned long long)w.w[2 * lane] << 32) | w.w[2 * lane + 1]) >> 11;
                    const double value = __fma_rn((double)bits * 1.1102230246251565e-16, range, from);
                    out[i] = value >= to ? from : value;
                """
        case .uniform:
            parameters = "float from, float range, float to"
            perBlock = "4"
            body = """
                    const float unit = (float)(w.w[lane] >> 8) * 5.9604644775390625e-08f;
                    \(storage) value = \(dtype.cudaStore("__fmaf_rn(unit, range, from)"));
                    if ((\(compute))ember_compute(value) >= to) value = \(dtype.cudaStore("from"));
                    out[i] = value;
                """
        case .normal where dtype == .float64:
            parameters = "double mean, double std"
            perBlock = "2"
            prologue = """
                    double z[2];
                    ember_normal_pair(ember_open_unit(w.w[0], w.w[1]), ember_open_unit(w.w[2], w.w[3]), &z[0], &z[1]);
                """
            body = "      out[i] = __fma_rn(z[lane], std, mean);"
        case .normal:
            parameters = "double mean, double std"
            perBlock = "4"
            prologue = """
                    double z[4];
                    ember_normal_pair(ember_open_unit(w.w[0]), ember_open_unit(w.w[1]), &z[0], &z[1]);
                    ember_normal_pair(ember_open_unit(w.w[2]), ember_open_unit(w.w[3]), &z[2], &z[3]);
                """
            body = "      out[i] = \(dtype.cudaStore("(float)__fma_rn(z[lane], std, mean)"));"
        case .integers:
            parameters = "long long low, unsigned long long range"
            perBlock = "per_block"
            let value = "ember_v"
            body = """
                    const unsigned long long bits = per_block == 4 ? (unsigned long long)w.w[lane]
                      : (((unsigned long long)w.w[2 * lane] << 32) | w.w[2 * lane + 1]);
                    const long long \(value) = (long long)((unsigned long long)low + bits % range);
                    out[i] = \(castExpression(from: .int64, to: dtype, value: value));
                """
        }
        let source = """
            extern "C" __global__ void __launch_bounds__(EMBER_BLOCK)
            \(name)(long long ember_n, \(storage)* out, unsigned long long seed, unsigned long long offset, \(parameters)) {
            \(kind == .integers ? "  const int per_block = range > 4294967296ull ? 2 : 4;\n" : "")\
              const long long blocks = (ember_n + \(perBlock) - 1) / \(perBlock);
              EMBER_FOR_EACH(block, blocks) {
                const ember_words w = ember_philox(offset + (unsigned long long)block, seed);
            \(prologue.isEmpty ? "" : prologue + "\n")\
            #pragma unroll
                for (int lane = 0; lane < \(perBlock); ++lane) {
                  const long long i = block * \(perBlock) + lane;
                  if (i >= ember_n) break;
            \(body)
                }
              }
            }

            """
        return (name, source)
    }
}

extension PhiloxDistribution {
    /// The random kernel that draws this distribution, and its parameters after
    /// `(count, out, seed, offset)`: uniform bounds in the compute type (float, or double for
    /// float64), normal mean and std, the integers' low end and range.
    func kernel(for dtype: DType) -> (kind: CUDARandomKind, parameters: [CUDAKernelArgument]) {
        switch self {
        case .uniform(let from, let to):
            let parameters: [CUDAKernelArgument] = dtype == .float64
                ? [.value(from), .value(to - from), .value(to)] : [.value(Float(from)), .value(Float(to - from)), .value(Float(to))]
            return (.uniform, parameters)
        case .normal(let mean, let std): return (.normal, [.value(mean), .value(std)])
        case .integers(let low, let high): return (.integers, [.value(low), .value(UInt64(bitPattern: high &- low))])
        }
    }
}
