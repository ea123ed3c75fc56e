// ember-gpu-check: Ember's CUDA backend against its CPU backend on a real GPU.
//
//   Scripts/gpu-check            (builds this as a static binary, runs both modes and PyTorch's timings)
//   ember-gpu-check [--timings [--filter TEXT]] [--json PATH]
//
// Checks (the default), into poisoned memory (EMBER_CUDA_POISON):
// 1. Every op family on cuda:0 against the CPU on fresh random inputs: odd sizes, transposed
//    and broadcast operands, every dtype the op has.
// 2. The three seed programs on cuda:0 from the CPU's weights: losses must track the CPU's.
// An op that fails is reported as a failure and the run goes on, so one run shows everything.
//
// --timings, in memory left as the allocator gives it (poisoning would add a fill to every new
// tensor): seed autograd step, a tiny add, sgemm and hgemm 4096, bmm, softmax, add, copy, exp
// and sum on 256M elements, printed and written as JSON for Benchmarks/gpu_compare.py to set beside
// PyTorch's.
import Ember
import Foundation

let timingsOnly = CommandLine.arguments.contains("--timings")
// New device memory is filled with 0xFF (NaN in every float type): an element a kernel misses
// shows up as a mismatch. Set before the GPU is first used.
if !timingsOnly { setenv("EMBER_CUDA_POISON", "1", 1) }
let gpu = Device.cuda(0)
guard Device.isCUDAAvailable else {
    print("ember-gpu-check: no usable CUDA GPU.\n\(Device.cudaDiagnostics)")
    exit(2)
}
print(Device.cudaDiagnostics)

var failures: [String] = []
var checks = 0

// Every kernel at once, on all cores; a module that fails to compile is reported here and
// again by the ops that need it, while the rest of the check goes on.
let compileStart = Date()
do {
    let kernelCount = try withErrorChecking { gpu.compileKernels() }
    print("compiled \(kernelCount) kernels in \(String(format: "%.1f", Date().timeIntervalSince(compileStart))) s (NVRTC, all cores; cached on disk after)")
} catch {
    failures.append("compiling the kernels: \(error)")
    print("compiling the kernels failed: \(error)")
}

/// Compares a GPU result with the CPU's: same shape and dtype, values within `tolerance`
/// relative (0: exact, NaN equal to NaN). An op that fails is recorded as a failure, with its
/// message, and the check goes on (a real GPU's first run must report everything it can).
///
/// Sums that add in another order than the CPU's (matrix products, atomic adds) differ by
/// rounding the size of their largest terms, not of their result, which may have cancelled to
/// near zero: `ofLargest` measures the tolerance against the largest element of the result.
@MainActor func check(_ name: String, _ gpuResult: @autoclosure () -> Tensor, _ cpuResult: @autoclosure () -> Tensor, tolerance: Double = 0, ofLargest: Bool = false) {
    checks += 1
    let compared: (Tensor, Tensor, [Double], [Double])
    do {
        compared = try withErrorChecking {
            let (gpuResult, cpuResult) = (gpuResult(), cpuResult())
            return (gpuResult, cpuResult, gpuResult.cpu().toArray(as: Double.self), cpuResult.toArray(as: Double.self))
        }
    } catch {
        return failures.append("\(name): \(error)")
    }
    let (gpuResult, cpuResult, actual, expected) = compared
    guard gpuResult.device == gpu else { return failures.append("\(name): result on \(gpuResult.device)") }
    guard gpuResult.shape == cpuResult.shape, gpuResult.dtype == cpuResult.dtype else {
        return failures.append("\(name): \(gpuResult.dtype)\(gpuResult.shape) against \(cpuResult.dtype)\(cpuResult.shape)")
    }
    let largest = ofLargest ? expected.map(abs).max() ?? 1 : 1
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        let same = a == e || (a.isNaN && e.isNaN) || abs(a - e) <= tolerance * max(largest, abs(e))
        if !same { return failures.append("\(name): [\(index)] \(a) against the CPU's \(e)") }
    }
}

let generator = Generator(seed: 7)
@MainActor func sample(_ shape: [Int], _ dtype: DType) -> Tensor {
    let values = Tensor.randn(shape, dtype: .float64, generator: generator) * 4
    return dtype.isFloatingPoint ? values.to(dtype) : dtype == .bool ? values .> 0 : values.to(dtype)
}

// MARK: 1. Ops against the CPU

/// Every op family on the GPU against the CPU; failures go to `failures`.
@MainActor func checkOps() {
    let dtypes: [DType] = [.float32, .float64, .float16, .bfloat16, .int64, .int32, .int16, .int8, .uint8, .bool]
    let shape = [37, 1029]
    let unaryFloat: [(String, (Tensor) -> Tensor)] = [
        ("exp", { $0.exp() }), ("log", { $0.abs().log() }), ("sqrt", { $0.abs().sqrt() }), ("rsqrt", { $0.abs().rsqrt() }),
        ("sin", { $0.sin() }), ("cos", { $0.cos() }), ("tanh", { $0.tanh() }), ("sigmoid", { $0.sigmoid() }),
        ("reciprocal", { $0.reciprocal() }),
    ]
    let unaryAny: [(String, (Tensor) -> Tensor)] = [
        ("neg", { -$0 }), ("abs", { $0.abs() }), ("sign", { $0.sign() }), ("relu", { $0.relu() }), ("clamp", { $0.clamp(min: 1, max: 3) }),
        ("clamp min", { $0.clamp(min: 0) }),
    ]
    /// In place, against the op on the CPU: the out-of-place form, then the in-place one.
    let inPlace: [(String, (Tensor) -> Tensor, (Tensor) -> Tensor)] = [
        ("exp_", { $0.exp() }, { $0.exp_() }), ("log_", { $0.abs().log() }, { $0.abs_().log_() }),
        ("sqrt_", { $0.abs().sqrt() }, { $0.abs_().sqrt_() }), ("rsqrt_", { $0.abs().rsqrt() }, { $0.abs_().rsqrt_() }),
        ("sin_", { $0.sin() }, { $0.sin_() }), ("cos_", { $0.cos() }, { $0.cos_() }), ("tanh_", { $0.tanh() }, { $0.tanh_() }),
        ("sigmoid_", { $0.sigmoid() }, { $0.sigmoid_() }), ("reciprocal_", { $0.reciprocal() }, { $0.reciprocal_() }),
        ("neg_", { -$0 }, { $0.neg_() }), ("sign_", { $0.sign() }, { $0.sign_() }), ("relu_", { $0.relu() }, { $0.relu_() }),
        ("clamp_", { $0.clamp(min: 1, max: 3) }, { $0.clamp_(min: 1, max: 3) }),
    ]
    let binary: [(String, (Tensor, Tensor) -> Tensor)] = [
        ("add", { $0 + $1 }), ("mul", { $0 * $1 }), ("sub", { $0 - $1 }), ("div", { $0 / $1 }), ("maximum", { $0.maximum($1) }),
        ("minimum", { $0.minimum($1) }), ("lt", { $0 .< $1 }), ("ge", { $0 .>= $1 }), ("eq", { $0 .== $1 }),
    ]
    for dtype in dtypes {
        let a = sample(shape, dtype), b = sample([shape[1]], dtype), t = sample([shape[1], shape[0]], dtype).t()
        let (ga, gb, gt) = (a.cuda(), b.cuda(), t.cuda())
        // The GPU's libdevice and the CPU's math library may differ in the last places.
        let mathTolerance = dtype == .float64 ? 1e-14 : dtype == .float32 ? 1e-6 : 1e-2
        if dtype.isFloatingPoint {
            for (name, op) in unaryFloat {
                check("\(name) \(dtype)", op(ga), op(a), tolerance: mathTolerance)
                check("\(name) \(dtype) transposed", op(gt), op(t), tolerance: mathTolerance)
            }
        }
        for (name, op) in unaryAny where dtype != .bool {
            check("\(name) \(dtype)", op(ga), op(a))
        }
        if dtype.isFloatingPoint {
            // tanh's gradient runs the tanh_backward kernel (1 − y² as one fused multiply-add). It
            // is set beside the exact gradient of the GPU's own tanh: 1 − y² cancels where y nears
            // ±1, so the last-place differences between the GPU's and the CPU's tanh grow there.
            let gx = ga.clone().requiresGrad_(), gy = gx.tanh()
            let y = gy.detach().cpu().to(.float64)
            check(
                "tanh gradient \(dtype)", autogradGrad(outputs: [gy], inputs: [gx], gradOutputs: [gt])[0]!,
                (t.to(.float64) * (1 - y * y)).to(dtype), tolerance: mathTolerance)
            for (name, outOfPlace, inPlace) in inPlace {
                check("\(name) \(dtype)", inPlace(ga.clone()), outOfPlace(a), tolerance: mathTolerance)
                check("\(name) \(dtype) on a transposed view", inPlace(ga.clone().t()), outOfPlace(a.t()), tolerance: mathTolerance)
            }
        }
        for (name, op) in binary where dtype != .bool || !["sub", "div"].contains(name) {
            let tolerance = name == "div" ? mathTolerance : 0
            check("\(name) \(dtype) broadcast", op(ga, gb), op(a, b), tolerance: tolerance)
            check("\(name) \(dtype) transposed", op(gt, ga), op(t, a), tolerance: tolerance)
        }
        // add and sub with alpha: one fused multiply-add an element on both (integers wrap alike).
        let alpha = dtype.isFloatingPoint ? -0.37 : 3
        check("add alpha \(dtype) broadcast", ga.add(gb, alpha: alpha), a.add(b, alpha: alpha))
        if dtype != .bool {
            check("sub_ alpha \(dtype) transposed", ga.clone().sub_(gt, alpha: alpha), a.clone().sub_(t, alpha: alpha))
        }
        check("where \(dtype)", Tensor.where(ga .> gb, ga, gt), Tensor.where(a .> b, a, t))
        check("a slice \(dtype) to the GPU", a[3..., 5...].cuda(), a[3..., 5...])
        for target in dtypes {
            check("cast \(dtype) to \(target)", gt.to(target), t.to(target))
        }
        let sumTolerance = dtype == .float16 || dtype == .bfloat16 ? 1e-2 : dtype.isFloatingPoint ? 1e-5 : 0
        check("sum \(dtype)", ga.sum(dim: 1), a.sum(dim: 1), tolerance: sumTolerance, ofLargest: true)
        check("sum \(dtype) over dim 0", ga.sum(dim: 0), a.sum(dim: 0), tolerance: sumTolerance, ofLargest: true)
        check("sum \(dtype) of all", ga.sum(), a.sum(), tolerance: sumTolerance)
        check("max \(dtype)", ga.max(dim: 1).values, a.max(dim: 1).values)
        check("argmax \(dtype)", ga.argmax(dim: 1), a.argmax(dim: 1))
        check("min \(dtype) of all", ga.min(), a.min())
        // Indexing, the index tensors on the GPU (checked by the kernels as they read them).
        let rows = Tensor([36, 0, -1, 5, 36]), columns = Tensor([1028, 3, 0, 3], shape: [1, 4]).expand([37, 4]).contiguous()
        let mask = sample(shape, .bool), slices = sample([4, shape[1]], dtype)
        check("index_select \(dtype)", ga.indexSelect(dim: 1, index: columns[0].cuda()), a.indexSelect(dim: 1, index: columns[0]))
        check("subscript \(dtype)", ga[rows.cuda()], a[rows])
        check("gather \(dtype)", gt.gather(dim: 1, index: columns.cuda()), t.gather(dim: 1, index: columns))
        check("mask \(dtype)", ga[mask.cuda()], a[mask])
        check("nonzero \(dtype)", ga.nonzero(), a.nonzero())
        check("scatter_add \(dtype)", ga.scatterAdd(dim: 1, index: columns.cuda(), src: gt), a.scatterAdd(dim: 1, index: columns, src: t), tolerance: sumTolerance, ofLargest: true)
        check("index_add \(dtype)", ga.indexAdd(dim: 0, index: Tensor([36, 0, 36, 2]).cuda(), source: slices.cuda()),
            a.indexAdd(dim: 0, index: Tensor([36, 0, 36, 2]), source: slices), tolerance: sumTolerance, ofLargest: true)
        let assigned = ga.clone(), expectedAssigned = a.clone()
        assigned[Tensor([-1, 0, 7, 5]).cuda()] = slices.cuda()
        expectedAssigned[Tensor([-1, 0, 7, 5])] = slices
        check("index_put \(dtype)", assigned, expectedAssigned)
        check("cat \(dtype)", Tensor.cat([ga, gt], dim: 0), Tensor.cat([a, t], dim: 0))
    }
    do {
        // An index out of range: reported at the next synchronization, the GPU still usable.
        let ones = Tensor.ones([3, 2], device: gpu)
        checks += 1
        do {
            try withErrorChecking { _ = ones.gather(dim: 0, index: Tensor([0, 7], shape: [1, 2]).cuda()).sum().item() }
            failures.append("gather with index 7 of 3: no error")
        } catch {
            if !"\(error)".hasPrefix("index 7 is out of bounds for dimension 0 with size 3") { failures.append("gather out of range: \(error)") }
        }
        check("gather after an index error", ones.gather(dim: 0, index: Tensor([2, 1], shape: [1, 2]).cuda()), Tensor.ones([1, 2]))
    }
    for dtype in [DType.float32, .float64, .float16, .bfloat16] {
        let (m, k, n) = (129, 1000, 67)
        let a = sample([m, k], dtype), b = sample([k, n], dtype), c = sample([n, k], dtype)
        // cuBLAS adds in another order than the CPU (half types: both in float32, then round).
        let tolerance = dtype == .float64 ? 1e-12 : dtype == .float32 ? 1e-5 : 1e-2
        check("mm \(dtype)", a.cuda().mm(b.cuda()), a.mm(b), tolerance: tolerance, ofLargest: true)
        check("mm \(dtype) transposed", a.cuda().mm(c.cuda().t()), a.mm(c.t()), tolerance: tolerance, ofLargest: true)
        let batch = sample([7, 33, 100], dtype), other = sample([7, 45, 100], dtype), shared = sample([1, 100, 45], dtype)
        check("bmm \(dtype) transposed", batch.cuda().bmm(other.cuda().transpose(1, 2)), batch.bmm(other.transpose(1, 2)),
            tolerance: tolerance, ofLargest: true)
        check("bmm \(dtype) broadcast", batch.cuda().bmm(shared.cuda().expand([7, 100, 45])), batch.bmm(shared.expand([7, 100, 45])),
            tolerance: tolerance, ofLargest: true)
        check("softmax \(dtype)", a.cuda().softmax(dim: 1), a.softmax(dim: 1), tolerance: dtype == .float64 ? 1e-10 : dtype == .float32 ? 1e-4 : 1e-2)
    }
    do {
        // Random fills: the same seed gives the same numbers, and they have the right moments.
        try withErrorChecking {
            let first = Tensor.randn([1 << 20], device: gpu, generator: Generator(seed: 1, device: gpu))
            let again = Tensor.randn([1 << 20], device: gpu, generator: Generator(seed: 1, device: gpu))
            check("randn is reproducible", first, again.cpu())
            let (mean, std) = (first.mean().item(), first.std().item())
            checks += 1
            if abs(mean) > 0.01 || abs(std - 1) > 0.01 { failures.append("randn: mean \(mean), std \(std)") }
            let uniform = Tensor.rand([1 << 20], device: gpu)
            checks += 1
            if uniform.min().item() < 0 || uniform.max().item() >= 1 { failures.append("rand left [0, 1)") }
        }
    } catch {
        failures.append("random fills: \(error)")
    }
    print("ops: \(checks - failures.count) of \(checks) checks match the CPU")
    for failure in failures.prefix(40) { print("  FAIL \(failure)") }
}

if !timingsOnly { checkOps() }

// MARK: 2. The seed programs

/// API.md's user-defined ReLU, for the third program.
struct MyReLU: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor {
        ctx.saveForBackward(input)
        return input.clamp(min: 0)
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor {
        let input = ctx.savedTensors[0]
        let gradInput = gradOutput.clone()
        gradInput[input .< 0] = 0
        return gradInput
    }
}

/// Runs `steps` steps of a seed program on `device` from the given weights; returns the losses.
@MainActor func seedLosses(_ program: String, on device: Device, steps: Int, weights: [Tensor]) -> [Double] {
    let (x, y) = (weights[0].to(device), weights[1].to(device))
    let (w1, w2) = (weights[2].clone().to(device), weights[3].clone().to(device))
    w1.requiresGrad = program != "manual"
    w2.requiresGrad = program != "manual"
    var losses: [Double] = []
    for _ in 0..<steps {
        if program == "manual" {
            let h = x.mm(w1), hRelu = h.clamp(min: 0), yPred = hRelu.mm(w2)
            losses.append((yPred - y).pow(2).sum().item())
            let gradYPred = 2.0 * (yPred - y)
            let gradW2 = hRelu.t().mm(gradYPred)
            let gradH = gradYPred.mm(w2.t()).clone()
            gradH[h .< 0] = 0
            w1 -= 1e-6 * x.t().mm(gradH)
            w2 -= 1e-6 * gradW2
        } else {
            let hidden = program == "custom" ? MyReLU.apply(x.mm(w1)) : x.mm(w1).clamp(min: 0)
            let loss = (hidden.mm(w2) - y).pow(2).sum()
            losses.append(loss.item())
            loss.backward()
            w1.data -= 1e-6 * w1.grad!.data
            w2.data -= 1e-6 * w2.grad!.data
            w1.grad!.data.zero_()
            w2.grad!.data.zero_()
        }
    }
    return losses
}

var seedsTrack = true
if !timingsOnly {
    let seedGenerator = Generator(seed: 0)
    let seedWeights = [[64, 1000], [64, 10], [1000, 100], [100, 10]].map { Tensor.randn($0, generator: seedGenerator) }
    for program in ["manual", "autograd", "custom"] {
        let cpu = seedLosses(program, on: .cpu, steps: 100, weights: seedWeights)
        guard let cuda = try? withErrorChecking({ seedLosses(program, on: gpu, steps: 100, weights: seedWeights) }) else {
            seedsTrack = false
            print("seed \(program) on \(gpu): FAIL, an op failed (see the op checks above)")
            continue
        }
        let worst = zip(cpu, cuda).map { abs($0 - $1) / max(abs($0), 1e-30) }.max() ?? 0
        let tracks = worst < 1e-4
        seedsTrack = seedsTrack && tracks
        print("seed \(program) on \(gpu): loss \(cuda[0]) -> \(cuda[99]) (CPU \(cpu[0]) -> \(cpu[99])), worst relative difference \(worst)\(tracks ? "" : "  FAIL")")
    }
}

// MARK: 3. Timings

/// The median over 7 samples of `body` run `iterations` times, synchronized, in seconds per run.
/// `hostOnly` stops each sample's clock before waiting for the GPU: the host's time to issue.
@MainActor func time(iterations: Int, hostOnly: Bool = false, _ body: () -> Void) -> Double {
    body()
    gpu.synchronize()
    var samples: [Double] = []
    for _ in 0..<7 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        if !hostOnly { gpu.synchronize() }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations))
        gpu.synchronize()
    }
    return samples.sorted()[3]
}

var timings: [String: Double] = [:]
/// `--filter TEXT`: only the timings whose names contain it (to profile one kernel).
let filter = CommandLine.arguments.firstIndex(of: "--filter").flatMap { $0 + 1 < CommandLine.arguments.count ? CommandLine.arguments[$0 + 1] : nil }
/// Times `body` as `name`; an op that fails is recorded, and the other timings go on.
@MainActor func timing(_ name: String, iterations: Int, hostOnly: Bool = false, _ body: () -> Void) {
    if let filter, !name.contains(filter) { return }
    do {
        timings[name] = try withErrorChecking { time(iterations: iterations, hostOnly: hostOnly, body) }
    } catch {
        failures.append("timing \(name): \(error)")
    }
}
if timingsOnly {
    let x = Tensor.randn([64, 1000], device: gpu), y = Tensor.randn([64, 10], device: gpu)
    let w1 = Tensor.randn([1000, 100], device: gpu, requiresGrad: true), w2 = Tensor.randn([100, 10], device: gpu, requiresGrad: true)
    func step() {
        let loss = (x.mm(w1).clamp(min: 0).mm(w2) - y).pow(2).sum()
        loss.backward()
        w1.data -= 1e-6 * w1.grad!.data
        w2.data -= 1e-6 * w2.grad!.data
        w1.grad!.data.zero_()
        w2.grad!.data.zero_()
    }
    timing("seed autograd step", iterations: 50, step)
    timing("seed autograd step, host", iterations: 20, hostOnly: true, step)
    let tiny = Tensor.randn([10], device: gpu)
    timing("add of 10 elements", iterations: 200) { _ = tiny + tiny }
    timing("add of 10 elements, host", iterations: 200, hostOnly: true) { _ = tiny + tiny }
    let a = Tensor.randn([4096, 4096], device: gpu), b = Tensor.randn([4096, 4096], device: gpu)
    timing("sgemm 4096", iterations: 10) { _ = a.mm(b) }
    let (halfA, halfB) = (a.to(.float16), b.to(.float16))
    timing("hgemm 4096", iterations: 20) { _ = halfA.mm(halfB) }
    let batch = Tensor.randn([64, 256, 256], device: gpu), batchOther = Tensor.randn([64, 256, 256], device: gpu)
    timing("bmm 64x256x256", iterations: 20) { _ = batch.bmm(batchOther) }
    let logits = Tensor.randn([4096, 1000], device: gpu)
    timing("softmax 4096x1000", iterations: 20) { _ = logits.softmax(dim: 1) }
    let longLogits = Tensor.randn([4096, 1030], device: gpu)
    timing("softmax 4096x1030", iterations: 20) { _ = longLogits.softmax(dim: 1) }
    let big = Tensor.randn([1 << 28], device: gpu), other = Tensor.randn([1 << 28], device: gpu)
    timing("add 256M", iterations: 5) { _ = big + other }
    timing("copy_ 256M", iterations: 5) { big.copy_(other) }
    timing("exp 256M", iterations: 5) { _ = big.exp() }
    timing("sum 256M", iterations: 5) { _ = big.sum() }
}
// Each case's work per run, to print throughput: (amount, unit, scale).
let work: [(String, Double, String, Double)] = [
    ("seed autograd step", 0, "", 1), ("seed autograd step, host", 0, "", 1),
    ("add of 10 elements", 0, "", 1), ("add of 10 elements, host", 0, "", 1), ("sgemm 4096", 2 * pow(4096.0, 3), "TFLOP/s", 1e12),
    ("hgemm 4096", 2 * pow(4096.0, 3), "TFLOP/s", 1e12), ("bmm 64x256x256", 2 * 64 * pow(256.0, 3), "TFLOP/s", 1e12),
    ("softmax 4096x1000", 2 * 4 * 4096 * 1000, "GB/s", 1e9), ("softmax 4096x1030", 2 * 4 * 4096 * 1030, "GB/s", 1e9), ("add 256M", 3 * 4 * Double(1 << 28), "GB/s", 1e9),
    ("copy_ 256M", 2 * 4 * Double(1 << 28), "GB/s", 1e9), ("exp 256M", 2 * 4 * Double(1 << 28), "GB/s", 1e9),
    ("sum 256M", 4 * Double(1 << 28), "GB/s", 1e9),
]
if timingsOnly {
    for (name, amount, unit, scale) in work {
        guard let seconds = timings[name] else {
            print("\(name): FAIL")
            continue
        }
        let rate = amount > 0 ? ", " + String(format: "%.1f", amount / seconds / scale) + " " + unit : ""
        print("\(name): \(String(format: "%.1f", seconds * 1e6)) µs\(rate)")
    }
}

if let index = CommandLine.arguments.firstIndex(of: "--json"), index + 1 < CommandLine.arguments.count {
    let report: [String: Any] = ["timings": timings, "checks": checks, "failures": failures, "seedsTrack": seedsTrack]
    let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: CommandLine.arguments[index + 1]), options: .atomic)
}
exit(failures.isEmpty && seedsTrack ? 0 : 1)
