import Testing

@testable import Ember

/// Indexing with index tensors on the GPU: one kernel per op and no wait for the GPU (counted on
/// the emulated `cuda:0`), the indices checked by the kernels and an index out of range reported
/// at the next synchronization, after which the GPU goes on working (on `cuda:5` through the
/// driver backend and the fake libraries, a device of its own: an error recorded there is
/// reported by whichever work synchronizes next).
@Suite(.enabled(if: EmulatedCUDA.isAvailable, HostKernelModule.skipReason), .serialized)
struct CUDAIndexingTests {
    static let gpu = Device.cuda(0)
    let checked: Device

    init() throws {
        try EmulatedCUDA.install()
        checked = try FakeCUDALibrary.device(5)
    }

    /// Each op on the CPU and on the GPU with the same index, as int64 and int32.
    static func cases(_ x: Tensor, _ index: Tensor) -> [(String, () -> Tensor)] {
        let g = x.cuda(), gi = index.cuda()
        let rows = Tensor.arange(0, 12).reshape([4, 3]).to(.float32)
        return [
            ("gather", { g.gather(dim: 1, index: Tensor([2, 0, 1, 1, 0, 2], shape: [3, 2]).to(gi.dtype).cuda()) }),
            ("index_select", { g.indexSelect(dim: 0, index: gi) }),
            ("subscript", { g[gi] }),
            ("index_add", { g.indexAdd(dim: 0, index: gi, source: rows.cuda()) }),
            (
                "subscript assignment",
                {
                    let copy = g.clone()
                    copy[gi] = rows.cuda()
                    return copy
                }
            ),
            ("scatter_add", { g.scatterAdd(dim: 0, index: gi.reshape([4, 1]).expand([4, 3]).contiguous(), src: rows.cuda()) }),
        ]
    }

    @Test(arguments: [DType.int64, .int32])
    func indexOpsWithAGPUIndexNeverWaitForTheGPU(indexDType: DType) {
        let x = Tensor.randn([3, 3], generator: Generator(seed: 3))
        let index = Tensor([2, 0, 2, 1]).to(indexDType)
        let cpuRows = Tensor.arange(0, 12).reshape([4, 3]).to(.float32)
        let expected: [String: Tensor] = [
            "gather": x.gather(dim: 1, index: Tensor([2, 0, 1, 1, 0, 2], shape: [3, 2]).to(indexDType)),
            "index_select": x.indexSelect(dim: 0, index: index),
            "subscript": x[index],
            "index_add": x.indexAdd(dim: 0, index: index, source: cpuRows),
            "subscript assignment": {
                let copy = x.clone()
                copy[index] = cpuRows
                return copy
            }(),
            "scatter_add": x.scatterAdd(dim: 0, index: index.reshape([4, 1]).expand([4, 3]).contiguous(), src: cpuRows),
        ]
        for (name, run) in Self.cases(x, index) {
            var result = Tensor.zeros([])
            let work = EmulatedCUDA.recordingWork { result = run() }
            #expect(!work.contains("device→host"), "\(name) waited for the GPU: \(work)")
            #expect(result.device == Self.gpu, "\(name)")
            #expect(result.cpu().toArray(as: Float.self) == expected[name]!.toArray(as: Float.self), "\(name)")
        }
    }

    @Test func negativeSubscriptsCountFromTheEndAndGradientsFlowBack() throws {
        let x = Tensor.randn([5, 2], generator: Generator(seed: 4))
        let index = Tensor([-1, 0, -1])
        let leaf = x.cuda()
        leaf.requiresGrad = true
        let picked = leaf[index.cuda()]
        #expect(picked.cpu().toArray(as: Float.self) == x[index].toArray(as: Float.self))
        picked.sum().backward()
        let grad = try #require(leaf.grad)
        #expect(grad.cpu().toArray(as: Float.self) == [1, 1, 0, 0, 0, 0, 0, 0, 2, 2])
    }

    @Test func anIndexOutOfRangeIsReportedAtTheNextSynchronization() throws {
        let gpu = checked, g = Tensor.arange(0, 6).reshape([3, 2]).to(.float32).to(gpu)
        let cases: [(String, () -> Tensor, String)] = [
            ("gather", { g.gather(dim: 0, index: Tensor([0, 7], shape: [1, 2]).to(gpu)) }, "index 7 is out of bounds for dimension 0 with size 3"),
            ("index_select", { g.indexSelect(dim: 1, index: Tensor([-1]).to(gpu)) }, "index out of range in self"),
            ("subscript", { g[Tensor([1, -4]).to(gpu)] }, "index -4 is out of bounds for dimension 0 with size 3"),
            (
                "index_add", { g.indexAdd(dim: 0, index: Tensor([3] as [Int32], shape: [1]).to(gpu), source: Tensor.ones([1, 2], device: gpu)) },
                "index 3 is out of bounds for dimension 0 with size 3"
            ),
            ("scatter", { g.scatter(dim: 1, index: Tensor([2], shape: [1, 1]).to(gpu), value: 1.0) }, "index 2 is out of bounds for dimension 1 with size 2"),
        ]
        for (name, run, message) in cases {
            // The op itself neither waits nor fails; the end of the checking scope looks.
            let error = #expect(throws: EmberError.self, "\(name)") { try withErrorChecking { _ = run() } }
            #expect(error?.message.hasPrefix(message + " (found by ") == true, "\(name): \(error?.message ?? "no error")")
            // Reading a value is a synchronization too: it reports before anything is seen.
            let read = #expect(throws: EmberError.self, "\(name)") { try withErrorChecking { _ = run().sum().item() } }
            #expect(read?.message.hasPrefix(message) == true, "\(name): \(read?.message ?? "no error")")
        }
        // The GPU goes on working, and a good index reports nothing.
        let fine = try withErrorChecking { g.gather(dim: 0, index: Tensor([2, 1], shape: [1, 2]).to(gpu)).cpu() }
        #expect(fine.toArray(as: Float.self) == [4, 3])
        #expect(throws: Never.self) { try withErrorChecking { gpu.synchronize() } }
        // `Device.synchronize()` looks at the record too.
        _ = g.gather(dim: 0, index: Tensor([9], shape: [1, 1]).to(gpu))
        let synchronized = #expect(throws: EmberError.self) { try withErrorChecking { gpu.synchronize() } }
        #expect(synchronized?.message.hasPrefix("index 9 is out of bounds for dimension 0 with size 3 (found by gather on cuda:5") == true)
    }

    @Test func onlyUncheckedIndicesCostARead() throws {
        let gpu = checked, g = Tensor.randn([4, 3], generator: Generator(seed: 5)).to(gpu)
        let reads = { try FakeCUDALibrary.count("cuMemcpyDtoHAsync_v2", on: gpu) }
        // An index from the CPU is checked on the host as it goes over: nothing to read later.
        var before = try reads()
        _ = g.indexSelect(dim: 0, index: Tensor([1, 3])).sum().item()
        #expect(try reads() - before == 1)
        // One on the GPU: the kernels' record comes back with the first value read after them.
        let picked = g.indexSelect(dim: 0, index: Tensor([1, 3]).to(gpu))
        before = try reads()
        _ = picked.sum().item()
        _ = picked.max().item()
        #expect(try reads() - before == 3)
    }

    @Test func masksAreCompactedOnTheGPU() throws {
        // Counted on the isolated GPU: only the tiles' counts come to the host.
        let isolated = try EmulatedCUDA.isolatedDevice()
        for count in [0, 1, 127, 128, 129, 1000, 5000] {
            let mask = Tensor.randn([count], generator: Generator(seed: UInt64(count))) .> 0.5
            let expected = mask.toArray(as: Bool.self).indices.filter { mask.toArray(as: Bool.self)[$0] }
            var positions = Tensor.zeros([])
            let work = EmulatedCUDA.recordingWork { positions = mask.to(isolated).truePositionsOnGPU() }
            #expect(positions.cpu().toArray(as: Int.self) == expected, "\(count)")
            #expect(work.filter { $0 == "device→host" }.count == (count > 0 ? 1 : 0), "\(count): \(work)")
        }
        let all = Tensor.ones([300], dtype: .bool).to(isolated), none = Tensor.zeros([300], dtype: .bool).to(isolated)
        #expect(all.truePositionsOnGPU().cpu().toArray(as: Int.self) == Array(0..<300))
        #expect(none.truePositionsOnGPU().numel == 0)
        // What uses them, against the CPU: nonzero, selection and assignment through a mask.
        let x = Tensor.randn([7, 5, 3], generator: Generator(seed: 9)), g = x.cuda()
        let mask = x .> 0.3, rows = x[0..., 0, 0] .> 0
        #expect(g.nonzero().cpu().toArray(as: Int.self) == x.nonzero().toArray(as: Int.self))
        #expect(g.nonzero().shape == x.nonzero().shape)
        #expect(Tensor.zeros([3, 0, 2], device: Self.gpu).nonzero().shape == [0, 3])
        #expect(g[mask.cuda()].cpu().toArray(as: Float.self) == x[mask].toArray(as: Float.self))
        #expect(g[rows.cuda()].cpu().toArray(as: Float.self) == x[rows].toArray(as: Float.self))
        let assigned = g.clone(), expected = x.clone()
        let values = Tensor.arange(0, Double(rows.toArray(as: Bool.self).filter { $0 }.count * 15)).reshape([-1, 5, 3]).to(.float32)
        assigned[rows.cuda()] = values.cuda()
        expected[rows] = values
        #expect(assigned.cpu().toArray(as: Float.self) == expected.toArray(as: Float.self))
    }
}
