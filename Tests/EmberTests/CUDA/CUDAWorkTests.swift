import Testing

@testable import Ember

/// What a training step asks of the GPU, counted on the emulated one: on a real GPU the seed's
/// small step is bound by launches and by waits for the host, not by arithmetic.
@Suite(.enabled(if: EmulatedCUDA.isAvailable, HostKernelModule.skipReason), .serialized)
struct CUDAWorkTests {
    let gpu: Device
    init() throws { gpu = try EmulatedCUDA.isolatedDevice() }

    /// One step of each seed program, as the seed writes it, after two warm-up steps: the only
    /// copy is the loss read by `item()` (Swift numbers stay on the GPU), and the launches
    /// (kernels and GEMMs) are as many as PyTorch's eager step has, about one per op.
    @Test(arguments: [("manual", 18), ("autograd", 22), ("custom", 23)])
    func seedStepLaunchesOneKernelPerOp(program: String, launches: Int) throws {
        let learningRate: Float = 1e-6
        let x = Tensor.randn(64, 1000).to(gpu), y = Tensor.randn(64, 10).to(gpu)
        let w1 = Tensor.randn(1000, 100).to(gpu), w2 = Tensor.randn(100, 10).to(gpu)
        w1.requiresGrad = program != "manual"
        w2.requiresGrad = program != "manual"
        func step() {
            if program == "manual" {
                let h = x.mm(w1), hRelu = h.clamp(min: 0), yPred = hRelu.mm(w2)
                _ = (yPred - y).pow(2).sum().item()
                let gradYPred = 2.0 * (yPred - y)
                let gradW2 = hRelu.t().mm(gradYPred)
                let gradH = gradYPred.mm(w2.t()).clone()
                gradH[h .< 0] = 0
                let gradW1 = x.t().mm(gradH)
                w1 -= learningRate * gradW1
                w2 -= learningRate * gradW2
            } else {
                let hidden = program == "custom" ? SeedProgramTests.MyReLU.apply(x.mm(w1)) : x.mm(w1).clamp(min: 0)
                let loss = (hidden.mm(w2) - y).pow(2).sum()
                _ = loss.item()
                loss.backward()
                w1.data -= learningRate * w1.grad!.data
                w2.data -= learningRate * w2.grad!.data
                w1.grad!.data.zero_()
                w2.grad!.data.zero_()
            }
        }
        step()
        step()
        let work = EmulatedCUDA.recordingWork(step)
        #expect(work.filter { $0.contains("→") } == ["device→host"], "\(work)")
        #expect(work.filter { !$0.contains("→") }.count == launches, "\(work)")
    }
}
