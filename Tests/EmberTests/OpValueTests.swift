import Testing

@testable import Ember

/// Forward values of every op against PyTorch (ops_forward.json): every dtype, type
/// promotion, argument variants, and PyTorch's refusals.
@Suite("Op values against PyTorch")
struct OpValueTests {
    /// How close floating results must be.
    ///
    /// Exact wherever PyTorch's result is one rounding of a well-defined value (arithmetic,
    /// casts, reductions, var/std, matrix products of small integers, linspace): all cases
    /// but a few of cos, softmax, log_softmax and logsumexp are bit for bit. PyTorch computes float32 transcendental functions with
    /// SLEEF's vectorized approximations (accurate to 1 ulp, not always correctly rounded),
    /// so those may differ from the C library's by an ulp (cos(1) does). softmax, log_softmax
    /// and logsumexp sum float32 exponentials in float32 in PyTorch's kernel order, Ember in
    /// double, so their results may differ in the last bits: within 1e-6 relative. Float
    /// matrix products depend on the BLAS's summation order and use of fused multiply-add
    /// (OpenBLAS, Accelerate and the built-in kernel differ from PyTorch's MKL): a few ulps.
    static func closeness(for testCase: ForwardCase) -> Closeness {
        switch testCase.op {
        case "matmul", "mm", "bmm", "mv", "dot":
            testCase.outputs.first?.dtype.isFloatingPoint == true ? Closeness(ulps: 4, relative: 1e-6) : .exact
        case "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "pow", "rpow": Closeness(ulps: 1)
        case "softmax", "log_softmax", "logsumexp": Closeness(ulps: 1, relative: 1e-6)
        default: .exact
        }
    }

    @Test("Each case gives PyTorch's values, dtype and shape", arguments: try ForwardCase.load())
    func forward(_ testCase: ForwardCase) throws {
        try Self.check(testCase, on: .cpu, within: Self.closeness(for: testCase))
    }

    /// Runs `testCase` with its inputs on `device` and expects PyTorch's refusal or results,
    /// the results on that device.
    static func check(_ testCase: ForwardCase, on device: Device, within closeness: Closeness) throws {
        let inputs = testCase.inputs.map { $0.make().to(device) }
        if let error = testCase.error {
            let thrown = #expect(throws: EmberError.self, "PyTorch raised \(error.type)") {
                try withErrorChecking { _ = OpTable.run(testCase.op, testCase.expr, testCase.args, inputs) }
            }
            #expect(thrown?.message == error.message)
            return
        }
        let results = try withErrorChecking { OpTable.run(testCase.op, testCase.expr, testCase.args, inputs) }
        try #require(results.count == testCase.outputs.count, "number of results")
        for (index, (result, expected)) in zip(results, testCase.outputs).enumerated() {
            // Creation ops (no inputs) make their results on the CPU.
            if !inputs.isEmpty { #expect(result.device == device, "\(testCase.expr) result \(index) is on \(result.device)") }
            expectTensor(result, equals: expected, within: closeness, "\(testCase.expr) result \(index)")
        }
    }

    @Test func everyForwardCaseIsLoaded() throws {
        let cases = try ForwardCase.load()
        #expect(cases.count == 1059)
        #expect(Set(cases.map(\.id)).count == cases.count)
    }
}
