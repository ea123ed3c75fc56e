// The seed's second program: the same network, with autograd computing the backward pass.
// `swift run -c release two-layer-autograd cuda` runs it on the GPU.
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
let w1 = Tensor.randn(DIn, H, device: device, requiresGrad: true)
let w2 = Tensor.randn(H, DOut, device: device, requiresGrad: true)
let learningRate: Float = 1e-6

for t in 0..<500 {
    let yPred = x.mm(w1).clamp(min: 0).mm(w2)
    let loss = (yPred - y).pow(2).sum()
    print(t)
    print(loss)
    loss.backward()
    w1.data -= learningRate * w1.grad!.data
    w2.data -= learningRate * w2.grad!.data
    w1.grad!.data.zero_()
    w2.grad!.data.zero_()
}
