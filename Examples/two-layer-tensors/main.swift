// The seed's first program: a two-layer ReLU network fitted to random data with hand-written
// forward and backward passes. `swift run -c release two-layer-tensors cuda` runs it on the GPU.
import Ember
import Foundation

manualSeed(0)
let device = CommandLine.arguments.dropFirst().first == "cuda" ? Device.cuda(0) : Device.cpu
if device != .cpu && !Device.isCUDAAvailable {
    print("error: \(device) was requested, but no usable CUDA device was found:\n\(Device.cudaDiagnostics)")
    exit(1)
}
let (N, DIn, H, DOut) = (64, 1000, 100, 10)
let x = Tensor.randn(N, DIn, device: device)
let y = Tensor.randn(N, DOut, device: device)
let w1 = Tensor.randn(DIn, H, device: device)
let w2 = Tensor.randn(H, DOut, device: device)
let learningRate: Float = 1e-6

for t in 0..<500 {
    let h = x.mm(w1)
    let hRelu = h.clamp(min: 0)
    let yPred = hRelu.mm(w2)
    let loss = (yPred - y).pow(2).sum()
    print(t, loss)

    let gradYPred = 2.0 * (yPred - y)
    let gradW2 = hRelu.t().mm(gradYPred)
    let gradHRelu = gradYPred.mm(w2.t())
    let gradH = gradHRelu.clone()
    gradH[h .< 0] = 0
    let gradW1 = x.t().mm(gradH)

    w1 -= learningRate * gradW1
    w2 -= learningRate * gradW2
}
