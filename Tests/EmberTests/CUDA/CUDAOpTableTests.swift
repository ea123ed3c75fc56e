import Testing

@testable import Ember

/// Every recorded PyTorch case again (ops_forward.json; ops.json and grads_extra.json for
/// gradients), with its inputs and tensor arguments on a GPU driven by `CUDADriverBackend`
/// through the fake libcuda and libcublas (`FakeCUDALibrary`): PyTorch's values, dtypes,
/// shapes, refusals, gradients and node names, with results on the GPU.
@Suite(.enabled(if: EmulatedCUDA.isAvailable, HostKernelModule.skipReason))
struct CUDAOpTableTests {
    let gpu: Device

    init() throws { gpu = try FakeCUDALibrary.device(1) }

    /// The CPU suite's closeness, but the GPU kernels call a different math library than the
    /// CPU's vector kernels (libdevice on a GPU, the host's libm in the emulation): 2 ulps.
    static func closeness(for testCase: ForwardCase) -> Closeness {
        let cpu = OpValueTests.closeness(for: testCase)
        switch testCase.op {
        case "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "pow", "rpow": return Closeness(ulps: 2)
        default: return cpu
        }
    }

    @Test("Each case gives PyTorch's values on the GPU", arguments: try ForwardCase.load())
    func forward(_ testCase: ForwardCase) throws {
        try OpArgs.$device.withValue(gpu) { try OpValueTests.check(testCase, on: gpu, within: Self.closeness(for: testCase)) }
    }

    /// The recorded gradients (ops.json, grads_extra.json: float64, PyTorch's cotangents) with
    /// leaves and cotangents on the GPU: autograd runs unchanged there.
    @Test("Gradients match PyTorch's on the GPU", arguments: try OpGradientTests.allCases)
    func gradients(_ testCase: GradientCase) throws {
        try OpArgs.$device.withValue(gpu) { try gradientsOnTheGPU(testCase) }
    }

    private func gradientsOnTheGPU(_ testCase: GradientCase) throws {
        let inputs = testCase.inputs.map { $0.make().to(gpu).requiresGrad_() }
        let results = try withErrorChecking { OpGradientTests.run(testCase, inputs) }
        let outputs = OpGradientTests.differentiableOutputs(testCase, results)
        try #require(outputs.count == testCase.outputs.count, "number of outputs")
        for (index, (output, expected)) in zip(outputs, testCase.outputs).enumerated() {
            #expect(output.device == gpu)
            expectTensor(output, closeTo: expected, rtol: OpGradientTests.rtol, atol: OpGradientTests.atol, "output \(index)")
        }
        #expect(outputs.first?.gradFn?.name == testCase.gradFn)
        let cotangents = testCase.cotangents.map { $0.make().to(gpu) }
        let products = zip(outputs, cotangents).map { ($0 * $1).sum() }
        let grads = try withErrorChecking {
            autogradGrad(outputs: [products.dropFirst().reduce(products[0], +)], inputs: inputs, allowUnused: true)
        }
        for (index, (grad, expected)) in zip(grads, testCase.grads).enumerated() {
            if let grad { #expect(grad.device == gpu, "gradient \(index) is on \(grad.device)") }
            expectTensor(grad ?? Tensor.zerosLike(inputs[index]), closeTo: expected, rtol: OpGradientTests.rtol, atol: OpGradientTests.atol, "gradient \(index)")
        }
    }
}
