import Foundation
import Testing

@testable import Ember

@Suite struct CUDAKernelSourceTests {
    /// Every registry op × dtype × indexing, plus where, fill, every cast pair, every
    /// reduction, softmax and log-softmax of the 4 float dtypes, the random fills (uniform and
    /// normal of the 4 float dtypes, integers of all), gather/scatter and the mask compaction:
    /// nothing is silently left out of the modules.
    @Test func everyKernelIsGenerated() {
        let elementwise = CUDAElementwiseOp.registry.reduce(0) { $0 + $1.dtypes.count * CUDAIndexing.allCases.count }
        let dtypes = DType.allCases.count, indexings = CUDAIndexing.allCases.count
        let expected =
            elementwise + 2 * dtypes * indexings + dtypes * dtypes * indexings
            + dtypes * CUDAReduction.allCases.count * CUDAReductionShape.allCases.count
            + 2 * DType.allCases.filter(\.isFloatingPoint).count * CUDAReductionShape.allCases.count
            + 2 * DType.allCases.filter(\.isFloatingPoint).count + dtypes + 2 * dtypes
            + dtypes + CUDAKernelSource.maskKernels.count
        #expect(CUDAKernelSource.kernelCount == expected)
        #expect(CUDAKernelSource.allModules.count == CUDAKernelFamily.allCases.count * dtypes)

        let names = CUDAKernelSource.allModules.flatMap(\.kernels)
        #expect(Set(names).count == names.count)
        for module in CUDAKernelSource.allModules {
            #expect(!module.source.contains("#include"), "\(module.name) must stay header-free")
            for kernel in module.kernels {
                #expect(module.source.contains("\n\(kernel)("), "\(kernel) is not defined in \(module.name)")
            }
        }
    }

    @Test func registryCoversTheOpsWithTheirDtypes() {
        let byName = Dictionary(uniqueKeysWithValues: CUDAElementwiseOp.registry.map { ($0.name, $0) })
        for name in ["exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tanh", "sigmoid"] {
            #expect(byName[name]?.kind == .unaryFloat)
            #expect(byName[name]?.dtypes == [.float32, .float64, .float16, .bfloat16])
        }
        for name in ["neg", "abs", "sign", "relu"] { #expect(byName[name]?.dtypes == DType.allCases) }
        for name in ["add", "sub", "mul", "div_trunc", "div_floor", "pow", "maximum", "minimum"] {
            #expect(byName[name]?.dtypes == DType.allCases)
        }
        #expect(byName["div"]?.dtypes.allSatisfy(\.isFloatingPoint) == true)  // true division promotes
        for name in ["lt", "le", "gt", "ge", "eq", "ne"] { #expect(byName[name]?.kind == .compare) }

        #expect(byName["exp"]?.expression(for: .float16) == Exp.cuda)
        #expect(byName["div_floor"]?.expression(for: .int32) == "ember_div_floor(a, b)")
        #expect(byName["div_floor"]?.expression(for: .float32) == "ember_div_floor(a, b)")
        #expect(byName["div_trunc"]?.expression(for: .float64) == DivTrunc.cuda)
        #expect(byName["pow"]?.expression(for: .bool) == "a || !b")
        #expect(byName["add"]?.expression(for: .bool) == Add.cuda)
    }

    @Test func kernelsUseTheDtypesTypes() {
        let half = CUDAKernelSource.module(.unary, .float16)
        #expect(half.kernels.contains("ember_unary_exp_float16_contiguous"))
        #expect(half.source.contains("const float x = ember_compute(in[ember_i]);"))
        #expect(half.source.contains("out[ember_i] = ember_float_to_half(ember_r);"))

        let compare = CUDAKernelSource.module(.compare, .bfloat16)
        #expect(compare.source.contains("ember_compare_lt_bfloat16_strided(long long ember_n, const __grid_constant__ ember_layout ember_shape, bool* out, const ember_bf16* in_a, const ember_bf16* in_b)"))
        #expect(compare.source.contains("const bool ember_r = (bool)(a < b);"))

        let cast = CUDAKernelSource.module(.cast, .float32)
        #expect(cast.kernels.contains("ember_copy_float32_contiguous"))
        #expect(cast.kernels.contains("ember_cast_float32_to_int8_strided"))
        #expect(cast.source.contains("out[ember_at[0]] = (signed char)ember_double_to_int32(((double)ember_compute(in[ember_at[1]])));"))

        let sum = CUDAKernelSource.module(.reduce, .int8)
        #expect(sum.source.contains("ember_reduce_sum_int8_block(long long outer, long long inner, const signed char* in, long long* out)"))
        #expect(CUDAKernelSource.reductionOutputType(.sum, .bool) == .int64)
        #expect(CUDAKernelSource.reductionOutputType(.max, .float16) == .float16)
    }

    /// The CPU's conversion rules, spelled in C++.
    @Test func castExpressionsFollowTheCPU() {
        let cast = CUDAKernelSource.castExpression
        #expect(cast(.int64, .float32, "v") == "(float)(double)((long long)(v))")  // Int64 → Double → Float
        #expect(cast(.float64, .float16, "v") == "ember_float_to_half((float)((double)ember_compute(v)))")
        #expect(cast(.float32, .int64, "v") == "ember_double_to_int64(((double)ember_compute(v)))")
        #expect(cast(.bfloat16, .uint8, "v") == "(unsigned char)ember_double_to_int32(((double)ember_compute(v)))")
        #expect(cast(.int32, .int8, "v") == "(signed char)((long long)(v))")
        #expect(cast(.float16, .bool, "v") == "(((double)ember_compute(v)) != 0)")
    }

    @Test func stridedLayoutMatchesTheKernelStruct() {
        let prelude = CUDAKernelSource.prelude
        #expect(prelude.contains("long long ndim;"))
        #expect(prelude.contains("long long size[EMBER_MAX_DIMS];"))
        #expect(prelude.contains("long long stride[EMBER_MAX_OPERANDS][EMBER_MAX_DIMS];"))
        #expect(prelude.contains("#define EMBER_MAX_DIMS \(CUDAKernelSource.maxDims)"))
        #expect(prelude.contains("#define EMBER_BLOCK \(CUDAKernelSource.blockSize)"))
        #expect(CUDAStridedLayout.byteCount == 648)
        let layout = CUDAStridedLayout(sizes: [2, 3], strides: [[3, 1], [1, 2]])
        let words = layout.words
        #expect(words.count * 8 == CUDAStridedLayout.byteCount)
        #expect(Array(words[0..<3]) == [2, 2, 3])
        #expect(Array(words[17..<19]) == [3, 1])  // output strides
        #expect(Array(words[33..<35]) == [1, 2])  // first input's strides
        #expect(words[49...].allSatisfy { $0 == 0 })
    }
}

@Suite struct CUDAElementwisePlanTests {
    @Test func denseOperandsRunContiguous() {
        #expect(CUDAElementwisePlan.make(shape: [4, 5, 6], strides: [[30, 6, 1], [30, 6, 1]]) == .contiguous(count: 120))
        #expect(CUDAElementwisePlan.make(shape: [], strides: [[], []]) == .contiguous(count: 1))
        #expect(CUDAElementwisePlan.make(shape: [3, 0], strides: [[0, 1], [0, 1]]) == .contiguous(count: 0))
        // Size-1 dimensions have arbitrary strides and do not matter.
        #expect(CUDAElementwisePlan.make(shape: [1, 8, 1], strides: [[99, 1, 7], [0, 1, 3]]) == .contiguous(count: 8))
    }

    @Test func viewsMergeWhatTheyCan() {
        // A transpose cannot merge.
        let transpose = CUDAElementwisePlan.make(shape: [2, 3], strides: [[3, 1], [1, 2]])
        #expect(transpose == .strided(count: 6, layout: CUDAStridedLayout(sizes: [2, 3], strides: [[3, 1], [1, 2]])))
        // A row broadcast over a contiguous 3-D output: the two leading dims merge.
        let broadcast = CUDAElementwisePlan.make(shape: [2, 3, 4], strides: [[12, 4, 1], [12, 4, 1], [0, 0, 1]])
        #expect(broadcast == .strided(count: 24, layout: CUDAStridedLayout(sizes: [6, 4], strides: [[4, 1], [4, 1], [0, 1]])))
        // Every other column of an 8-wide matrix: rows step 16 elements, so the dims merge.
        let everyOther = CUDAElementwisePlan.make(shape: [4, 4], strides: [[4, 1], [8, 2]])
        #expect(everyOther == .strided(count: 16, layout: CUDAStridedLayout(sizes: [16], strides: [[1], [2]])))
        // The first five columns of an 8-wide matrix: rows do not follow on, no merging.
        let columns = CUDAElementwisePlan.make(shape: [4, 5], strides: [[5, 1], [8, 1]])
        #expect(columns == .strided(count: 20, layout: CUDAStridedLayout(sizes: [4, 5], strides: [[5, 1], [8, 1]])))
        // A dense but offset-free 1-D stride-2 view stays strided.
        #expect(CUDAElementwisePlan.make(shape: [10], strides: [[1], [2]]) == .strided(count: 10, layout: CUDAStridedLayout(sizes: [10], strides: [[1], [2]])))
    }

    @Test func tooManyDimensionsAreReported() {
        let shape = [Int](repeating: 2, count: CUDAKernelSource.maxDims + 1)
        // Alternating strides so that nothing merges.
        let strides = shape.indices.map { 1 << (2 * (shape.count - 1 - $0)) }
        #expect(CUDAElementwisePlan.make(shape: shape, strides: [strides, strides]) == .tooManyDimensions)
    }

    @Test func launchGeometry() {
        #expect(CUDALaunchGeometry.elementwiseBlocks(count: 1, multiprocessors: 132) == 1)
        #expect(CUDALaunchGeometry.elementwiseBlocks(count: 257, multiprocessors: 132) == 2)
        #expect(CUDALaunchGeometry.elementwiseBlocks(count: 1 << 30, multiprocessors: 132) == 132 * 32)
        #expect(CUDALaunchGeometry.reductionShape(outer: 10, inner: 100, multiprocessors: 132) == .block)
        #expect(CUDALaunchGeometry.reductionShape(outer: 100_000, inner: 100, multiprocessors: 132) == .warp)
        #expect(CUDALaunchGeometry.reductionShape(outer: 100_000, inner: 100_000, multiprocessors: 132) == .block)
        #expect(CUDALaunchGeometry.reductionBlocks(outer: 100, shape: .warp, multiprocessors: 132) == 13)
        #expect(CUDALaunchGeometry.reductionBlocks(outer: 100, shape: .block, multiprocessors: 132) == 100)
    }
}
