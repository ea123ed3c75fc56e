// The seed's third program: autograd with a user-defined ReLU function.
// `swift run -c release two-layer-custom-function cuda` runs it on the GPU.
import Ember
import Foundation

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
    let relu = MyReLU.apply
    let yPred = relu(x.mm(w1)).mm(w2)
    let loss = (yPred - y).pow(2).sum()
    print(t, loss.data)
    loss.backward()
    w1.data -= learningRate * w1.grad!.data
    w2.data -= learningRate * w2.grad!.data
    w1.grad!.data.zero_()
    w2.grad!.data.zero_()
}
