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
        let before = Self.gpu.memoryAllocated
        do {
            let x = Tensor.zeros([1000], device: Self.gpu)
            #expect(x.cpu().toArray(as: Float.self) == Array(repeating: 0, count: 1000))
            #expect(Self.gpu.memoryAllocated >= before + 4000)
            #expect(Self.gpu.memoryReserved >= Self.gpu.memoryAllocated)
        }
        #expect(Device.cpu.memoryAllocated == 0)
    }
}
