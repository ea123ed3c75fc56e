import Ember
import Foundation

/// The benchmark suites; each case's name is shared with Benchmarks/compare.py so ratios line up.
enum Suites {
    static let all: [(name: String, run: @Sendable (Bench) -> [Measurement])] = [
        ("seed", seed), ("sgemm", sgemm), (builtinGEMMSuite, builtinGEMM), ("elementwise", elementwise),
        ("reduction", reduction), ("indexing", indexing), ("ops", ops), ("backward", backward), ("overhead", overhead), ("memory", memory),
    ]

    // MARK: Seed programs

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

    /// A closure that runs `steps` training steps of one seed program on weights it keeps
    /// between calls (set up once, outside the timed part).
    static func seedStep(_ program: String, steps: Int) -> () -> Void {
        let (N, DIn, H, DOut) = (64, 1000, 100, 10)
        let learningRate: Float = 1e-6
        let generator = Generator(seed: 0)
        let x = Tensor.randn(N, DIn, generator: generator), y = Tensor.randn(N, DOut, generator: generator)
        let w1 = Tensor.randn(DIn, H, requiresGrad: program != "manual", generator: generator)
        let w2 = Tensor.randn(H, DOut, requiresGrad: program != "manual", generator: generator)
        return {
            for _ in 0..<steps {
                switch program {
                case "manual":
                    let h = x.mm(w1)
                    let hRelu = h.clamp(min: 0)
                    let yPred = hRelu.mm(w2)
                    _ = (yPred - y).pow(2).sum()
                    let gradYPred = 2.0 * (yPred - y)
                    let gradW2 = hRelu.t().mm(gradYPred)
                    let gradH = gradYPred.mm(w2.t()).clone()
                    gradH[h .< 0] = 0
                    let gradW1 = x.t().mm(gradH)
                    w1 -= learningRate * gradW1
                    w2 -= learningRate * gradW2
                default:
                    let hidden = program == "custom" ? MyReLU.apply(x.mm(w1)) : x.mm(w1).clamp(min: 0)
                    let loss = (hidden.mm(w2) - y).pow(2).sum()
                    loss.backward()
                    w1.data -= learningRate * w1.grad!.data
                    w2.data -= learningRate * w2.grad!.data
                    w1.grad!.data.zero_()
                    w2.grad!.data.zero_()
                }
            }
        }
    }

    /// The three programs timed in turn, round after round, so that a busy moment on a shared
    /// host slows all three rather than skewing their ratios. With a reference, each round also
    /// times PyTorch's three steps, and both sides run each program untimed for 20 ms before
    /// timing it, as `Bench.measure` does, as the other's work has just left the caches. NumPy's
    /// manual step is timed after the rounds, as its BLAS threads spin for a while after each
    /// product and would slow Ember's.
    static func seed(_ bench: Bench) -> [Measurement] {
        let programs = ["manual", "autograd", "custom"]
        let steps = 20
        let runs = programs.map { seedStep($0, steps: steps) }
        var samples = programs.map { _ in [Double]() }, pytorch = samples
        let reference = bench.reference
        for run in runs { run() }
        for _ in 0..<15 {
            for (index, run) in runs.enumerated() {
                if reference != nil { bench.warmUp(run) }
                let start = DispatchTime.now().uptimeNanoseconds
                run()
                samples[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps))
            }
            for (index, program) in programs.enumerated() {
                if let seconds = reference?.seconds(suite: "seed", library: "pytorch", case: "seed \(program) step") {
                    pytorch[index].append(seconds)
                }
            }
        }
        let numpy = (0..<15).compactMap { _ in reference?.seconds(suite: "seed", library: "numpy", case: "seed manual step") }
        func median(_ times: [Double]) -> Double? { times.isEmpty ? nil : times.sorted()[times.count / 2] }
        return programs.indices.map { index in
            var measurement = Measurement(
                suite: "seed", name: "seed \(programs[index]) step", seconds: median(samples[index])!, work: nil, unit: nil)
            measurement.pytorch = median(pytorch[index])
            measurement.numpy = index == 0 ? median(numpy) : nil
            return measurement
        }
    }

    // MARK: Matrix multiply

    static func sgemm(_ bench: Bench) -> [Measurement] {
        var results: [Measurement] = []
        for n in [64, 128, 256, 512, 1024, 2048] {
            let a = Tensor.randn(n, n), b = Tensor.randn(n, n)
            results.append(
                bench.measure("sgemm \(n)", work: 2 * pow(Double(n), 3), unit: "GFLOP/s", repeats: n >= 1024 ? 3 : 7, iterations: n <= 256 ? 20 : 1) {
                    _ = a.mm(b)
                })
        }
        let x = Tensor.randn(64, 1000), w1 = Tensor.randn(1000, 100), g = Tensor.randn(64, 100)
        let gy = Tensor.randn(64, 10), w2 = Tensor.randn(100, 10), weight = Tensor.randn(100, 1000)
        let shapes: [(String, () -> Void, Double)] = [
            ("sgemm seed x·w1 64x1000x100", { _ = x.mm(w1) }, 2 * 64 * 1000 * 100),
            ("sgemm seed xT·g 1000x64x100", { _ = x.t().mm(g) }, 2 * 64 * 1000 * 100),
            ("sgemm seed g·w2T 64x10x100", { _ = gy.mm(w2.t()) }, 2 * 64 * 10 * 100),
            // nn.Linear's product: the weight stored (out, in), so B is transposed.
            ("sgemm linear x·WT 64x1000x100", { _ = x.mm(weight.t()) }, 2 * 64 * 1000 * 100),
        ]
        for (name, body, flops) in shapes {
            results.append(bench.measure(name, work: flops, unit: "GFLOP/s", repeats: 7, iterations: 20, body))
        }
        return results
    }

    // MARK: Built-in GEMM against the BLAS

    static let builtinGEMMSuite = "builtin-gemm"

    /// The built-in kernel against the loaded BLAS at 256–2048 on one thread and on all, and at
    /// the seed's two large shapes on all. Each repeat times the built-in product and then the
    /// BLAS's, so that a slow moment of the host falls on both sides; without a BLAS, the
    /// built-in kernel's times alone.
    static func builtinGEMM(_ bench: Bench) -> [Measurement] {
        let hasBLAS = Ember.blasLibrary != nil, allThreads = Ember.numThreads, blasWasEnabled = Ember.blasEnabled
        defer {
            Ember.setNumThreads(allThreads)
            Ember.blasEnabled = blasWasEnabled
        }
        func threadsLabel(_ threads: Int) -> String { "\(threads) thread\(threads == 1 ? "" : "s")" }
        func compare(_ name: String, flops: Double, repeats: Int, iterations: Int, _ body: () -> Void) -> Measurement {
            var builtin: [Double] = [], blas: [Double] = []
            for _ in 0..<repeats {
                Ember.blasEnabled = false
                builtin.append(median(repeats: 1, iterations: iterations, body))
                guard hasBLAS else { continue }
                Ember.blasEnabled = true
                blas.append(median(repeats: 1, iterations: iterations, body))
            }
            func middle(_ times: [Double]) -> Double? { times.isEmpty ? nil : times.sorted()[times.count / 2] }
            var measurement = Measurement(suite: builtinGEMMSuite, name: name, seconds: middle(builtin)!, work: flops, unit: "GFLOP/s")
            measurement.blas = middle(blas)
            return measurement
        }
        var results: [Measurement] = []
        for threads in Set([1, allThreads]).sorted() {
            Ember.setNumThreads(threads)
            for n in [256, 512, 1024, 2048] {
                let a = Tensor.randn(n, n), b = Tensor.randn(n, n)
                results.append(
                    compare("built-in sgemm \(n), \(threadsLabel(threads))", flops: 2 * pow(Double(n), 3),
                            repeats: n >= 1024 ? 3 : 7, iterations: n <= 256 ? 20 : 1) { _ = a.mm(b) })
            }
        }
        let x = Tensor.randn(64, 1000), w1 = Tensor.randn(1000, 100), g = Tensor.randn(64, 100)
        let seedFLOPs = 2.0 * 64 * 1000 * 100
        results.append(compare("built-in seed x·w1 64x1000x100, \(threadsLabel(allThreads))", flops: seedFLOPs, repeats: 15, iterations: 20) { _ = x.mm(w1) })
        results.append(compare("built-in seed xT·g 1000x64x100, \(threadsLabel(allThreads))", flops: seedFLOPs, repeats: 15, iterations: 20) { _ = x.t().mm(g) })
        return results
    }

    // MARK: Elementwise

    static func elementwise(_ bench: Bench) -> [Measurement] {
        var results: [Measurement] = []
        for count in [1 << 10, 1 << 16, 1 << 20, 1 << 24] {
            let a = Tensor.randn(count), b = Tensor.randn(count), c = Tensor.empty([count])
            // In place, each op runs on its last output: mul_ by ±1 keeps the magnitudes, relu_
            // and clamp_ are idempotent; exp_ would reach +inf within a few calls (where
            // PyTorch's exp takes a slow path), so its input is restored, untimed, before each
            // from a copy of `a` (which add_ changes).
            let signs = Tensor.where(b .> 0, 1.0, -1.0), d = a.clone(), e = a.clone(), original = a.clone()
            let label = count >= 1 << 20 ? "\(count >> 20)M" : "\(count >> 10)K"
            let iterations = Swift.max(1, (1 << 22) / count)
            let bytes3 = Double(3 * 4 * count), bytes2 = Double(2 * 4 * count)
            let cases: [(name: String, body: () -> Void, bytes: Double, restore: (() -> Void)?)] = [
                ("add \(label)", { _ = a + b }, bytes3, nil),
                ("mul \(label)", { _ = a * b }, bytes3, nil),
                ("exp \(label)", { _ = a.exp() }, bytes2, nil),
                ("relu \(label)", { _ = a.relu() }, bytes2, nil),
                ("clamp \(label)", { _ = a.clamp(min: -0.5, max: 0.5) }, bytes2, nil),
                ("add_ in place \(label)", { a.add_(b) }, bytes3, nil),
                // An SGD step's update, one fused multiply-add an element.
                ("add_ alpha in place \(label)", { a.add_(b, alpha: -1e-3) }, bytes3, nil),
                ("mul_ in place \(label)", { d.mul_(signs) }, bytes3, nil),
                ("exp_ in place \(label)", { e.exp_() }, bytes2, { e.copy_(original) }),
                ("relu_ in place \(label)", { d.relu_() }, bytes2, nil),
                ("clamp_ in place \(label)", { d.clamp_(min: -0.5, max: 0.5) }, bytes2, nil),
                // The copy bandwidth that in-place ops are measured against.
                ("copy_ \(label)", { c.copy_(a) }, bytes2, nil),
            ]
            for (name, body, bytes, restore) in cases {
                results.append(bench.measure(name, work: bytes, unit: "GB/s", iterations: iterations, restoring: restore, body))
            }
        }
        return results
    }

    // MARK: Reductions

    static func reduction(_ bench: Bench) -> [Measurement] {
        var results: [Measurement] = []
        for count in [1 << 16, 1 << 24] {
            let a = Tensor.randn(count)
            let label = count >= 1 << 20 ? "\(count >> 20)M" : "\(count >> 10)K"
            let iterations = Swift.max(1, (1 << 22) / count)
            results.append(bench.measure("sum \(label)", work: Double(4 * count), unit: "GB/s", iterations: iterations) { _ = a.sum() })
            results.append(bench.measure("max \(label)", work: Double(4 * count), unit: "GB/s", iterations: iterations) { _ = a.max() })
        }
        let logits = Tensor.randn(4096, 1000), bytes = Double(4 * 4096 * 1000)
        // Over the leading dimension, as a bias gradient is summed.
        results.append(bench.measure("sum dim 0 4096x1000", work: bytes, unit: "GB/s") { _ = logits.sum(dim: 0) })
        // Over the last dimension, as a loss or a norm is: with indices for max, as PyTorch's.
        results.append(bench.measure("sum dim 1 4096x1000", work: bytes, unit: "GB/s") { _ = logits.sum(dim: 1) })
        results.append(bench.measure("max dim 1 4096x1000", work: bytes, unit: "GB/s") { _ = logits.max(dim: 1) })
        results.append(bench.measure("softmax 4096x1000", work: 2 * bytes, unit: "GB/s") { _ = logits.softmax(dim: 1) })
        return results
    }

    // MARK: Indexing

    /// An embedding's lookup and its gradient (4096 rows of 64 from 10,000), and a mask over
    /// 4096x1000 half true at random.
    static func indexing(_ bench: Bench) -> [Measurement] {
        let generator = Generator(seed: 3)
        let table = Tensor.randn([10_000, 64], generator: generator), source = Tensor.randn([4096, 64], generator: generator)
        let rows = Tensor.randint(high: 10_000, shape: [4096], generator: generator)
        let values = Tensor.randn([4096, 1000], generator: generator), mask = values .> 0
        let rowBytes = Double(4096 * 64 * 4)
        return [
            bench.measure("index_select 4096 rows", work: rowBytes, unit: "GB/s", iterations: 20) { _ = table.indexSelect(dim: 0, index: rows) },
            bench.measure("index_add 4096 rows", work: rowBytes, unit: "GB/s", iterations: 20) {
                _ = table.indexAdd(dim: 0, index: rows, source: source)
            },
            bench.measure("masked select 4096x1000", work: Double(4096 * 1000 * 5), unit: "GB/s") { _ = values[mask] },
            bench.measure("nonzero 4096x1000", work: Double(4096 * 1000), unit: "GB/s") { _ = mask.nonzero() },
        ]
    }

    // MARK: Other common ops

    /// Ops outside the issue's list that a survey against PyTorch found far behind it (up to 22x,
    /// for a sum over a middle dimension), kept here so that they stay caught up.
    static func ops(_ bench: Bench) -> [Measurement] {
        let generator = Generator(seed: 5)
        let million = Tensor.randn([1 << 20], generator: generator), positive = million.abs()
        let left = Tensor.randn([32, 64, 64], generator: generator), right = Tensor.randn([32, 64, 64], generator: generator)
        let cube = Tensor.randn([64, 128, 128], generator: generator), block = Tensor.randn([64, 256, 256], generator: generator)
        let logits = Tensor.randn([4096, 1000], generator: generator)
        let picks = Tensor.randint(high: 1000, shape: [4096, 10], generator: generator)
        let column = Tensor.randn([1000, 1], generator: generator), row = Tensor.randn([1, 1000], generator: generator)
        let matrix = Tensor.randn([4096, 1024], generator: generator), vector = Tensor.randn([1024], generator: generator)
        let factors = logits * 0.01 + 1
        let bytes = Double(1 << 22)
        return [
            bench.measure("randn 1M", work: bytes, unit: "GB/s") { _ = Tensor.randn([1 << 20], generator: generator) },
            bench.measure("bmm 32x64x64", work: 2 * 32 * 64 * 64 * 64, unit: "GFLOP/s", iterations: 20) { _ = left.bmm(right) },
            bench.measure("sum dim 1 of 64x128x128", work: bytes, unit: "GB/s", iterations: 5) { _ = cube.sum(dim: 1) },
            bench.measure("sum dim 2 of 64x128x128", work: bytes, unit: "GB/s", iterations: 5) { _ = cube.sum(dim: 2) },
            bench.measure("to float16 1M", work: 1.5 * bytes, unit: "GB/s", iterations: 5) { _ = million.to(.float16) },
            bench.measure("gather 10 of 1000 per row, 4096 rows", iterations: 5) { _ = logits.gather(dim: 1, index: picks) },
            bench.measure("sqrt 1M", work: 2 * bytes, unit: "GB/s", iterations: 5) { _ = positive.sqrt() },
            bench.measure("sin 1M", work: 2 * bytes, unit: "GB/s", iterations: 5) { _ = million.sin() },
            bench.measure("log_softmax 4096x1000", work: 8 * 4096 * 1000, unit: "GB/s") { _ = logits.logSoftmax(dim: 1) },
            bench.measure("logsumexp dim 1 4096x1000", work: 4 * 4096 * 1000, unit: "GB/s") { _ = logits.logsumexp(dim: 1) },
            bench.measure("var dim 1 4096x1000", work: 4 * 4096 * 1000, unit: "GB/s") { _ = logits.variance(dim: 1) },
            bench.measure("column + row 1000x1000", work: bytes, unit: "GB/s", iterations: 5) { _ = column + row },
            bench.measure("mv 4096x1024", work: 4 * 4096 * 1024, unit: "GB/s", iterations: 5) { _ = matrix.mv(vector) },
            bench.measure("prod dim 1 4096x1000", work: 4 * 4096 * 1000, unit: "GB/s") { _ = factors.prod(dim: 1) },
            bench.measure("permute 0,2,1 contiguous 64x256x256", work: 2 * 4 * 64 * 256 * 256, unit: "GB/s") {
                _ = block.permute(0, 2, 1).contiguous()
            },
        ]
    }

    // MARK: Backward

    /// Each op forward and backward, from a leaf that requires grad with a given gradient, the
    /// leaf's `grad` reset to nil after each (so that it takes over its gradient, as a training
    /// step's `zero_grad(set_to_none=True)` lets it): the derivatives, not just the forwards.
    static func backward(_ bench: Bench) -> [Measurement] {
        let generator = Generator(seed: 6)
        func leaf(_ shape: Int...) -> Tensor { Tensor.randn(shape, requiresGrad: true, generator: generator) }
        let million = leaf(1 << 20), logits = leaf(4096, 1000), halves = [leaf(2048, 1000), leaf(2048, 1000)]
        let picks = Tensor.randint(high: 1000, shape: [4096, 10], generator: generator)
        let rows = Tensor.randint(high: 4096, shape: [4096], generator: generator)
        func measure(_ name: String, _ leaves: [Tensor], _ forward: @escaping () -> Tensor) -> Measurement {
            let gradient = noGrad { Tensor.randn(forward().shape, generator: generator) }
            return bench.measure(name, iterations: 3) {
                forward().backward(gradient: gradient)
                for leaf in leaves { leaf.grad = nil }
            }
        }
        return [
            measure("tanh fwd+bwd 1M", [million]) { million.tanh() },
            measure("sigmoid fwd+bwd 1M", [million]) { million.sigmoid() },
            measure("sum dim 1 fwd+bwd 4096x1000", [logits]) { logits.sum(dim: 1) },
            measure("max dim 1 fwd+bwd 4096x1000", [logits]) { logits.max(dim: 1).values },
            measure("softmax fwd+bwd 4096x1000", [logits]) { logits.softmax(dim: 1) },
            measure("log_softmax fwd+bwd 4096x1000", [logits]) { logits.logSoftmax(dim: 1) },
            measure("gather fwd+bwd 10 of 1000 per row, 4096 rows", [logits]) { logits.gather(dim: 1, index: picks) },
            measure("index_select fwd+bwd 4096 rows of 4096x1000", [logits]) { logits.indexSelect(dim: 0, index: rows) },
            measure("narrow fwd+bwd 500 of 1000 columns", [logits]) { logits.narrow(dim: 1, start: 100, length: 500) },
            measure("cat fwd+bwd 2x2048x1000", halves) { Tensor.cat(halves, dim: 0) },
        ]
    }

    // MARK: Per-op overhead

    static func overhead(_ bench: Bench) -> [Measurement] {
        let small = Tensor.randn(10)
        let w = Tensor.randn(10, requiresGrad: true)
        return [
            bench.measure("tiny add forward (10 elements)", repeats: 15, per: 1000) { for _ in 0..<1000 { _ = small + small } },
            bench.measure("tiny mul fwd+bwd with grad", repeats: 15, per: 100) {
                var z = w
                for _ in 0..<100 { z = z * 1.0001 }
                z.sum().backward()
            },
        ]
    }

    // MARK: Memory

    static func memory(_ bench: Bench) -> [Measurement] {
        let step = seedStep("autograd", steps: 1000)
        step()
        let before = currentResidentBytes()
        for _ in 0..<10 { step() }
        let after = currentResidentBytes()
        return [
            Measurement(suite: "memory", name: "RSS growth over 10,000 autograd steps (MB)", seconds: (after - before) / 1e6, work: nil, unit: "MB"),
            bench.compared(Measurement(suite: "memory", name: "peak RSS (MB)", seconds: peakResidentBytes() / 1e6, work: nil, unit: "MB")),
        ]
    }
}
