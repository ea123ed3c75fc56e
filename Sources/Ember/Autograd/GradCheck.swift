/// A mismatch between analytical and numerical gradients found by `gradcheck`.
public struct GradcheckError: Error, CustomStringConvertible, Sendable {
    /// Which Jacobian entry disagreed, with both values.
    public let description: String
}

/// Checks the gradients that autograd computes for `function` against central finite
/// differences (`torch.autograd.gradcheck`); inputs should be float64 and require grad.
///
/// ```swift
/// let x = Tensor.randn(3, 4, dtype: .float64, requiresGrad: true)
/// try gradcheck([x]) { $0[0].tanh() }
/// ```
///
/// - Returns: `true`; a mismatch throws `GradcheckError` naming the entry.
@discardableResult
public func gradcheck(
    _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3, _ function: ([Tensor]) -> Tensor
) throws -> Bool {
    try gradcheck(inputs, eps: eps, atol: atol, rtol: rtol, outputs: { [function($0)] })
}

/// `gradcheck` for a function with several outputs.
@discardableResult
public func gradcheck(
    _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3, outputs function: ([Tensor]) -> [Tensor]
) throws -> Bool {
    let differentiable = inputs.filter(\.requiresGrad)
    let outputs = function(inputs)
    for (outputIndex, output) in outputs.enumerated() where output.dtype.isFloatingPoint {
        let outputCount = output.numel
        // Analytical Jacobian, one row per output element.
        var analytical = [[Double]](repeating: [], count: outputCount)
        for element in 0..<outputCount {
            guard output.requiresGrad else {
                analytical[element] = differentiable.flatMap { [Double](repeating: 0, count: $0.numel) }
                continue
            }
            let seed = Tensor.zeros(output.shape, dtype: output.dtype)
            seed.reshape([-1])[element] = 1
            let gradients = autogradGrad(outputs: [output], inputs: differentiable, gradOutputs: [seed], retainGraph: true, allowUnused: true)
            analytical[element] = zip(gradients, differentiable).flatMap { gradient, input in
                gradient?.toArray(as: Double.self) ?? [Double](repeating: 0, count: input.numel)
            }
        }
        // Numerical Jacobian by central differences, perturbing each input element in place.
        var column = 0
        for input in differentiable {
            let data = input.data
            for element in 0..<input.numel {
                let entry = data.elementView(flatIndex: element)
                let original = entry.item()
                entry.fill_(original + eps)
                let plus = noGrad { function(inputs)[outputIndex].toArray(as: Double.self) }
                entry.fill_(original - eps)
                let minus = noGrad { function(inputs)[outputIndex].toArray(as: Double.self) }
                entry.fill_(original)
                for row in 0..<outputCount {
                    let numerical = (plus[row] - minus[row]) / (2 * eps)
                    let computed = analytical[row][column]
                    if Swift.abs(computed - numerical) > atol + rtol * Swift.abs(numerical) || computed.isNaN != numerical.isNaN {
                        throw GradcheckError(
                            description:
                                "Jacobian mismatch for output \(outputIndex) with respect to input \(inputs.firstIndex { $0 === input } ?? 0), numerical: \(numerical), analytical: \(computed) (output element \(row), input element \(element))"
                        )
                    }
                }
                column += 1
            }
        }
    }
    return true
}

/// Checks second derivatives by running `gradcheck` on the first derivatives, with random
/// output gradients that are themselves checked (`torch.autograd.gradgradcheck`).
///
/// ```swift
/// try gradgradcheck([x]) { $0[0].sigmoid() }
/// ```
@discardableResult
public func gradgradcheck(
    _ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3, _ function: ([Tensor]) -> Tensor
) throws -> Bool {
    let differentiable = inputs.filter(\.requiresGrad)
    let template = function(inputs)
    let gradOutput = Tensor.randn(template.shape, dtype: template.dtype, generator: Generator(seed: 12_345)).requiresGrad_()
    return try gradcheck(inputs + [gradOutput], eps: eps, atol: atol, rtol: rtol) { all -> [Tensor] in
        // The numerical pass runs under noGrad, but the first derivative needs a graph.
        enableGrad { firstDerivatives(all) }
    }
    func firstDerivatives(_ all: [Tensor]) -> [Tensor] {
        let output = function(Array(all.dropLast()))
        guard output.requiresGrad else { return differentiable.map { Tensor.zerosLike($0) } }
        let gradients = autogradGrad(outputs: [output], inputs: differentiable, gradOutputs: [all.last!], createGraph: true, allowUnused: true)
        return zip(gradients, differentiable).map { $0 ?? Tensor.zerosLike($1) }
    }
}

extension Tensor {
    /// The element at a row-major position as a 0-dim view.
    func elementView(flatIndex: Int) -> Tensor {
        var remainder = flatIndex, position = offset
        for axis in stride(from: dim - 1, through: 0, by: -1) {
            position += (remainder % shape[axis]) * strides[axis]
            remainder /= shape[axis]
        }
        return makeView(shape: [], strides: [], offset: position)
    }
}
