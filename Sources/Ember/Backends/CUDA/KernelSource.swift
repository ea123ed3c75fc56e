// CUDA C++ source generation for Ember's elementwise, cast and reduction kernels. Sources are
// header-free (no cuda_fp16.h: NVRTC ships no headers, and an include path would tie Ember to
// a toolkit layout), use 64-bit indexing (an H200 holds more than 2³¹ elements), and give every
// kernel an `extern "C"` name so that no name lowering is needed.

// MARK: - Ops

/// One elementwise op as the CUDA backend generates it: its name and CUDA expression come from
/// the Ember op type; the overrides cover dtypes where C's arithmetic is not Ember's.
struct CUDAElementwiseOp: Sendable {
    /// Which operands the expression reads and what it produces.
    enum Kind: Sendable {
        /// `x` of a floating dtype (integers are promoted before the kernel); half types compute in float.
        case unaryFloat
        /// `x` of any dtype, keeping the dtype.
        case unaryNumeric
        /// `a` and `b` of one dtype, giving that dtype.
        case binary
        /// `a` and `b` of one dtype and `alpha`, a kernel argument of the compute type, giving
        /// that dtype.
        case scaledBinary
        /// `a` and `b` of one dtype, giving bool.
        case compare

        /// The module family the op's kernels are compiled in.
        var family: CUDAKernelFamily {
            switch self {
            case .unaryFloat, .unaryNumeric: .unary
            case .binary, .scaledBinary: .binary
            case .compare: .compare
            }
        }
    }

    /// The op's name (`exp`), used in kernel names.
    let name: String
    /// What the expression reads and produces.
    let kind: Kind
    /// The op's CUDA expression of `x`, or of `a` and `b`.
    let expression: String
    /// Replaces `expression` for floating dtypes.
    let floatExpression: String?
    /// Replaces `expression` for integer dtypes.
    let integerExpression: String?
    /// Replaces `expression` for bool.
    let boolExpression: String?
    /// The dtypes the op has kernels for.
    let dtypes: [DType]
    /// Its kernels' names by dtype (in `DType.allCases` order), then indexing: built once, as
    /// every launch asks for one.
    let kernelNames: [String]

    init(
        name: String, kind: Kind, expression: String, floatExpression: String?, integerExpression: String?,
        boolExpression: String?, dtypes: [DType]
    ) {
        (self.name, self.kind, self.expression, self.dtypes) = (name, kind, expression, dtypes)
        (self.floatExpression, self.integerExpression, self.boolExpression) = (floatExpression, integerExpression, boolExpression)
        kernelNames = DType.allCases.flatMap { dtype in
            CUDAIndexing.allCases.map { "ember_\(kind.family.rawValue)_\(name)_\(dtype.rawValue)_\($0.rawValue)" }
        }
    }

    /// The expression a kernel for `dtype` computes.
    func expression(for dtype: DType) -> String {
        if dtype.isFloatingPoint { return floatExpression ?? expression }
        if dtype == .bool { return boolExpression ?? expression }
        return integerExpression ?? expression
    }

    /// A floating-point unary op (`Exp`): kernels for the four float dtypes.
    static func unaryFloat<Op: UnaryFloatOp>(_ op: Op.Type) -> Self {
        Self(
            name: Op.name, kind: .unaryFloat, expression: Op.cuda, floatExpression: nil, integerExpression: nil,
            boolExpression: nil, dtypes: DType.allCases.filter(\.isFloatingPoint))
    }

    /// A dtype-preserving unary op (`Neg`): kernels for every dtype.
    static func unaryNumeric<Op: UnaryNumericOp>(_ op: Op.Type) -> Self {
        Self(
            name: Op.name, kind: .unaryNumeric, expression: Op.cuda, floatExpression: nil, integerExpression: nil,
            boolExpression: nil, dtypes: DType.allCases)
    }

    /// A binary op (`Add`): kernels for every dtype, or the float ones when the op promotes
    /// integers to float (true division never sees an integer).
    static func binary<Op: BinaryOp>(
        _ op: Op.Type, float: String? = nil, integer: String? = nil, bool: String? = nil
    ) -> Self {
        Self(
            name: Op.name, kind: .binary, expression: Op.cuda, floatExpression: float, integerExpression: integer,
            boolExpression: bool,
            dtypes: Op.promotesIntegersToFloat ? DType.allCases.filter(\.isFloatingPoint) : DType.allCases)
    }

    /// `a + alpha·b`, rounded once as PyTorch's add and sub with `alpha` round it (a fused
    /// multiply-add; integers wrap): kernels for every dtype.
    static let scaledAdd = Self(
        name: "add_alpha", kind: .scaledBinary, expression: "ember_fma(b, alpha, a)", floatExpression: nil,
        integerExpression: "a + ember_wrap_mul(b, alpha)", boolExpression: "a || (b && alpha)", dtypes: DType.allCases)

    /// A comparison (`LessThan`): kernels for every dtype, giving bool.
    static func compare<Op: CompareOp>(_ op: Op.Type) -> Self {
        Self(
            name: Op.name, kind: .compare, expression: Op.cuda, floatExpression: nil, integerExpression: nil,
            boolExpression: nil, dtypes: DType.allCases)
    }

    /// Every elementwise op the CUDA backend has kernels for. Adding an op to Ember's CUDA
    /// backend is adding its type here.
    static let registry: [CUDAElementwiseOp] = [
        .unaryFloat(Exp.self), .unaryFloat(Log.self), .unaryFloat(Sqrt.self), .unaryFloat(Rsqrt.self),
        .unaryFloat(Reciprocal.self), .unaryFloat(Sin.self), .unaryFloat(Cos.self), .unaryFloat(Tanh.self),
        .unaryFloat(Sigmoid.self),
        .unaryNumeric(Neg.self), .unaryNumeric(Abs.self), .unaryNumeric(Sign.self), .unaryNumeric(Relu.self),
        .binary(Add.self), .binary(Sub.self), .binary(Mul.self), .binary(Div.self), scaledAdd,
        // `trunc` and `floor` of C's integer `/` are not Ember's quotients (C's `/` is undefined
        // for x / 0 and MIN / -1, and already truncates), and bool arithmetic is logic.
        .binary(DivTrunc.self, integer: "ember_div_trunc(a, b)", bool: "a && b"),
        // PyTorch's floor division of floats goes through fmod so that a - b·q stays exact;
        // `floor(a / b)` differs from the CPU kernel near integers.
        .binary(DivFloor.self, float: "ember_div_floor(a, b)", integer: "ember_div_floor(a, b)", bool: "a && b"),
        .binary(Pow.self, integer: "ember_pow_int(a, b)", bool: "a || !b"),
        .binary(Maximum.self), .binary(Minimum.self), .binary(ClampMin.self), .binary(ClampMax.self),
        .binary(TanhBackward.self), .binary(SigmoidBackward.self),
        .compare(LessThan.self), .compare(LessEqual.self), .compare(GreaterThan.self),
        .compare(GreaterEqual.self), .compare(Equal.self), .compare(NotEqual.self),
    ]
}

// MARK: - Dtypes in CUDA C++

extension DType {
    /// The C++ type of one element in device memory. bool is C++ `bool`: one byte holding 0
    /// or 1, as Swift's `Bool` stores it.
    var cudaStorageType: String {
        switch self {
        case .float32: "float"
        case .float64: "double"
        case .float16: "ember_half"
        case .bfloat16: "ember_bf16"
        case .int64: "long long"
        case .int32: "int"
        case .int16: "short"
        case .int8: "signed char"
        case .uint8: "unsigned char"
        case .bool: "bool"
        }
    }

    /// The C++ type kernels compute in: float for the half types, as on the CPU.
    var cudaComputeType: String {
        switch self {
        case .float16, .bfloat16: "float"
        default: cudaStorageType
        }
    }

    /// A C++ expression converting a compute-type `value` to the storage type.
    func cudaStore(_ value: String) -> String {
        switch self {
        case .float16: "ember_float_to_half(\(value))"
        case .bfloat16: "ember_float_to_bf16(\(value))"
        default: "(\(cudaStorageType))(\(value))"
        }
    }
}

// MARK: - Modules

/// The groups kernels are compiled in: one NVRTC program per family and dtype, so that the
/// first use of a dtype compiles once (NVRTC's fixed cost per program is ~45 ms, about ten
/// small kernels' worth) and nothing unused is compiled.
enum CUDAKernelFamily: String, CaseIterable, Sendable {
    case unary, binary, compare, `where`, fill, cast, reduce, random, index
}

/// How an elementwise kernel walks its operands: one linear index, or per-operand strides.
enum CUDAIndexing: String, CaseIterable, Sendable {
    case contiguous, strided
}

/// The reductions with kernels: rows of a contiguous last dimension reduced to one value.
enum CUDAReduction: String, CaseIterable, Sendable {
    /// Sum in double for floats, wrapping int64 for integers and bool (output int64).
    case sum
    /// Product, accumulated like `sum`.
    case prod
    /// The largest value and its first index; NaN wins (the first NaN).
    case max
    /// The smallest value and its first index; NaN wins.
    case min
}

/// How a reduction kernel maps rows to threads.
enum CUDAReductionShape: String, CaseIterable, Sendable {
    /// A block of threads per row, for long rows.
    case block
    /// A warp per row, for short rows (a block per row would leave most threads idle).
    case warp
}

/// One NVRTC program: a self-contained source and the kernels it defines.
struct CUDAKernelModule: Hashable, Sendable {
    /// The module's name (`ember_unary_float32`), also the program name in NVRTC's messages.
    let name: String
    /// The kind of kernels in it.
    let family: CUDAKernelFamily
    /// Their dtype (for casts, the source dtype).
    let dtype: DType
    /// The complete CUDA C++ source, prelude included.
    let source: String
    /// The `extern "C"` names of the kernels in `source`.
    let kernels: [String]
}

/// Generates the CUDA C++ for Ember's kernels.
///
/// ```swift
/// let module = CUDAKernelSource.module(.unary, .float16)
/// module.kernels   // ["ember_unary_exp_float16_contiguous", …]
/// ```
enum CUDAKernelSource {
    /// Threads per block every kernel is compiled and launched with (`__launch_bounds__`).
    static let blockSize = 256
    /// The most dimensions a strided kernel takes, after the host merges mergeable ones.
    static let maxDims = 16
    /// The most operands (output included) a strided kernel takes: `where` has four.
    static let maxOperands = 4

    // MARK: Names

    /// `ember_unary_exp_float32_contiguous`.
    static func elementwiseKernelName(_ op: CUDAElementwiseOp, _ dtype: DType, _ indexing: CUDAIndexing) -> String {
        let indexings = CUDAIndexing.allCases
        return op.kernelNames[DType.allCases.firstIndex(of: dtype)! * indexings.count + indexings.firstIndex(of: indexing)!]
    }

    /// `ember_where_float32_strided`.
    static func whereKernelName(_ dtype: DType, _ indexing: CUDAIndexing) -> String {
        "ember_where_\(dtype.rawValue)_\(indexing.rawValue)"
    }

    /// `ember_fill_float32_contiguous`.
    static func fillKernelName(_ dtype: DType, _ indexing: CUDAIndexing) -> String {
        "ember_fill_\(dtype.rawValue)_\(indexing.rawValue)"
    }

    /// `ember_cast_float32_to_int64_strided`; a cast to the same dtype is a bit-exact copy,
    /// `ember_copy_float32_strided`.
    static func castKernelName(from source: DType, to target: DType, _ indexing: CUDAIndexing) -> String {
        source == target
            ? "ember_copy_\(source.rawValue)_\(indexing.rawValue)"
            : "ember_cast_\(source.rawValue)_to_\(target.rawValue)_\(indexing.rawValue)"
    }

    /// `ember_reduce_sum_float32_block`.
    static func reduceKernelName(_ reduction: CUDAReduction, _ dtype: DType, _ shape: CUDAReductionShape) -> String {
        "ember_reduce_\(reduction.rawValue)_\(dtype.rawValue)_\(shape.rawValue)"
    }

    /// `ember_softmax_float32_block`, `ember_log_softmax_float16_warp`.
    static func softmaxKernelName(log: Bool, _ dtype: DType, _ shape: CUDAReductionShape) -> String {
        "ember_\(log ? "log_softmax" : "softmax")_\(dtype.rawValue)_\(shape.rawValue)"
    }

    /// The dtype a reduction writes: sum and prod of integers and bool give int64, as in PyTorch.
    static func reductionOutputType(_ reduction: CUDAReduction, _ dtype: DType) -> DType {
        switch reduction {
        case .sum, .prod: dtype.isFloatingPoint ? dtype : .int64
        case .max, .min: dtype
        }
    }

    // MARK: Modules

    /// Every module, for every family and dtype.
    static let allModules: [CUDAKernelModule] = CUDAKernelFamily.allCases.flatMap { family in
        DType.allCases.map { makeModule(family, $0) }
    }

    /// The module holding `family`'s kernels for `dtype` (for casts, the source dtype).
    static func module(_ family: CUDAKernelFamily, _ dtype: DType) -> CUDAKernelModule {
        // allModules is family-major, a module per dtype in DType.allCases order; no strings
        // or hashing, since every launch asks.
        let familyIndex = CUDAKernelFamily.allCases.firstIndex(of: family)!
        return allModules[familyIndex * DType.allCases.count + DType.allCases.firstIndex(of: dtype)!]
    }

    /// The number of kernels across all modules.
    static var kernelCount: Int { allModules.reduce(0) { $0 + $1.kernels.count } }

    private static func makeModule(_ family: CUDAKernelFamily, _ dtype: DType) -> CUDAKernelModule {
        var kernels: [(name: String, source: String)] = []
        switch family {
        case .unary, .binary, .compare:
            for op in CUDAElementwiseOp.registry where op.kind.family == family && op.dtypes.contains(dtype) {
                for indexing in CUDAIndexing.allCases { kernels.append(elementwiseKernel(op, dtype, indexing)) }
            }
        case .where:
            for indexing in CUDAIndexing.allCases { kernels.append(whereKernel(dtype, indexing)) }
        case .fill:
            for indexing in CUDAIndexing.allCases { kernels.append(fillKernel(dtype, indexing)) }
        case .cast:
            for target in DType.allCases {
                for indexing in CUDAIndexing.allCases { kernels.append(castKernel(from: dtype, to: target, indexing)) }
            }
        case .reduce:
            for reduction in CUDAReduction.allCases {
                for shape in CUDAReductionShape.allCases { kernels.append(reduceKernel(reduction, dtype, shape)) }
            }
            if dtype.isFloatingPoint {
                for log in [false, true] {
                    for shape in CUDAReductionShape.allCases { kernels.append(softmaxKernel(log: log, dtype, shape)) }
                }
            }
        case .random:
            for kind in CUDARandomKind.allCases where kind.supports(dtype) { kernels.append(randomKernel(kind, dtype)) }
        case .index:
            kernels += [indexKernel(gathering: true, dtype), indexKernel(gathering: false, dtype), scatterAddKernel(dtype)]
            if dtype == .bool { kernels += maskKernels }
        }
        let name = "ember_\(family.rawValue)_\(dtype)"
        let source = "// \(name): generated by Ember's CUDAKernelSource.\n" + prelude + "\n"
            + (family == .random ? philoxSource + "\n" : "")
            + kernels.map(\.source).joined(separator: "\n")
        return CUDAKernelModule(name: name, family: family, dtype: dtype, source: source, kernels: kernels.map(\.name))
    }

    // MARK: Elementwise kernels

    /// Elements a thread of a contiguous kernel loads before it stores any: several loads in
    /// flight per thread, which a GPU's memory needs to approach its bandwidth (one 4-byte load
    /// per thread leaves an H200's memory mostly waiting).
    static let elementsPerThread = 4

    /// A grid-stride elementwise kernel. `operands` are the pointer parameters, output first;
    /// `body` gets each operand's element index expression and writes the output.
    ///
    /// A contiguous kernel takes its elements `elementsPerThread` at a time: it loads all inputs
    /// into registers, runs `body` on them with the operand names shadowed by those registers,
    /// then stores; the elements left after the last whole group run one at a time. Where every
    /// operand is aligned to a group's size (fresh allocations are), a group is consecutive
    /// elements, loaded and stored as one vector (16 bytes for float, as PyTorch's vectorized
    /// kernels): on an H200 that took a 256M-element add from 3.87 to 4.13–4.18 TB/s. Otherwise
    /// (views at odd offsets) a group's elements lie a grid apart, each load still coalesced.
    /// Inputs are read before the output is written, which an in-place op (output and input the
    /// same memory, element for element) allows.
    static func gridStrideKernel(
        name: String, indexing: CUDAIndexing, operands: [String], extra: [String] = [],
        body: (_ at: (Int) -> String) -> String
    ) -> (name: String, source: String) {
        var parameters = ["long long ember_n"]
        if indexing == .strided { parameters.append("const __grid_constant__ ember_layout ember_shape") }
        parameters += operands + extra
        var lines = [
            "extern \"C\" __global__ void __launch_bounds__(EMBER_BLOCK)",
            "\(name)(\(parameters.joined(separator: ", "))) {",
        ]
        switch indexing {
        case .contiguous:
            let group = elementsPerThread
            // "const float* in" -> ("const float", "in").
            let declarations = operands.map { operand -> (element: String, name: String) in
                let star = operand.lastIndex(of: "*")!
                return (String(operand[..<star]), operand[operand.index(after: star)...].trimmingCharacters(in: .whitespaces))
            }
            let element = { (operand: Int) in declarations[operand].element.replacingOccurrences(of: "const ", with: "") }
            let pack = { (operand: Int) in "ember_pack<\(element(operand)), \(group)>" }
            let nth = { (k: Int) in k == 0 ? "ember_base" : "ember_base + \(k) * ember_stride" }
            let aligned = declarations.map { "ember_aligned<\(group)>(\($0.name))" }.joined(separator: " && ")
            // The body on registers: the operand names shadowed by the k-th element of each.
            let registerBody = body { _ in "ember_k" }
            let compute = { (registers: (Int) -> String) -> [String] in
                ["      #pragma unroll", "      for (int ember_k = 0; ember_k < \(group); ember_k++) {"]
                    + declarations.enumerated().map { "        \($1.element)* \($1.name) = \(registers($0));" }
                    + [registerBody, "      }"]
            }
            lines += [
                "  const long long ember_stride = (long long)gridDim.x * blockDim.x;",
                "  long long ember_base = (long long)blockIdx.x * blockDim.x + threadIdx.x;",
                "  if (\(aligned)) {",
                "    for (; ember_base < ember_n / \(group); ember_base += ember_stride) {",
                "      \(pack(0)) ember_v0;",
            ]
            for operand in 1..<operands.count {
                let name = declarations[operand].name
                lines.append("      const \(pack(operand)) ember_v\(operand) = *(const \(pack(operand))*)(\(name) + \(group) * ember_base);")
            }
            lines += compute { "ember_v\($0).v" }
            lines += [
                "      *(\(pack(0))*)(\(declarations[0].name) + \(group) * ember_base) = ember_v0;",
                "    }",
                "    ember_base = ember_n / \(group) * \(group) + (long long)blockIdx.x * blockDim.x + threadIdx.x;",
                "  } else {",
                "    for (; ember_base + \(group - 1) * ember_stride < ember_n; ember_base += \(group) * ember_stride) {",
                "      \(element(0)) ember_v0[\(group)];",
            ]
            for operand in 1..<operands.count {
                let loads = (0..<group).map { "\(declarations[operand].name)[\(nth($0))]" }.joined(separator: ", ")
                lines.append("      const \(element(operand)) ember_v\(operand)[\(group)] = {\(loads)};")
            }
            lines += compute { "ember_v\($0)" }
            lines += (0..<group).map { "      \(declarations[0].name)[\(nth($0))] = ember_v0[\($0)];" }
            lines += ["    }", "  }", "  for (long long ember_i = ember_base; ember_i < ember_n; ember_i += ember_stride) {", body { _ in "ember_i" }]
        case .strided:
            lines += [
                "  EMBER_FOR_EACH(ember_i, ember_n) {",
                "    long long ember_at[\(operands.count)];",
                "    ember_offsets<\(operands.count)>(ember_shape, ember_i, ember_at);",
                body { "ember_at[\($0)]" },
            ]
        }
        lines += ["  }", "}", ""]
        return (name, lines.joined(separator: "\n"))
    }

    /// A unary, binary or comparison kernel: loads into the compute type, evaluates the op's
    /// expression, converts back (comparisons store bool).
    static func elementwiseKernel(
        _ op: CUDAElementwiseOp, _ dtype: DType, _ indexing: CUDAIndexing
    ) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType, compute = dtype.cudaComputeType
        let expression = op.expression(for: dtype)
        let name = elementwiseKernelName(op, dtype, indexing)
        switch op.kind {
        case .unaryFloat, .unaryNumeric:
            return gridStrideKernel(name: name, indexing: indexing, operands: ["\(storage)* out", "const \(storage)* in"]) { at in
                """
                    const \(compute) x = ember_compute(in[\(at(1))]);
                    const \(compute) ember_r = (\(compute))(\(expression));
                    out[\(at(0))] = \(dtype.cudaStore("ember_r"));
                """
            }
        case .binary, .scaledBinary, .compare:
            let operands = ["\(op.kind == .compare ? "bool" : storage)* out", "const \(storage)* in_a", "const \(storage)* in_b"]
            let extra = op.kind == .scaledBinary ? ["const \(compute) alpha"] : []
            return gridStrideKernel(name: name, indexing: indexing, operands: operands, extra: extra) { at in
                let store = op.kind == .compare ? "(bool)(ember_r)" : dtype.cudaStore("ember_r")
                let result = op.kind == .compare ? "bool" : compute
                return """
                        const \(compute) a = ember_compute(in_a[\(at(1))]);
                        const \(compute) b = ember_compute(in_b[\(at(2))]);
                        const \(result) ember_r = (\(result))(\(expression));
                        out[\(at(0))] = \(store);
                    """
            }
        }
    }

    /// `out = condition ? a : b`, copying stored bits (no conversion needed).
    static func whereKernel(_ dtype: DType, _ indexing: CUDAIndexing) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        let operands = ["\(storage)* out", "const bool* condition", "const \(storage)* in_a", "const \(storage)* in_b"]
        return gridStrideKernel(name: whereKernelName(dtype, indexing), indexing: indexing, operands: operands) { at in
            "    out[\(at(0))] = condition[\(at(1))] ? in_a[\(at(2))] : in_b[\(at(3))];"
        }
    }

    /// Writes `value` (passed as the stored type, bits for the half types) to every element.
    static func fillKernel(_ dtype: DType, _ indexing: CUDAIndexing) -> (name: String, source: String) {
        let storage = dtype.cudaStorageType
        return gridStrideKernel(
            name: fillKernelName(dtype, indexing), indexing: indexing, operands: ["\(storage)* out"],
            extra: ["const \(storage) value"]
        ) { at in "    out[\(at(0))] = value;" }
    }

    /// Converts every element between two dtypes; between equal ones it copies bits, so NaN
    /// payloads and -0.0 survive.
    static func castKernel(from source: DType, to target: DType, _ indexing: CUDAIndexing) -> (name: String, source: String) {
        let operands = ["\(target.cudaStorageType)* out", "const \(source.cudaStorageType)* in"]
        return gridStrideKernel(
            name: castKernelName(from: source, to: target, indexing), indexing: indexing, operands: operands
        ) { at in
            let element = "in[\(at(1))]"
            return "    out[\(at(0))] = \(source == target ? element : castExpression(from: source, to: target, value: element));"
        }
    }

    /// The CPU's conversion (`CastKernel`): floats go through double, integers and bool through
    /// int64; floats truncate into integers with x86's result for NaN and out-of-range values
    /// (narrow integers via int32), and the half types round from float.
    static func castExpression(from source: DType, to target: DType, value: String) -> String {
        let wide = source.isFloatingPoint ? "((double)ember_compute(\(value)))" : "((long long)(\(value)))"
        switch target {
        case .float32: return source.isFloatingPoint ? "(float)\(wide)" : "(float)(double)\(wide)"
        case .float64: return "(double)\(wide)"
        case .float16: return "ember_float_to_half((float)\(wide))"
        case .bfloat16: return "ember_float_to_bf16((float)\(wide))"
        case .int64: return source.isFloatingPoint ? "ember_double_to_int64(\(wide))" : wide
        case .int32, .int16, .int8, .uint8:
            return "(\(target.cudaStorageType))" + (source.isFloatingPoint ? "ember_double_to_int32(\(wide))" : wide)
        case .bool: return "(\(wide) != 0)"
        }
    }

    // MARK: Reduction kernels

    /// Reduces each row of `inner` contiguous elements (there are `outer` rows) to one value;
    /// max and min also write the value's index, each output optional (null to skip).
    static func reduceKernel(
        _ reduction: CUDAReduction, _ dtype: DType, _ shape: CUDAReductionShape
    ) -> (name: String, source: String) {
        let name = reduceKernelName(reduction, dtype, shape)
        let storage = dtype.cudaStorageType
        let (rowLoop, laneStart, laneStep) = rowLoop(shape)
        let leader = shape == .block ? "threadIdx.x == 0" : "(threadIdx.x & 31) == 0"
        let eachLane = { (type: String, load: (String) -> String, use: (String, String) -> String) in
            laneLoop(laneStart, laneStep, type: type, load: load, use: use)
        }
        var lines = ["extern \"C\" __global__ void __launch_bounds__(EMBER_BLOCK)"]
        switch reduction {
        case .sum, .prod:
            let output = reductionOutputType(reduction, dtype)
            // Doubles for floats, as the CPU sums; unsigned for integers so that overflow wraps
            // instead of being undefined.
            let accumulator = dtype.isFloatingPoint ? "double" : "unsigned long long"
            let load = { (j: String) in
                dtype.isFloatingPoint ? "(double)ember_compute(row_in[\(j)])" : "(unsigned long long)(long long)row_in[\(j)]"
            }
            let (identity, combine) = reduction == .sum ? ("0", "ember_sum_op") : ("1", "ember_prod_op")
            let reduce =
                shape == .block
                ? "acc = ember_block_reduce(acc, \(combine)(), (\(accumulator))\(identity), ember_shared);"
                : "acc = ember_warp_reduce(acc, \(combine)());"
            let store = output.isFloatingPoint ? output.cudaStore("(\(output.cudaComputeType))acc") : "(long long)acc"
            lines += [
                "\(name)(long long outer, long long inner, const \(storage)* in, \(output.cudaStorageType)* out) {",
            ]
            if shape == .block { lines.append("  __shared__ \(accumulator) ember_shared[32];") }
            lines += [
                "  \(rowLoop) {",
                "    const \(storage)* row_in = in + row * inner;",
                "    \(accumulator) acc = (\(accumulator))\(identity);",
                eachLane(accumulator, load) { x, _ in "acc = \(combine)()(acc, \(x));" },
                "    \(reduce)",
                "    if (\(leader)) out[row] = \(store);",
                "  }",
                "}", "",
            ]
        case .max, .min:
            // Compare in a type every warp shuffle takes: float, double, or long long for
            // integers and bool (which keeps their order).
            let value = dtype.isFloatingPoint ? dtype.cudaComputeType : "long long"
            let largest = reduction == .max ? "true" : "false"
            let better = { (x: String) in reduction == .max ? "\(x) > best.value" : "\(x) < best.value" }
            let reduce =
                shape == .block
                ? "best = ember_block_arg<\(largest)>(best, ember_shared);"
                : "best = ember_warp_arg<\(largest)>(best);"
            lines += [
                "\(name)(long long outer, long long inner, const \(storage)* in, \(storage)* values, long long* indices) {",
            ]
            if shape == .block { lines.append("  __shared__ ember_arg<\(value)> ember_shared[32];") }
            lines += [
                "  \(rowLoop) {",
                "    const \(storage)* row_in = in + row * inner;",
                "    ember_arg<\(value)> best; best.value = (\(value))0; best.index = -1;",
                "    // Indices only grow within a thread, so the first NaN and the first of equals stay.",
                eachLane(value, { "(\(value))ember_compute(row_in[\($0)])" }) { x, j in
                    "if (best.index < 0 || (best.value == best.value && (\(x) != \(x) || \(better(x))))) { best.value = \(x); best.index = \(j); }"
                },
                "    \(reduce)",
                "    if (\(leader)) {",
                "      if (values) values[row] = \(dtype.cudaStore("best.value"));",
                "      if (indices) indices[row] = best.index;",
                "    }",
                "  }",
                "}", "",
            ]
        }
        return (name, lines.joined(separator: "\n"))
    }

    /// Softmax or log-softmax of each row of `inner` contiguous elements, in one pass of the
    /// kernel: the row's maximum (NaN if it has one), the sum of exp(x - max) in double, then
    /// each element as the CPU's composite computes it (exp(x - max) · (1 / sum), or
    /// x - max - log(sum)), half types in float. A block or a warp per row, as the reductions;
    /// every thread of the row gets the maximum and the sum.
    static func softmaxKernel(log: Bool, _ dtype: DType, _ shape: CUDAReductionShape) -> (name: String, source: String) {
        let name = softmaxKernelName(log: log, dtype, shape)
        let (storage, compute) = (dtype.cudaStorageType, dtype.cudaComputeType)
        let (rowLoop, laneStart, laneStep) = rowLoop(shape)
        // The block's spare lanes take the identity: 0 for the sum, an element of the row for
        // the maximum.
        let allReduce = { (value: String, op: String, identity: String) in
            shape == .block
                ? "\(value) = ember_block_all_reduce(\(value), \(op)(), \(identity), ember_shared, &ember_broadcast);"
                : "\(value) = ember_warp_all_reduce(\(value), \(op)());"
        }
        let eachLane = { (use: (String, String) -> String) in
            laneLoop(laneStart, laneStep, type: compute, load: { "ember_compute(row_in[\($0)])" }, use: use)
        }
        let (prepare, write) = log
            ? ("const \(compute) ember_log_total = (\(compute))log((\(compute))total);",
               { (x: String, j: String) in "row_out[\(j)] = \(dtype.cudaStore("(\(x) - peak) - ember_log_total"));" })
            : ("const \(compute) ember_scale = (\(compute))1 / (\(compute))total;",
               { (x: String, j: String) in "row_out[\(j)] = \(dtype.cudaStore("(\(compute))exp(\(x) - peak) * ember_scale"));" })
        var lines = [
            "extern \"C\" __global__ void __launch_bounds__(EMBER_BLOCK)",
            "\(name)(long long outer, long long inner, const \(storage)* in, \(storage)* out) {",
        ]
        if shape == .block { lines.append("  __shared__ double ember_shared[32]; __shared__ double ember_broadcast;") }
        lines += [
            "  \(rowLoop) {",
            "    const \(storage)* row_in = in + row * inner;",
            "    \(storage)* row_out = out + row * inner;",
            "    // Every thread starts from the row's first element, so no identity (-inf) is needed.",
            "    double widest = (double)ember_compute(row_in[0]);",
            eachLane { x, _ in "widest = ember_max_op()(widest, (double)\(x));" },
            "    \(allReduce("widest", "ember_max_op", "(double)ember_compute(row_in[0])"))",
            "    const \(compute) peak = (\(compute))widest;",
            "    double total = 0;",
            eachLane { x, _ in "total += (double)(\(compute))exp(\(x) - peak);" },
            "    \(allReduce("total", "ember_sum_op", "0.0"))",
            "    \(prepare)",
            eachLane(write),
            "  }", "}", "",
        ]
        return (name, lines.joined(separator: "\n"))
    }

    /// Elements of a row a thread loads before it uses any: several loads in flight per thread,
    /// as `elementsPerThread` for the elementwise kernels.
    static let rowElementsPerThread = 4

    /// A thread's walk over its elements of a row (`laneStart`, then every `laneStep`),
    /// `rowElementsPerThread` loaded at a time, then each used in order: the same order of
    /// additions and comparisons as one at a time, so the results don't change, but the loads
    /// overlap: an H200 sums 256M floats at 4.2 TB/s where it did at 2.3 one at a time, and a
    /// 4096×1000 softmax takes 13 µs instead of 19.5. `use` gets each loaded value's name and
    /// its index in the row.
    private static func laneLoop(
        _ laneStart: String, _ laneStep: String, type: String, load: (String) -> String, use: (String, String) -> String
    ) -> String {
        let group = rowElementsPerThread
        let nth = { (k: Int) in k == 0 ? "j" : "j + \(k) * \(laneStep)" }
        var lines = [
            "    long long j = \(laneStart);",
            "    for (; j + \(group - 1) * \(laneStep) < inner; j += \(group) * \(laneStep)) {",
        ]
        lines += (0..<group).map { "      const \(type) ember_x\($0) = \(load(nth($0)));" }
        lines += (0..<group).map { "      \(use("ember_x\($0)", nth($0)))" }
        lines += ["    }", "    for (; j < inner; j += \(laneStep)) {", "      const \(type) ember_x0 = \(load("j"));", "      \(use("ember_x0", "j"))", "    }"]
        return "    {\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n    }"
    }

    /// The loop over rows of a reduction-shaped kernel and each thread's first element and step
    /// within a row: a block or a warp per row, grid-striding over rows; either way every thread
    /// of a block (or warp) runs the same iterations, as the barriers and full-mask shuffles need.
    private static func rowLoop(_ shape: CUDAReductionShape) -> (loop: String, laneStart: String, laneStep: String) {
        switch shape {
        case .block: ("for (long long row = blockIdx.x; row < outer; row += gridDim.x)", "threadIdx.x", "blockDim.x")
        case .warp:
            (
                "const long long warps = blockDim.x >> 5;\n  for (long long row = (long long)blockIdx.x * warps + (threadIdx.x >> 5); row < outer; row += (long long)gridDim.x * warps)",
                "(threadIdx.x & 31)", "32"
            )
        }
    }

    // MARK: Prelude

    /// Definitions every module starts with: the strided layout, half and bfloat16 storage
    /// types with their conversions, Ember's integer arithmetic, and reduction helpers.
    static let prelude = """
        #define EMBER_BLOCK \(blockSize)
        #define EMBER_MAX_DIMS \(maxDims)
        #define EMBER_MAX_OPERANDS \(maxOperands)
        #define EMBER_FOR_EACH(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

        // abs as the CPU's: floats with the sign bit cleared (a NaN comes out positive), integers
        // negated below zero.
        template <typename T> __device__ __forceinline__ T ember_abs(T x) { return x < 0 ? (T)-x : x; }
        __device__ __forceinline__ float ember_abs(float x) { return fabsf(x); }
        __device__ __forceinline__ double ember_abs(double x) { return fabs(x); }

        // N consecutive elements, loaded and stored as one vector where the address allows.
        template <typename T, int N> struct alignas(sizeof(T) * N) ember_pack { T v[N]; };
        template <int N, typename T> __device__ __forceinline__ bool ember_aligned(const T* p) {
          return (unsigned long long)p % (sizeof(T) * N) == 0;
        }

        // Sizes and per-operand strides (in elements) of a strided launch, output first. Packed
        // by the host as 1 + 16 + 4 * 16 int64 words; passed as a __grid_constant__ parameter so
        // that indexing it by a run-time dimension reads parameter memory instead of copying it.
        struct ember_layout {
          long long ndim;
          long long size[EMBER_MAX_DIMS];
          long long stride[EMBER_MAX_OPERANDS][EMBER_MAX_DIMS];
        };

        // 64-bit division is a long inline sequence; out of line it is compiled once per module
        // (a third less compile time), and it only runs for tensors past 2^32 elements.
        __device__ __noinline__ long long ember_div64(long long a, long long b) { return a / b; }

        // The linear index's element offset for each of N operands (last dimension fastest);
        // 32-bit division when both operands fit, which is much cheaper than 64-bit.
        template <int N>
        __device__ __forceinline__ void ember_offsets(const ember_layout& shape, long long index, long long* at) {
        #pragma unroll
          for (int k = 0; k < N; ++k) at[k] = 0;
          for (int d = (int)shape.ndim - 1; d >= 0; --d) {
            const long long size = shape.size[d];
            long long quotient;
            if ((((unsigned long long)index) | ((unsigned long long)size)) <= 0xFFFFFFFFull) {
              quotient = (long long)((unsigned int)index / (unsigned int)size);
            } else {
              quotient = ember_div64(index, size);
            }
            const long long coordinate = index - quotient * size;
        #pragma unroll
            for (int k = 0; k < N; ++k) at[k] += coordinate * shape.stride[k][d];
            index = quotient;
          }
        }

        // float16 and bfloat16 as their bits: cuda_fp16.h is not available to NVRTC without an
        // include path, and arithmetic happens in float anyway.
        struct alignas(2) ember_half { unsigned short bits; };
        struct alignas(2) ember_bf16 { unsigned short bits; };

        __device__ __forceinline__ float ember_half_to_float(ember_half h) {
          float f;
          asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));
          return f;
        }
        __device__ __forceinline__ ember_half ember_float_to_half(float f) {
          ember_half h;
          asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));
          return h;
        }
        __device__ __forceinline__ float ember_bf16_to_float(ember_bf16 b) {
          return __uint_as_float(((unsigned int)b.bits) << 16);
        }
        // Round to nearest even in integer arithmetic, as Ember's BFloat16 does (cvt.rn.bf16.f32
        // needs sm_80); NaN becomes the canonical 0x7FC0.
        __device__ __forceinline__ ember_bf16 ember_float_to_bf16(float f) {
          ember_bf16 b;
          if (f != f) { b.bits = 0x7FC0; return b; }
          const unsigned int u = __float_as_uint(f);
          b.bits = (unsigned short)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
          return b;
        }

        // An atomic update of a 16- or 8-bit element: a compare-and-swap loop on the aligned 32-bit
        // word that holds it (allocations are padded past their end, so the word is always
        // there). `update` maps the element's bits to its new bits.
        template <typename T, typename F> __device__ __forceinline__ void ember_atomic_narrow(T* address, F update) {
          unsigned int* word = (unsigned int*)((unsigned long long)address & ~3ull);
          const unsigned int shift = (unsigned int)((unsigned long long)address & 3ull) * 8u;
          const unsigned int mask = (sizeof(T) == 1 ? 0xFFu : 0xFFFFu) << shift;
          unsigned int old = *word, assumed;
          do {
            assumed = old;
            const unsigned int bits = update((assumed & mask) >> shift);
            old = atomicCAS(word, assumed, (assumed & ~mask) | ((bits << shift) & mask));
          } while (assumed != old);
        }

        // An index outside its dimension, met by an index kernel: the first is recorded as
        // {op, index, dimension, size} for the host to report at its next synchronization, and the
        // element skipped. A trap would leave the context unusable (PyTorch's device-side assert).
        __device__ __noinline__ void ember_index_out_of_range(long long* record, int op, int axis, long long size, long long index) {
          if (atomicCAS((unsigned long long*)record, 0ull, (unsigned long long)op) == 0ull) {
            record[1] = index;
            record[2] = axis;
            record[3] = size;
          }
        }

        // A stored element as the type kernels compute in.
        __device__ __forceinline__ float ember_compute(ember_half v) { return ember_half_to_float(v); }
        __device__ __forceinline__ float ember_compute(ember_bf16 v) { return ember_bf16_to_float(v); }
        template <typename T> __device__ __forceinline__ T ember_compute(T v) { return v; }

        // x·y + z rounded once, in the compute type (C++ would pick fma(double, …) for floats).
        __device__ __forceinline__ float ember_fma(float x, float y, float z) { return fmaf(x, y, z); }
        __device__ __forceinline__ double ember_fma(double x, double y, double z) { return fma(x, y, z); }

        // x86's float-to-integer conversion, which the CPU backend reproduces: NaN and
        // out-of-range values give the minimum (the GPU's own conversion saturates instead).
        __device__ __forceinline__ long long ember_double_to_int64(double v) {
          return (v != v || v >= 9.2233720368547758e18 || v < -9.2233720368547758e18) ? (-9223372036854775807LL - 1) : (long long)v;
        }
        __device__ __forceinline__ int ember_double_to_int32(double v) {
          return (v != v || v >= 2147483648.0 || v <= -2147483649.0) ? (-2147483647 - 1) : (int)v;
        }

        // Ember's integer arithmetic wraps (Swift's &+, &*), where C++'s signed overflow is undefined.
        template <typename T> __device__ __forceinline__ bool ember_is_signed() { return (T)(-1) < (T)0; }
        template <typename T> __device__ __forceinline__ T ember_wrap_neg(T a) { return (T)(0ull - (unsigned long long)a); }
        template <typename T> __device__ __forceinline__ T ember_wrap_sub(T a, T b) { return (T)((unsigned long long)a - (unsigned long long)b); }
        template <typename T> __device__ __forceinline__ T ember_wrap_mul(T a, T b) { return (T)((unsigned long long)a * (unsigned long long)b); }

        // Quotient and remainder as Swift's dividedReportingOverflow/remainderReportingOverflow:
        // x / 0 gives x, MIN / -1 wraps to MIN (callers refuse division by zero before launching).
        template <typename T> __device__ __forceinline__ T ember_div_trunc(T a, T b) {
          if (b == (T)0) return a;
          if (ember_is_signed<T>() && b == (T)(-1)) return ember_wrap_neg(a);
          return (T)(a / b);
        }
        template <typename T> __device__ __forceinline__ T ember_rem(T a, T b) {
          if (b == (T)0) return a;
          if (ember_is_signed<T>() && b == (T)(-1)) return (T)0;
          return (T)(a % b);
        }
        template <typename T> __device__ __forceinline__ T ember_div_floor(T a, T b) {
          const T quotient = ember_div_trunc(a, b), remainder = ember_rem(a, b);
          const bool negative = ember_is_signed<T>() && ((a < (T)0) != (b < (T)0));
          return (remainder != (T)0 && negative) ? ember_wrap_sub(quotient, (T)1) : quotient;
        }
        // PyTorch's div_floor_floating: the quotient from fmod keeps a - b*q exact.
        __device__ __forceinline__ float ember_div_floor(float a, float b) {
          if (b == 0.0f) return a / b;
          const float remainder = fmodf(a, b);
          float quotient = (a - remainder) / b;
          if (remainder != 0.0f && ((b < 0.0f) != (remainder < 0.0f))) quotient -= 1.0f;
          if (quotient == 0.0f) return copysignf(0.0f, a / b);
          float floored = floorf(quotient);
          if (quotient - floored > 0.5f) floored += 1.0f;
          return floored;
        }
        __device__ __forceinline__ double ember_div_floor(double a, double b) {
          if (b == 0.0) return a / b;
          const double remainder = fmod(a, b);
          double quotient = (a - remainder) / b;
          if (remainder != 0.0 && ((b < 0.0) != (remainder < 0.0))) quotient -= 1.0;
          if (quotient == 0.0) return copysign(0.0, a / b);
          double floored = floor(quotient);
          if (quotient - floored > 0.5) floored += 1.0;
          return floored;
        }
        // PyTorch's powi: negative exponents give 1 for a base of 1, +-1 for -1, else 0.
        template <typename T> __device__ __forceinline__ T ember_pow_int(T a, T b) {
          if (ember_is_signed<T>() && b < (T)0) {
            if (a == (T)1) return (T)1;
            if (a == (T)(-1)) return (b & (T)1) == (T)0 ? (T)1 : a;
            return (T)0;
          }
          T result = (T)1, base = a;
          while (b > (T)0) {
            if (b & (T)1) result = ember_wrap_mul(result, base);
            base = ember_wrap_mul(base, base);
            b = (T)(b >> 1);
          }
          return result;
        }

        // Reductions. Blocks are whole warps (EMBER_BLOCK is a multiple of 32), so full-mask
        // shuffles are safe; the results are valid in lane 0 (warp) or thread 0 (block).
        struct ember_sum_op { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };
        struct ember_prod_op { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a * b; } };
        // The larger, NaN winning (as the CPU's max): the same result in any order of combining.
        struct ember_max_op {
          template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return (a != a) ? a : ((b != b || b > a) ? b : a); }
        };

        template <typename T, typename F> __device__ __forceinline__ T ember_warp_reduce(T v, F f) {
        #pragma unroll
          for (int offset = 16; offset > 0; offset >>= 1) v = f(v, __shfl_down_sync(0xFFFFFFFFu, v, offset));
          return v;
        }
        template <typename T, typename F> __device__ __forceinline__ T ember_block_reduce(T v, F f, T identity, T* shared) {
          const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
          v = ember_warp_reduce(v, f);
          __syncthreads();  // the previous row's readers are done with `shared`
          if (lane == 0) shared[warp] = v;
          __syncthreads();
          if (warp == 0) {
            v = lane < (int)(blockDim.x >> 5) ? shared[lane] : identity;
            v = ember_warp_reduce(v, f);
          }
          return v;
        }

        // The result in every lane of the warp (butterfly exchanges) or every thread of the block.
        template <typename T, typename F> __device__ __forceinline__ T ember_warp_all_reduce(T v, F f) {
        #pragma unroll
          for (int offset = 16; offset > 0; offset >>= 1) v = f(v, __shfl_xor_sync(0xFFFFFFFFu, v, offset));
          return v;
        }
        template <typename T, typename F>
        __device__ __forceinline__ T ember_block_all_reduce(T v, F f, T identity, T* shared, T* broadcast) {
          v = ember_block_reduce(v, f, identity, shared);
          if (threadIdx.x == 0) *broadcast = v;
          __syncthreads();
          v = *broadcast;
          __syncthreads();  // every thread has read it before the next reduction writes it
          return v;
        }

        // A candidate for max/min with its index; index -1 marks "no element yet".
        template <typename T> struct ember_arg { T value; long long index; };
        // NaN beats numbers (the first NaN wins), then the larger (or smaller) value, then the
        // lower index, so that the result is the CPU's whatever order the threads combine in.
        template <bool Largest, typename T>
        __device__ __forceinline__ ember_arg<T> ember_arg_pick(ember_arg<T> a, ember_arg<T> b) {
          if (a.index < 0) return b;
          if (b.index < 0) return a;
          const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
          if (a_nan || b_nan) return (a_nan && b_nan) ? (a.index < b.index ? a : b) : (a_nan ? a : b);
          if (Largest ? a.value > b.value : a.value < b.value) return a;
          if (Largest ? b.value > a.value : b.value < a.value) return b;
          return a.index < b.index ? a : b;
        }
        template <bool Largest, typename T> __device__ __forceinline__ ember_arg<T> ember_warp_arg(ember_arg<T> v) {
        #pragma unroll
          for (int offset = 16; offset > 0; offset >>= 1) {
            ember_arg<T> other;
            other.value = __shfl_down_sync(0xFFFFFFFFu, v.value, offset);
            other.index = __shfl_down_sync(0xFFFFFFFFu, v.index, offset);
            v = ember_arg_pick<Largest>(v, other);
          }
          return v;
        }
        template <bool Largest, typename T> __device__ __forceinline__ ember_arg<T> ember_block_arg(ember_arg<T> v, ember_arg<T>* shared) {
          const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
          v = ember_warp_arg<Largest>(v);
          __syncthreads();
          if (lane == 0) shared[warp] = v;
          __syncthreads();
          if (warp == 0) {
            if (lane < (int)(blockDim.x >> 5)) { v = shared[lane]; } else { v.value = (T)0; v.index = -1; }
            v = ember_warp_arg<Largest>(v);
          }
          return v;
        }

        """
}
