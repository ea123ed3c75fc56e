import Foundation
import Testing

@testable import Ember

/// The seed's three programs, ten steps each, against the losses PyTorch printed. Each draws
/// from its own generator seeded like `manualSeed(0)`, since tests run concurrently.
@Suite("Seed programs")
struct SeedProgramTests {
    static let (N, DIn, H, DOut) = (64, 1000, 100, 10)
    static let learningRate: Float = 1e-6

    static func expectedLosses(_ program: String) throws -> [Double] {
        let root = try #require(fixture("seed-losses") as? [String: Any])
        let losses = try #require(root["losses"] as? [String: Any])
        return try #require(losses[program] as? [Any]).map(fixtureNumber)
    }

    /// The seed's printed format, `tensor(29428664., grad_fn=<SumBackward0>)`: the last digits
    /// of the loss depend on the BLAS's summation order (OpenBLAS on one thread prints
    /// 29428666.), so the number is compared to PyTorch's within 1e-4 and the rest exactly.
    static func expectSeedFormat(_ printed: String, suffix: String) {
        #expect(printed.hasPrefix("tensor(") && printed.hasSuffix(suffix), "\(printed)")
        let number = printed.dropFirst("tensor(".count).dropLast(suffix.count)
        #expect(number.hasSuffix("."), "an integral float32 prints as `29428664.`")
        let value = Double(number.dropLast()) ?? 0
        #expect(Swift.abs(value - 29_428_664) <= 1e-4 * 29_428_664, "\(printed)")
    }

    static func expectClose(_ losses: [Double], _ expected: [Double]) {
        #expect(losses.count == expected.count)
        for (step, (loss, reference)) in zip(losses, expected).enumerated() {
            #expect(Swift.abs(loss - reference) <= 1e-4 * Swift.abs(reference), "step \(step): \(loss) vs \(reference)")
        }
    }

    @Test("Manual backward matches PyTorch")
    func manual() throws {
        let generator = Generator(seed: 0)
        let x = Tensor.randn(Self.N, Self.DIn, generator: generator), y = Tensor.randn(Self.N, Self.DOut, generator: generator)
        let w1 = Tensor.randn(Self.DIn, Self.H, generator: generator), w2 = Tensor.randn(Self.H, Self.DOut, generator: generator)
        var losses: [Double] = []
        for _ in 0..<10 {
            let h = x.mm(w1)
            let hRelu = h.clamp(min: 0)
            let yPred = hRelu.mm(w2)
            let loss = (yPred - y).pow(2).sum()
            losses.append(loss.item())
            let gradYPred = 2.0 * (yPred - y)
            let gradW2 = hRelu.t().mm(gradYPred)
            let gradHRelu = gradYPred.mm(w2.t())
            let gradH = gradHRelu.clone()
            gradH[h .< 0] = 0
            let gradW1 = x.t().mm(gradH)
            w1 -= Self.learningRate * gradW1
            w2 -= Self.learningRate * gradW2
        }
        Self.expectClose(losses, try Self.expectedLosses("manual"))
    }

    /// Ten steps of the second (or, with `MyReLU`, third) program; returns the losses and the
    /// first step's loss and hidden activation for the format checks.
    static func trainWithAutograd(relu: (Tensor) -> Tensor) -> (losses: [Double], firstLoss: Tensor, firstHidden: Tensor) {
        let generator = Generator(seed: 0)
        let x = Tensor.randn(N, DIn, generator: generator), y = Tensor.randn(N, DOut, generator: generator)
        let w1 = Tensor.randn(DIn, H, requiresGrad: true, generator: generator)
        let w2 = Tensor.randn(H, DOut, requiresGrad: true, generator: generator)
        var losses: [Double] = [], first: (Tensor, Tensor)?
        for _ in 0..<10 {
            let hidden = relu(x.mm(w1))
            let loss = (hidden.mm(w2) - y).pow(2).sum()
            if first == nil { first = (loss, hidden) }
            losses.append(loss.item())
            loss.backward()
            w1.data -= learningRate * w1.grad!.data
            w2.data -= learningRate * w2.grad!.data
            w1.grad!.data.zero_()
            w2.grad!.data.zero_()
        }
        return (losses, first!.0, first!.1)
    }

    @Test("Autograd matches PyTorch and prints the seed's format")
    func autograd() throws {
        let run = Self.trainWithAutograd { $0.clamp(min: 0) }
        Self.expectSeedFormat(run.firstLoss.description, suffix: ", grad_fn=<SumBackward0>)")
        Self.expectClose(run.losses, try Self.expectedLosses("autograd"))
    }

    /// API.md's `MyReLU`, character for character: its `backward` returns `Tensor`, not
    /// `Tensor?` (FunctionTests has every form).
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

    @Test("A custom Function matches PyTorch and names its node")
    func customFunction() throws {
        let run = Self.trainWithAutograd(relu: MyReLU.apply)
        #expect(run.firstHidden.gradFn?.name == "MyReLUBackward")
        Self.expectSeedFormat(run.firstLoss.data.description, suffix: ")")
        Self.expectClose(run.losses, try Self.expectedLosses("autograd"))
    }
}
