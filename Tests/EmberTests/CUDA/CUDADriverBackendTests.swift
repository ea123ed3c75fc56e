import Testing

@testable import Ember

/// `CUDADriverBackend`, the code that talks to a real GPU, on the fake libcuda and libcublas
/// (`FakeCUDALibrary`): the calls, their arguments and their order go through the C ABI as on
/// a GPU, and the results are checked against the CPU.
@Suite(.enabled(if: EmulatedCUDA.isAvailable, HostKernelModule.skipReason))
struct CUDADriverBackendTests {
    static func sample(_ shape: Int..., seed: UInt64) -> Tensor { Tensor.randn(shape, generator: Generator(seed: seed)) }

    @Test func opsThroughTheDriverMatchTheCPU() throws {
        let gpu = try FakeCUDALibrary.device(1)
        let x = Self.sample(37, 129, seed: 1), row = Self.sample(129, seed: 2), w = Self.sample(129, 20, seed: 3)
        let (gx, grow, gw) = (x.to(gpu), row.to(gpu), w.to(gpu))
        let long = Self.sample(Tensor.splitReductionThreshold + 999, seed: 4)
        let index = Tensor([4, 0, 4, 2] as [Int64], shape: [4])
        let cases: [(String, Tensor, Tensor, Double)] = [
            ("a view's copy", x[3..., 5...].to(gpu), x[3..., 5...], 0),
            ("broadcast add", gx + grow, x + row, 0),
            ("transposed exp", gx.t().exp(), x.t().exp(), 1e-6),
            ("clamp", gx.clamp(min: -0.5, max: 0.5), x.clamp(min: -0.5, max: 0.5), 0),
            ("where", Tensor.where(gx .> 0, gx, 2.0), Tensor.where(x .> 0, x, 2.0), 0),
            ("sum over rows", gx.sum(dim: 1), x.sum(dim: 1), 1e-5),
            ("split sum", long.to(gpu).sum(), long.sum(), 1e-5),
            ("argmax", gx.argmax(dim: 0), x.argmax(dim: 0), 0),
            ("softmax", gx.softmax(dim: 1), x.softmax(dim: 1), 1e-6),
            ("mm", gx.mm(gw), x.mm(w), 1e-5),
            ("mm transposed", gw.t().mm(gx.t()), w.t().mm(x.t()), 1e-5),
            ("float64 mm", gx.to(.float64).mm(gw.to(.float64)), x.to(.float64).mm(w.to(.float64)), 1e-12),
            ("half mm", gx.to(.float16).mm(gw.to(.float16)), x.to(.float16).mm(w.to(.float16)), 1e-3),
            ("bfloat16 bmm", gx.to(.bfloat16).expand([3, 37, 129]).bmm(gw.to(.bfloat16).expand([3, 129, 20])),
             x.to(.bfloat16).expand([3, 37, 129]).bmm(w.to(.bfloat16).expand([3, 129, 20])), 1e-2),
            ("bmm", gx.reshape([3, 37, 43]).bmm(gw.reshape([3, 43, 20])), x.reshape([3, 37, 43]).bmm(w.reshape([3, 43, 20])), 1e-5),
            ("gather", gx.indexSelect(dim: 1, index: index.to(gpu)), x.indexSelect(dim: 1, index: index), 0),
            ("masked select", gx[gx .> 1], x[x .> 1], 0),
            ("int64 cast", gx.to(.int64), x.to(.int64), 0),
        ]
        for (name, actual, expected, tolerance) in cases {
            #expect(actual.device == gpu, "\(name)")
            #expect(CUDATensorTests.close(actual, expected, tolerance: tolerance), "\(name): \(actual) against \(expected)")
        }
        #expect(gx[0, 0].description.hasSuffix("device='cuda:1')"))
        #expect(gpu.compileKernels() == CUDAKernelSource.kernelCount)
        #expect(Device.cpu.compileKernels() == 0)
        // Each call makes its device's context current: a copy right after work on another GPU.
        _ = Tensor.ones([2], device: try FakeCUDALibrary.device(3)).sum().item()
        #expect(gx.cpu().toArray(as: Float.self) == x.toArray(as: Float.self))
        let generator = Generator(seed: 11, device: gpu)
        let normal = Tensor.randn([1000], device: gpu, generator: generator)
        #expect(normal.cpu().toArray(as: Float.self) == PhiloxDistribution.normal(mean: 0, std: 1).referenceFill(count: 1000, dtype: .float32, seed: 11, offset: 0).toArray(as: Float.self))
    }

    /// The seed's programs through the driver: the same losses as on the CPU, and gradients
    /// that flow across the device move.
    @Test func seedProgramsTrainThroughTheDriver() throws {
        let gpu = try FakeCUDALibrary.device(1)
        for program in ["manual", "autograd", "custom"] {
            let (cpu, driver) = (CUDATensorTests.seedLosses(program, on: .cpu), CUDATensorTests.seedLosses(program, on: gpu))
            #expect(zip(cpu, driver).allSatisfy { Swift.abs($0 - $1) <= 1e-5 * Swift.abs($0) }, "\(program): \(cpu) against \(driver)")
        }
        let leaf = Self.sample(5, seed: 9).detach()
        leaf.requiresGrad = true
        (leaf.to(gpu) * 3).sum().backward()
        #expect(leaf.grad?.device == .cpu && leaf.grad?.toArray(as: Float.self) == Array(repeating: 3, count: 5))
    }

    /// Memory goes back to the caching allocator from whichever thread drops the last
    /// reference, and work from another thread runs in the device's context (a context is
    /// current per thread; the fake driver refuses calls without one).
    @Test func memoryIsCachedAndFreedFromAnyThread() async throws {
        let gpu = try FakeCUDALibrary.device(3)
        final class Box: @unchecked Sendable { var tensor: Tensor? }
        let box = Box()
        box.tensor = Tensor.zeros([1000, 1000], device: gpu)
        #expect(gpu.memoryAllocated >= 4_000_000 && gpu.memoryReserved >= gpu.memoryAllocated)
        let total = await Task.detached {
            let sum = (box.tensor! + 1).sum().item()
            box.tensor = nil
            return sum
        }.value
        #expect(total == 1_000_000)
        // Both 4 MB blocks are back in the cache; the number 1 stays on the GPU for reuse.
        #expect(gpu.memoryAllocated < 4096, "\(gpu.memoryAllocated) bytes still allocated")
        let cached = gpu.memoryReserved
        #expect(cached >= 8_000_000)
        _ = Tensor.zeros([1000, 1000], device: gpu) + 1
        #expect(gpu.memoryReserved == cached, "the cached blocks are reused")
    }

    /// Each product is one cuBLAS call of the right kind (a batch strided-batched, half types
    /// through the Ex entry points), and the caching allocator asks the driver for memory once
    /// per size, then reuses it until `emptyCache()`: counted by the fake driver on a device no
    /// other test uses.
    @Test func productsAndAllocationsMakeTheExpectedDriverCalls() throws {
        let gpu = try FakeCUDALibrary.device(4)
        let calls = { (name: String) in try FakeCUDALibrary.count(name, on: gpu) }
        let a = Self.sample(3, 8, 5, seed: 21).to(gpu), b = Self.sample(3, 5, 4, seed: 22).to(gpu)
        let (halfA, halfB) = (a.to(.float16), b.to(.float16))
        let expectedCalls: [(String, () -> Void)] = [
            ("cublasSgemm_v2", { _ = a[0].mm(b[0]) }),
            ("cublasSgemmStridedBatched", { _ = a.bmm(b) }),
            ("cublasDgemmStridedBatched", { _ = a.to(.float64).bmm(b.to(.float64)) }),
            ("cublasGemmEx", { _ = halfA[1].mm(halfB[1]) }),
            ("cublasGemmStridedBatchedEx", { _ = halfA.bmm(halfB) }),
        ]
        for (name, product) in expectedCalls {
            let before = try calls(name)
            product()
            #expect(try calls(name) == before + 1, "\(name)")
        }
        _ = Tensor.zeros([1000], device: gpu)
        let (allocations, frees) = (try calls("cuMemAlloc_v2"), try calls("cuMemFree_v2"))
        for _ in 0..<10 { _ = Tensor.zeros([1000], device: gpu) }
        #expect(try calls("cuMemAlloc_v2") == allocations, "freed blocks are reused, not allocated again")
        #expect(try calls("cuMemFree_v2") == frees)
        // Peaks, and the cache handed back to the driver (torch.cuda's memory functions).
        gpu.resetPeakMemoryStats()
        let (allocated, reserved) = (gpu.memoryAllocated, gpu.memoryReserved)
        #expect(gpu.maxMemoryAllocated == allocated && gpu.maxMemoryReserved == reserved)
        _ = Tensor.zeros([1 << 20], device: gpu)
        #expect(gpu.memoryAllocated == allocated)
        #expect(gpu.maxMemoryAllocated >= allocated + (4 << 20))
        #expect(gpu.memoryReserved >= reserved + (4 << 20))
        gpu.emptyCache()
        #expect(gpu.memoryReserved == gpu.memoryAllocated)
        #expect(try calls("cuMemFree_v2") > frees)
        #expect(gpu.maxMemoryReserved >= reserved + (4 << 20), "the peak stays")
        #expect(Device.cpu.maxMemoryAllocated == 0)
    }

    /// A sticky error (an illegal address in a kernel) poisons the device: that op reports the
    /// driver's error by name, and every later use says the device is unusable and why.
    @Test func aStickyErrorMakesTheDeviceRefuseWork() throws {
        let gpu = try FakeCUDALibrary.device(2)
        let x = Tensor.ones([10], device: gpu)
        try FakeCUDALibrary.failNextLaunch(on: gpu, with: 700)
        let first = #expect(throws: EmberError.self) { try withErrorChecking { _ = (x + x).cpu() } }
        #expect(first?.description.contains("CUDA_ERROR_ILLEGAL_ADDRESS") == true, "\(String(describing: first))")
        let later = #expect(throws: EmberError.self) { try withErrorChecking { _ = Tensor.ones([3], device: gpu) * 2 } }
        #expect(later?.description.contains("cuda:2 is unusable after an earlier error") == true, "\(String(describing: later))")
        // Other devices carry on.
        #expect((Tensor.ones([3], device: try FakeCUDALibrary.device(1)) * 2).cpu().toArray(as: Float.self) == [2, 2, 2])
    }
}
