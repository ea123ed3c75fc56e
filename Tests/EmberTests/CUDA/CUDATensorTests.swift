import Testing

@testable import Ember

/// Tensors on `cuda:0`, with the emulated GPU (`EmulatedCUDA`) standing in for one: moving
/// between devices, printing, elementwise ops, in-place ops, casts and autograd through device
/// moves, each checked against the same computation on the CPU.
@Suite(.enabled(if: EmulatedCUDA.isAvailable, HostKernelModule.skipReason))
struct CUDATensorTests {
    static let gpu = Device.cuda(0)

    init() throws { try EmulatedCUDA.install() }

    static func sample(_ shape: Int..., seed: UInt64 = 0) -> Tensor {
        Tensor.randn(shape, generator: Generator(seed: seed))
    }

    @Test func tensorsMoveToTheGPUAndBack() {
        let x = Self.sample(3, 5)
        let onGPU = x.to(Self.gpu)
        #expect(onGPU.device == Self.gpu && onGPU.shape == [3, 5] && onGPU.dtype == .float32)
        #expect(onGPU.cpu().toArray(as: Float.self) == x.toArray(as: Float.self))
        #expect(onGPU.toArray(as: Float.self) == x.toArray(as: Float.self))
        #expect(Tensor([2.5] as [Float], shape: [1]).cuda().item() == 2.5)
        // A transposed view on the GPU comes back in its logical order.
        #expect(onGPU.t().cpu().toArray(as: Float.self) == x.t().toArray(as: Float.self))
        #expect(onGPU.t().contiguous().cpu().toArray(as: Float.self) == x.t().contiguous().toArray(as: Float.self))
        #expect(x.type(.cudaDoubleTensor).device == Self.gpu && x.type(.cudaDoubleTensor).dtype == .float64)
        // Views that start inside their storage: the copy starts at their first element, and a
        // 0-dim view used as a number is that element.
        #expect(x[1...].cuda().cpu().toArray(as: Float.self) == x[1...].toArray(as: Float.self))
        #expect(x.to(.float64)[2].cuda().cpu().toArray(as: Double.self) == x.to(.float64)[2].toArray(as: Double.self))
        #expect((onGPU + x[2, 3]).cpu().toArray(as: Float.self) == (x + x[2, 3]).toArray(as: Float.self))
        // A 0-dim CPU tensor beside a 0-dim GPU one goes to the GPU, whichever comes first.
        let (number, gpuNumber) = (x[2, 3], x[1, 1].cuda())
        #expect((number + gpuNumber).device == Self.gpu && (gpuNumber + number).device == Self.gpu)
        #expect((number * gpuNumber).item() == Double(Float(x[2, 3].item()) * Float(x[1, 1].item())))
    }

    @Test func printingAddsTheDevice() {
        let x = Tensor([1.5, -2, 3] as [Float], shape: [3])
        #expect(x.cuda().description == "tensor([ 1.5000, -2.0000,  3.0000], device='cuda:0')")
        #expect(x.to(.float64).cuda().description == "tensor([ 1.5000, -2.0000,  3.0000], device='cuda:0', dtype=float64)")
    }

    @Test func elementwiseOpsMatchTheCPU() {
        let a = Self.sample(4, 6, seed: 1), b = Self.sample(6, seed: 2), mask = Self.sample(4, 6, seed: 3) .> 0
        let (ga, gb, gmask) = (a.cuda(), b.cuda(), mask.cuda())
        let cases: [(String, Tensor, Tensor)] = [
            ("exp", a.exp(), ga.exp()),
            ("relu", a.relu(), ga.relu()),
            ("neg of a transposed view", (-a.t()), (-ga.t())),
            ("add with broadcasting", a + b, ga + gb),
            ("mul by a Swift number", a * 2.5, ga * 2.5),
            ("scalar minus tensor", 1 - a, 1 - ga),
            ("pow", a.pow(2), ga.pow(2)),
            ("clamp", a.clamp(min: 0), ga.clamp(min: 0)),
            ("lt", (a .< b).to(.float32), (ga .< gb).to(.float32)),
            ("where", Tensor.where(mask, a, b), Tensor.where(gmask, ga, gb)),
            ("masked fill", a.maskedFill(mask, 7), ga.maskedFill(gmask, 7)),
            ("int64 cast", (a * 10).to(.int64).to(.float32), (ga * 10).to(.int64).to(.float32)),
            ("float16 round trip", a.to(.float16).to(.float32), ga.to(.float16).to(.float32)),
            ("division by an integer tensor", a / Tensor([3] as [Int64], shape: [1]), ga / Tensor([3] as [Int64], shape: [1]).cuda()),
        ]
        for (name, expected, actual) in cases {
            #expect(actual.device == Self.gpu, "\(name)")
            #expect(actual.shape == expected.shape && actual.dtype == expected.dtype, "\(name)")
            #expect(actual.cpu().toArray(as: Float.self) == expected.toArray(as: Float.self), "\(name)")
        }
    }

    @Test func inPlaceOpsAndFillsWriteDeviceMemory() {
        let a = Self.sample(3, 4, seed: 4), b = Self.sample(4, seed: 5)
        let (cpu, gpu) = (a.clone(), a.cuda())
        cpu += b
        gpu += b.cuda()
        cpu.mul_(Tensor(3.0))
        gpu.mul_(Tensor(3.0))
        #expect(gpu.cpu().toArray(as: Float.self) == cpu.toArray(as: Float.self))
        // An SGD step's fused update, broadcasting, and on an int16 copy (wrapping).
        cpu.sub_(b, alpha: 0.37)
        gpu.sub_(b.cuda(), alpha: 0.37)
        #expect(gpu.cpu().toArray(as: Float.self) == cpu.toArray(as: Float.self))
        let integers = (a * 1000).to(.int16)
        #expect(integers.cuda().add_(integers.cuda(), alpha: 300).cpu().toArray(as: Int16.self)
            == integers.clone().add_(integers, alpha: 300).toArray(as: Int16.self))
        let mask = cpu .< 0
        cpu[mask] = 0
        gpu[mask.cuda()] = 0
        #expect(gpu.cpu().toArray(as: Float.self) == cpu.toArray(as: Float.self))
        gpu.zero_()
        #expect(gpu.cpu().toArray(as: Float.self) == Array(repeating: 0, count: 12))
        // A fill through a strided view writes only its elements.
        let column = gpu[0..., 1]
        column.fill_(2)
        #expect(gpu.cpu().toArray(as: Float.self) == (0..<12).map { $0 % 4 == 1 ? 2 : 0 })
        // copy_ from the CPU into the GPU, converting.
        gpu.copy_(Tensor((0..<12).map { Double($0) }, shape: [3, 4]))
        #expect(gpu.cpu().toArray(as: Float.self) == (0..<12).map(Float.init))
    }

    /// Swift numbers reach the GPU once: the next op with the same number and dtype reuses it.
    @Test func numbersAreKeptOnTheGPU() {
        let cache = CUDAScalarCache.shared
        let two = cache.scalar(Tensor(2.5), on: Self.gpu)
        #expect(two.device == Self.gpu && two.item() == 2.5)
        #expect(cache.scalar(Tensor(2.5), on: Self.gpu) === two)
        #expect(cache.scalar(Tensor(2.5).to(.float64), on: Self.gpu) !== two)
        #expect(cache.scalar(Tensor(-2.5), on: Self.gpu).item() == -2.5)
        let x = Self.sample(3).cuda()
        #expect((x * 2.5).cpu().toArray(as: Float.self) == (x.cpu() * 2.5).toArray(as: Float.self))
    }

    /// Views with more dimensions than the kernels take, which do not merge: inputs are laid
    /// out on the host first; a strided output like that is refused.
    @Test func viewsBeyondSixteenDimensions() {
        let x = Self.sample(131_072, seed: 15).reshape(Array(repeating: 2, count: 17))
        let permuted = x.permute(Array((0..<17).reversed()))
        let gpuPermuted = x.cuda().permute(Array((0..<17).reversed()))
        #expect(gpuPermuted.exp().cpu().toArray(as: Float.self) == permuted.exp().toArray(as: Float.self))
        #expect(gpuPermuted.contiguous().cpu().toArray(as: Float.self) == permuted.contiguous().toArray(as: Float.self))
        let error = #expect(throws: EmberError.self) { try withErrorChecking { gpuPermuted.fill_(1) } }
        #expect(error?.message == "writing a view with more than 16 dimensions that do not merge is not supported on cuda:0")
    }

    /// A GPU that cannot be opened is refused with the reason: what was searched and missing
    /// here, or how many GPUs there are on a machine with a driver.
    @Test func anUnavailableGPUSaysWhy() {
        let error = #expect(throws: EmberError.self) { try withErrorChecking { _ = Tensor.zeros([2], device: .cuda(7)) } }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("cuda:7 is not available: "))
        #expect(message.contains("libcuda") || message.contains("CUDA devices") || message.contains("no CUDA GPU"), "\(message)")
        #expect(Device.cuda(7).memoryAllocated == 0)
    }

    @Test func devicesNeverMix() {
        let a = Self.sample(2).cuda(), b = Self.sample(2)
        for call in [{ _ = a + b }, { _ = b * a }, { _ = Tensor.where(b .> 0, a, a) }] {
            let error = #expect(throws: EmberError.self) { try withErrorChecking(call) }
            #expect(error?.message == "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!")
        }
    }

    /// Gradients flow back across the move to the GPU (ToCopyBackward0) and through GPU ops.
    @Test func autogradCrossesDevices() throws {
        let x = Self.sample(5, seed: 6)
        x.requiresGrad = true
        let y = (x.cuda() * 3).exp()
        #expect(y.gradFn?.name == "ExpBackward0")
        y.backward(gradient: Tensor.onesLike(y))
        let gradient = try #require(x.grad)
        #expect(gradient.device == .cpu)
        let expected = (x.detach() * 3).exp() * 3
        let distance = zip(gradient.toArray(as: Float.self), expected.toArray(as: Float.self)).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }
        #expect(distance.max()! < 1e-6)
    }

    @Test func memoryIsCountedAndCached() {
        // Other tests use the GPU concurrently, so only bounds that hold whatever they do.
        let x = Tensor.zeros([1000], device: Self.gpu)
        #expect(x.cpu().toArray(as: Float.self) == Array(repeating: 0, count: 1000))
        #expect(Self.gpu.memoryAllocated >= 4000)
        #expect(Self.gpu.memoryReserved >= 4000)
        #expect(Device.cpu.memoryAllocated == 0)
    }

    static func close(_ actual: Tensor, _ expected: Tensor, tolerance: Double = 1e-6) -> Bool {
        guard actual.shape == expected.shape, actual.dtype == expected.dtype else { return false }
        return zip(actual.cpu().toArray(as: Double.self), expected.toArray(as: Double.self)).allSatisfy { a, e in
            a == e || (a.isNaN && e.isNaN) || Swift.abs(a - e) <= tolerance * Swift.max(1, Swift.abs(e))
        }
    }

    @Test func reductionsMatchTheCPU() {
        let x = Self.sample(7, 300, seed: 7), g = x.cuda()
        #expect(Self.close(g.sum(), x.sum()))
        #expect(Self.close(g.sum(dim: 1), x.sum(dim: 1)))
        #expect(Self.close(g.sum(dim: 0, keepdim: true), x.sum(dim: 0, keepdim: true)))
        #expect(Self.close(g.mean(dim: 1), x.mean(dim: 1)))
        #expect(Self.close((g / 10 + 1).prod(dim: 1), (x / 10 + 1).prod(dim: 1), tolerance: 1e-5))
        #expect(Self.close(g.max(), x.max()) && Self.close(g.min(), x.min()))
        let (values, indices) = g.max(dim: 1), (cpuValues, cpuIndices) = x.max(dim: 1)
        #expect(Self.close(values, cpuValues) && indices.cpu().toArray(as: Int64.self) == cpuIndices.toArray(as: Int64.self))
        #expect(g.argmin(dim: 0).cpu().toArray(as: Int64.self) == x.argmin(dim: 0).toArray(as: Int64.self))
        #expect(Self.close(g.amax(dim: 0), x.amax(dim: 0)))
        // Long rows are split across blocks, and the partials reduced in one more launch: the
        // same values, and the first index of the extremum (planted twice, in the whole chunks
        // and in the tail).
        let long = Self.sample(Tensor.splitReductionThreshold + 12_345, seed: 14)
        long[1000] = Tensor(50.0)
        long[long.numel - 3] = Tensor(50.0)
        long[77] = Tensor(-50.0)
        let gLong = long.cuda()
        #expect(Self.close(gLong.sum(), long.sum()))
        #expect(Self.close(gLong.mean(), long.mean()))
        #expect(Self.close(gLong.to(.float16).sum(), long.to(.float16).sum(), tolerance: 1e-3))
        #expect(Self.close(gLong.max(), long.max()) && Self.close(gLong.min(), long.min()))
        #expect(gLong.argmax().item() == 1000 && gLong.argmin().item() == 77)
        // Nothing comes back to the host until asked for: the host never waits on the GPU.
        for reduce in [{ _ = gLong.sum() }, { _ = gLong.max(dim: 0) }, { _ = gLong.to(.float16).sum() }] as [() -> Void] {
            let work = EmulatedCUDA.recordingWork(reduce)
            #expect(!work.contains("device→host"), "\(work)")
        }
        let tailPeak = long.clone()
        tailPeak[1000] = Tensor(0.0)
        #expect(tailPeak.cuda().argmax().item() == Double(long.numel - 3))
        #expect((gLong .> 0).sum().item() == (long .> 0).sum().item())
        let counts = (x .> 0).sum(dim: 1)
        #expect((g .> 0).sum(dim: 1).cpu().toArray(as: Int64.self) == counts.toArray(as: Int64.self))
    }

    @Test func matrixProductsMatchTheCPU() {
        let a = Self.sample(64, 100, seed: 8), b = Self.sample(100, 10, seed: 9), c = Self.sample(64, 10, seed: 10)
        #expect(Self.close(a.cuda().mm(b.cuda()), a.mm(b), tolerance: 1e-5))
        #expect(Self.close(a.cuda().t().mm(c.cuda()), a.t().mm(c), tolerance: 1e-5))
        #expect(Self.close(c.cuda().mm(b.cuda().t()), c.mm(b.t()), tolerance: 1e-5))
        let batch = Self.sample(3, 4, 5, seed: 11), other = Self.sample(3, 5, 2, seed: 12)
        #expect(Self.close(batch.cuda().bmm(other.cuda()), batch.bmm(other), tolerance: 1e-5))
        #expect(Self.close(a.to(.float64).cuda().mm(b.to(.float64).cuda()), a.to(.float64).mm(b.to(.float64)), tolerance: 1e-12))
        let integers = Tensor([1, 2, 3, 4] as [Int64], shape: [2, 2])
        #expect(integers.cuda().mm(integers.cuda()).cpu().toArray(as: Int64.self) == [7, 10, 15, 22])
        #expect(integers.expand([3, 2, 2]).cuda().bmm(integers.expand([3, 2, 2]).cuda()).cpu().toArray(as: Int64.self) == Array(repeating: [7, 10, 15, 22], count: 3).flatMap { $0 })
    }

    /// A batch is one cuBLAS call whatever its layout (transposed matrices, a broadcast batch
    /// read with stride 0, a batch that needs a copy first), and half types go to cuBLAS as
    /// they are: the CPU's values, bit for bit for half types (both add in float32 and round once).
    @Test func batchedAndHalfProductsAreOneCall() {
        let a = Self.sample(5, 7, 4, seed: 16), b = Self.sample(5, 4, 3, seed: 17), single = Self.sample(1, 4, 3, seed: 18)
        let cases: [(String, Tensor, Tensor)] = [
            ("bmm", a, b),
            ("transposed matrices", a.transpose(1, 2).contiguous().transpose(1, 2), b.transpose(1, 2).contiguous().transpose(1, 2)),
            ("a broadcast batch", a, single.expand([5, 4, 3])),
            ("batches sliced from a wider tensor", Tensor.cat([a, a], dim: 2)[0..., 0..., 2..<6], b),
            ("a batch of one", a[1..<2], b[3..<4]),
        ]
        for (name, left, right) in cases {
            for dtype in [DType.float32, .float64, .float16, .bfloat16] {
                let (l, r) = (left.to(dtype), right.to(dtype))
                var product = Tensor.zeros([])
                let work = EmulatedCUDA.recordingWork { product = l.cuda().bmm(r.cuda()) }
                #expect(work.filter { $0 == "gemm" }.count == 1, "\(name) \(dtype): \(work)")
                let tolerance = dtype == .float64 ? 1e-12 : dtype == .float32 ? 1e-5 : 0
                #expect(Self.close(product, l.bmm(r), tolerance: tolerance), "\(name) \(dtype)")
            }
        }
        let (x, w) = (Self.sample(6, 9, seed: 19), Self.sample(9, 5, seed: 20))
        for dtype in [DType.float16, .bfloat16] {
            let (left, right) = (x.to(dtype), w.to(dtype))
            #expect(Self.close(left.cuda().mm(right.cuda()), left.mm(right), tolerance: 0), "\(dtype)")
            #expect(Self.close(right.cuda().t().mm(left.cuda().t()), right.t().mm(left.t()), tolerance: 0), "\(dtype) transposed")
        }
    }

    /// GPU fills draw Philox blocks in turn from the generator: the values are exactly the
    /// reference stream's, and a second fill continues where the first stopped.
    @Test func randomFillsFollowThePhiloxStream() {
        let generator = Generator(seed: 2024, device: Self.gpu)
        let first = Tensor.randn([3, 7], device: Self.gpu, generator: generator)
        let normal = PhiloxDistribution.normal(mean: 0, std: 1)
        #expect(first.cpu().toArray(as: Float.self) == normal.referenceFill(count: 21, dtype: .float32, seed: 2024, offset: 0).toArray(as: Float.self))
        let second = Tensor.rand([5], dtype: .float64, device: Self.gpu, generator: generator)
        let uniform = PhiloxDistribution.uniform(from: 0, to: 1)
        #expect(second.cpu().toArray(as: Double.self) == uniform.referenceFill(count: 5, dtype: .float64, seed: 2024, offset: 6).toArray(as: Double.self))
        let integers = Tensor.randint(low: -5, high: 5, shape: [9], device: Self.gpu, generator: generator)
        #expect(integers.cpu().toArray(as: Int64.self) == PhiloxDistribution.integers(low: -5, high: 5).referenceFill(count: 9, dtype: .int64, seed: 2024, offset: 9).toArray(as: Int64.self))
        // A strided view is filled in its logical order.
        let matrix = Tensor.zeros([4, 6], device: Self.gpu)
        matrix.t().normal_(mean: 2, std: 0.5, generator: Generator(seed: 5, device: Self.gpu))
        #expect(matrix.t().cpu().toArray(as: Float.self) == PhiloxDistribution.normal(mean: 2, std: 0.5).referenceFill(count: 24, dtype: .float32, seed: 5, offset: 0).toArray(as: Float.self))
        let error = #expect(throws: EmberError.self) { try withErrorChecking { _ = Tensor.randn([2], device: Self.gpu, generator: Generator(seed: 0)) } }
        #expect(error?.message == "Expected a 'cuda' device type for generator but found 'cpu'")
    }

    /// The seed's three programs on the GPU (by hand, with autograd, with a user Function): the
    /// same weights give the same losses as on the CPU, step after step (to float32 rounding:
    /// the GPU sums in another order).
    @Test func seedProgramsTrainOnTheGPU() throws {
        for program in ["manual", "autograd", "custom"] {
            let (cpu, gpu) = (Self.seedLosses(program, on: .cpu), Self.seedLosses(program, on: Self.gpu))
            #expect(zip(cpu, gpu).allSatisfy { Swift.abs($0 - $1) <= 1e-5 * Swift.abs($0) }, "\(program): \(cpu) against \(gpu)")
            #expect(gpu.last! < gpu.first!)
        }
    }

    /// Five steps of a seed program on `device` from the seed's weights; returns the losses.
    static func seedLosses(_ program: String, on device: Device) -> [Double] {
        let generator = Generator(seed: 0)
        let x = Tensor.randn([64, 1000], generator: generator).to(device), y = Tensor.randn([64, 10], generator: generator).to(device)
        let w1 = Tensor.randn([1000, 100], generator: generator).to(device), w2 = Tensor.randn([100, 10], generator: generator).to(device)
        w1.requiresGrad = program != "manual"
        w2.requiresGrad = program != "manual"
        return (0..<5).map { _ in
            if program == "manual" {
                let h = x.mm(w1), hRelu = h.clamp(min: 0), yPred = hRelu.mm(w2)
                let loss = (yPred - y).pow(2).sum().item()
                let gradYPred = 2.0 * (yPred - y)
                let gradW2 = hRelu.t().mm(gradYPred)
                let gradH = gradYPred.mm(w2.t()).clone()
                gradH[h .< 0] = 0
                let gradW1 = x.t().mm(gradH)
                w1 -= 1e-6 * gradW1
                w2 -= 1e-6 * gradW2
                return loss
            }
            let hidden = program == "custom" ? SeedProgramTests.MyReLU.apply(x.mm(w1)) : x.mm(w1).clamp(min: 0)
            let loss = (hidden.mm(w2) - y).pow(2).sum()
            loss.backward()
            noGrad {
                w1 -= 1e-6 * w1.grad!
                w2 -= 1e-6 * w2.grad!
                w1.grad!.zero_()
                w2.grad!.zero_()
            }
            return loss.item()
        }
    }

    /// Ops built from others (softmax, logical ops), joins and indexing: the GPU gives the
    /// CPU's values, and their gradients flow.
    @Test func compositesJoinsAndIndexingMatchTheCPU() {
        let x = Self.sample(4, 5, seed: 13), g = x.cuda()
        let mask = x .> 0, index = Tensor([3, 0, 3] as [Int64], shape: [3])
        let cases: [(String, Tensor, Tensor)] = [
            ("softmax", x.softmax(dim: 1), g.softmax(dim: 1)),
            ("log_softmax over dim 0", x.logSoftmax(dim: 0), g.logSoftmax(dim: 0)),
            ("masked select", x[mask], g[mask.cuda()]),
            ("index tensor", x[index], g[index.cuda()]),
            ("index_select", x.indexSelect(dim: 1, index: index), g.indexSelect(dim: 1, index: index.cuda())),
            ("gather", x.gather(dim: 1, index: Tensor.zeros([4, 2], dtype: .int64)), g.gather(dim: 1, index: Tensor.zeros([4, 2], dtype: .int64, device: Self.gpu))),
            ("cat", Tensor.cat([x, x * 2], dim: 1), Tensor.cat([g, g * 2], dim: 1)),
            ("stack", Tensor.stack([x, x], dim: 0), Tensor.stack([g, g], dim: 0)),
            ("logical and", mask.logicalAnd(x .< 1).to(.float32), mask.cuda().logicalAnd(g .< 1).to(.float32)),
            ("nonzero", x.nonzero().to(.float32), g.nonzero().to(.float32)),
            ("from Swift values", Tensor([1, 2, 3] as [Float], shape: [3]), Tensor([1, 2, 3] as [Float], shape: [3], device: Self.gpu)),
        ]
        for (name, expected, actual) in cases {
            #expect(actual.device == Self.gpu, "\(name)")
            #expect(Self.close(actual, expected), "\(name): \(actual) against \(expected)")
        }
        // scatter_add with repeated indices, on the GPU for every dtype (atomic adds,
        // compare-and-swap loops for the 16- and 8-bit ones and bool; integers wrap), the CPU's values;
        // and gather's gradient, which is a scatter_add.
        let repeated = Tensor([0, 2, 0, 2, 2, 1, 0, 0] as [Int64], shape: [4, 2])
        for dtype in DType.allCases {
            let base = (Tensor.arange(0, 12).reshape([4, 3]) * 60).to(dtype), src = (x[0..., 0..<2] * 100).to(dtype)
            let expected = base.scatterAdd(dim: 1, index: repeated, src: src)
            var actual = Tensor.zeros([])
            let work = EmulatedCUDA.recordingWork { actual = base.cuda().scatterAdd(dim: 1, index: repeated.cuda(), src: src.cuda()) }
            #expect(Self.close(actual, expected, tolerance: 0), "scatter_add \(dtype): \(actual) against \(expected)")
            // One kernel, which checks the index as it runs: nothing waits for the GPU.
            #expect(work.contains(CUDAKernelSource.scatterAddKernelName(dtype)), "scatter_add \(dtype): \(work)")
            #expect(!work.contains("device→host"), "scatter_add \(dtype): \(work)")
        }
        let source = x.cuda()
        source.requiresGrad = true
        source.gather(dim: 1, index: repeated.cuda()).sum().backward()
        let gatherGradient = Tensor.zeros([4, 5]).scatterAdd(dim: 1, index: repeated, src: Tensor.ones([4, 2]))
        #expect(source.grad.map { Self.close($0, gatherGradient) } == true)
        // The gradient of max along a dimension scatters back on the GPU.
        let leaf = x.cuda()
        leaf.requiresGrad = true
        leaf.max(dim: 1).values.sum().backward()
        let expected = Tensor.zeros([4, 5]).scatter(dim: 1, index: x.argmax(dim: 1, keepdim: true), value: 1)
        #expect(leaf.grad.map { Self.close($0, expected) } == true)
    }
}
