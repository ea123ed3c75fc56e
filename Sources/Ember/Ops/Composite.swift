// Ops built from primitives: softmax, logSoftmax, variance, std, logsumexp. Each computes its
// forward without recording, then records one node under PyTorch's name with a derivative
// written in tensor ops, so double backward works.

internal import CEmberKernels

extension Tensor {
    /// Runs `forward` without recording and records it as one node named `name`.
    private func composite(_ name: String, saveResult: Bool = true, forward: () -> Tensor, backward: @escaping (Tensor, Tensor, Tensor) -> Tensor) -> Tensor {
        let output = noGrad(forward)
        if Tensor.isRecording(self) {
            let input = SavedTensor(input: self)
            let result = SavedTensor(output: output)
            Tensor.record(name, inputs: [self], outputs: [output], savedOutputs: [result]) { gradients in
                [backward(gradients[0], input.unpack(), result.unpack())]
            }
        }
        return output
    }

    private func requireFloatingPoint(_ op: String) -> Bool {
        guard dtype.isFloatingPoint else {
            reportError("\"\(op)\" not implemented for '\(dtype.legacyName)'")
            return false
        }
        return true
    }

    /// exp(x) / Σ exp(x) along `dim`, computed stably (`torch.softmax`); with `dtype`, the
    /// input is converted to it first.
    public func softmax(dim: Int, dtype: DType? = nil) -> Tensor {
        if let dtype, dtype != self.dtype { return to(dtype).softmax(dim: dim) }
        let axis = normalizedDim(dim)
        guard requireFloatingPoint("softmax_lastdim_kernel_impl") else { return self }
        let alongLastDim = axis == Swift.max(self.dim - 1, 0)
        return composite("SoftmaxBackward0") {
            if alongLastDim, let fused = fusedLastDim(log: false) { return fused }
            // Half types compute in float32 and round once, as PyTorch's kernels do.
            let x = self.dtype.itemSize == 2 ? converted(to: .float32) : self
            let shifted = (x - x.amax(dim: axis, keepdim: true)).exp()
            let sum = shifted.sum(dim: axis, keepdim: true)
            // PyTorch's kernel for the last dimension multiplies by the reciprocal of the sum,
            // the one for other dimensions divides; doing the same rounds alike.
            return (alongLastDim ? shifted * sum.reciprocal() : shifted / sum).converted(to: self.dtype)
        } backward: { gradient, _, y in
            if alongLastDim, let fused = Tensor.fusedSoftmaxBackward(gradient, y, log: false) { return fused }
            return y * (gradient - (gradient * y).sum(dim: axis, keepdim: true))
        }
    }

    /// softmax's derivative along the last dimension, y·(g − Σ g·y), or log-softmax's,
    /// g − exp(y)·Σ g, one pass per row: the composite's arithmetic in its order (each product
    /// and exp rounded as the ops round them, the row summed as `sum` sums it), without its
    /// three tensors of the input's size (softmax's over 4096×1000 floats took 3.3 ms, PyTorch's
    /// 1.7). For contiguous float32 and float64 CPU tensors of several rows (`sum` splits a single
    /// long row across threads, in another order), when the derivative is not itself recorded;
    /// `nil` otherwise.
    private static func fusedSoftmaxBackward(_ gradient: Tensor, _ y: Tensor, log: Bool) -> Tensor? {
        guard y.device.kind == .cpu, gradient.device.kind == .cpu, y.isContiguous, gradient.isContiguous, gradient.shape == y.shape,
            gradient.dtype == y.dtype, y.dtype == .float32 || y.dtype == .float64, y.dim > 0, y.numel > 0,
            y.numel / y.shape[y.dim - 1] > 1, !Tensor.isRecording(gradient, y)
        else { return nil }
        let result = Tensor(uninitializedShape: y.shape, dtype: y.dtype, device: y.device)
        if y.dtype == .float32 {
            FusedSoftmax<Float>.backward(gradient, y, into: result, log: log)
        } else {
            FusedSoftmax<Double>.backward(gradient, y, into: result, log: log)
        }
        return result
    }

    /// log(softmax(x)) along `dim`, computed stably (`torch.log_softmax`); with `dtype`, the
    /// input is converted to it first.
    public func logSoftmax(dim: Int, dtype: DType? = nil) -> Tensor {
        if let dtype, dtype != self.dtype { return to(dtype).logSoftmax(dim: dim) }
        let axis = normalizedDim(dim)
        guard requireFloatingPoint("log_softmax_lastdim_kernel_impl") else { return self }
        let alongLastDim = axis == Swift.max(self.dim - 1, 0)
        return composite("LogSoftmaxBackward0") {
            if alongLastDim, let fused = fusedLastDim(log: true) { return fused }
            // Half types compute in float32 and round once, as PyTorch's kernels do.
            let x = self.dtype.itemSize == 2 ? converted(to: .float32) : self
            let shifted = x - x.amax(dim: axis, keepdim: true)
            return (shifted - shifted.exp().sum(dim: axis, keepdim: true).log()).converted(to: self.dtype)
        } backward: { gradient, _, y in
            if alongLastDim, let fused = Tensor.fusedSoftmaxBackward(gradient, y, log: true) { return fused }
            return gradient - y.exp() * gradient.sum(dim: axis, keepdim: true)
        }
    }

    /// Softmax or log-softmax along the last dimension of a contiguous tensor in one pass per
    /// row: on the CPU for float32/float64, rounding exactly as the composite form does; on a
    /// GPU for every floating dtype, one launch. `nil` for other layouts.
    private func fusedLastDim(log: Bool) -> Tensor? {
        guard isContiguous, dim > 0, numel > 0 else { return nil }
        if device.kind == .cuda {
            let output = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
            Tensor.launchSoftmax(self, into: output, log: log)
            return output
        }
        guard dtype == .float32 || dtype == .float64 else { return nil }
        let output = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        if dtype == .float32 {
            FusedSoftmax<Float>.run(self, into: output, log: log)
        } else {
            FusedSoftmax<Double>.run(self, into: output, log: log)
        }
        return output
    }

    /// log Σ exp(x) over `dims`, computed stably (`torch.logsumexp`).
    public func logsumexp(dims: [Int], keepdim: Bool = false) -> Tensor {
        guard let axes = reductionDims(dims) else { return self }
        let floating = dtype.isFloatingPoint ? self : to(.defaultFloat)
        let shape = self.shape
        return floating.composite("LogsumexpBackward0") {
            if axes == [Swift.max(dim - 1, 0)], let (sums, peaks) = floating.fusedLogsumexpLastDim() {
                let result = sums.log() + peaks
                return result.reshape(keepdim ? Array(shape.dropLast()) + [1] : Array(shape.dropLast()))
            }
            let peak = floating.amax(dims: axes, keepdim: true)
            let finitePeak = Tensor.where(peak.abs() .== Double.infinity, 0.0, peak)
            let result = (floating - finitePeak).exp().sum(dims: axes, keepdim: true).log() + finitePeak
            return keepdim ? result : result.squeezeDims(axes)
        } backward: { gradient, x, y in
            let expandedY = Tensor.expandReduced(y, to: shape, dims: axes, keepdim: keepdim)
            return Tensor.expandReduced(gradient, to: shape, dims: axes, keepdim: keepdim) * (x - expandedY).exp()
        }
    }

    /// The row sums of exp(x - peak) and the peaks (each row's maximum, 0 where that is
    /// infinite) of a contiguous float32 or float64 CPU tensor's last dimension with several
    /// rows (the composite's `sum` splits a single long row across threads, in another order), in
    /// one pass per row that keeps no exponentials: `sums.log() + peaks` rounds as the composite
    /// form does, which took 1.2-1.3x PyTorch's time over 4096x1000 floats. `nil` for other
    /// tensors.
    private func fusedLogsumexpLastDim() -> (sums: Tensor, peaks: Tensor)? {
        guard device.kind == .cpu, isContiguous, dim > 0, numel > 0, numel / shape[dim - 1] > 1, dtype == .float32 || dtype == .float64
        else { return nil }
        let rows = numel / shape[dim - 1]
        let sums = Tensor(uninitializedShape: [rows], dtype: dtype, device: device)
        let peaks = Tensor(uninitializedShape: [rows], dtype: dtype, device: device)
        if dtype == .float32 {
            FusedSoftmax<Float>.logsumexpParts(self, sums: sums, peaks: peaks)
        } else {
            FusedSoftmax<Double>.logsumexpParts(self, sums: sums, peaks: peaks)
        }
        return (sums, peaks)
    }

    /// The variance (or standard deviation) of each row of a contiguous CPU tensor's last
    /// dimension, in float64, when there are several rows (the composite's `sum` splits a single
    /// long row across threads, in another order): the composite's float64 arithmetic in
    /// its order (each sum from the row's first element on, the mean as sum / count), bit for
    /// bit, over a buffer of four rows of Doubles whose sums run side by side, without the
    /// composite's four float64 tensors of the input's size (4096×1000 floats took 11.9 ms, most
    /// of it two chains of dependent additions a row). `nil` for other tensors.
    private func fusedMomentsLastDim(divisor: Double, standardDeviation: Bool) -> Tensor? {
        guard device.kind == .cpu, isContiguous, dim > 0, numel > 0, numel / shape[dim - 1] > 1 else { return nil }
        let output = Tensor(uninitializedShape: [numel / shape[dim - 1]], dtype: .float64, device: device)
        dtype.dispatchFloat(MomentRowsKernel(input: self, output: output, divisor: divisor, standardDeviation: standardDeviation))
        return output
    }

    /// log Σ exp(x) along one dimension.
    public func logsumexp(dim: Int, keepdim: Bool = false) -> Tensor { logsumexp(dims: [dim], keepdim: keepdim) }

    /// The variance over `dims` (all when empty) with Bessel's `correction` (`torch.var`).
    ///
    /// ```swift
    /// t.variance(dim: 0, correction: 0)   // population variance
    /// ```
    public func variance(dims: [Int] = [], correction: Int = 1, keepdim: Bool = false) -> Tensor {
        moment(dims, correction: correction, keepdim: keepdim, standardDeviation: false)
    }

    /// The variance along one dimension.
    public func variance(dim: Int, correction: Int = 1, keepdim: Bool = false) -> Tensor {
        variance(dims: [dim], correction: correction, keepdim: keepdim)
    }

    /// The standard deviation over `dims` (all when empty) (`torch.std`).
    public func std(dims: [Int] = [], correction: Int = 1, keepdim: Bool = false) -> Tensor {
        moment(dims, correction: correction, keepdim: keepdim, standardDeviation: true)
    }

    /// The standard deviation along one dimension.
    public func std(dim: Int, correction: Int = 1, keepdim: Bool = false) -> Tensor {
        std(dims: [dim], correction: correction, keepdim: keepdim)
    }

    private func moment(_ dims: [Int], correction: Int, keepdim: Bool, standardDeviation: Bool) -> Tensor {
        guard dtype.isFloatingPoint else {
            reportError("std and var only support floating point and complex dtypes")
            return self
        }
        guard let axes = reductionDims(dims) else { return self }
        let shape = self.shape
        let count = axes.reduce(1) { $0 * shape[$1] }
        let divisor = Double(Swift.max(count - correction, 0))
        return composite(standardDeviation ? "StdBackward0" : "VarBackward0") {
            if axes == [Swift.max(dim - 1, 0)], let moments = fusedMomentsLastDim(divisor: divisor, standardDeviation: standardDeviation) {
                return moments.converted(to: dtype).reshape(keepdim ? Array(shape.dropLast()) + [1] : Array(shape.dropLast()))
            }
            // PyTorch accumulates the moments of float32 and half types in double and rounds
            // once; computing in float64 gives those same, correctly rounded, values.
            let x = converted(to: .float64)
            let deviations = x - x.mean(dims: axes, keepdim: true)
            let variance = (deviations * deviations).sum(dims: axes, keepdim: keepdim) / divisor
            return (standardDeviation ? variance.sqrt() : variance).converted(to: dtype)
        } backward: { gradient, x, y in
            let centered = x - x.mean(dims: axes, keepdim: true)
            // PyTorch's var_backward, in its order so that float32 keeps its bits:
            // (2 / divisor · g) · (x − mean); std_backward passes g / (2·std), 0 where std is 0.
            let varianceGradient = standardDeviation ? (gradient / (y * 2)).maskedFill(y .== 0, 0) : gradient
            let expandedGradient = Tensor.expandReduced(varianceGradient, to: shape, dims: axes, keepdim: keepdim)
            // A Double first: `2 / divisor` inside a tensor expression would type-check as a
            // float32 0-dim tensor (the literal as a Tensor) and round the factor.
            let scale: Double = 2 / divisor
            return scale * expandedGradient * centered
        }
    }

    /// Removes the given size-1 dimensions.
    func squeezeDims(_ axes: [Int]) -> Tensor {
        axes.sorted(by: >).reduce(self) { $0.squeeze($1) }
    }
}

/// The row loop of the fused softmax: max, exp and sum (accumulated as `sum` does), then scale.
/// float32 rows use the vector kernels, which round as `amax`, `exp()` and the arithmetic ops do.
private enum FusedSoftmax<T: FloatCompute & Element> where T.Compute == T {
    static func run(_ input: Tensor, into output: Tensor, log: Bool) {
        let rowLength = input.shape[input.dim - 1]
        let rows = input.numel / rowLength
        let source = input.elementPointer(as: T.self), target = output.elementPointer(as: T.self)
        let vectorKernels = T.self == Float.self ? SoftmaxRowKernels(level: CPUFeatures.level) : nil
        Parallel.forRanges(count: rows, grain: Swift.max(1, 16_384 / rowLength)) { range in
            for row in range {
                let x = source + row * rowLength, y = target + row * rowLength
                if let vectorKernels {
                    vectorKernels.row(
                        UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                        UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count: rowLength, log: log)
                    continue
                }
                let peak = Self.peak(x, count: rowLength)
                for i in 0..<rowLength { y[i] = T.exp(x[i] - peak) }
                let sum = T(SumRowsKernel.sum(y, count: rowLength))
                if log {
                    let logSum = T.log(sum)
                    for i in 0..<rowLength { y[i] = (x[i] - peak) - logSum }
                } else {
                    let scale: T = 1 / sum
                    for i in 0..<rowLength { y[i] = T.multiply(y[i], scale) }
                }
            }
        }
    }
}

extension FusedSoftmax {
    /// The row's largest element, as `amax` finds it: NaN if the row holds one.
    static func peak(_ x: UnsafeMutablePointer<T>, count: Int) -> T {
        var peak = x[0]
        for i in 0..<count where x[i] > peak || x[i].isNaN { peak = x[i] }
        return peak
    }

    /// y·(g − Σ g·y) for each row of `gradient` and `output` (softmax's), or with `log`
    /// g − exp(y)·Σ g (log-softmax's), into `result`.
    static func backward(_ gradient: Tensor, _ output: Tensor, into result: Tensor, log: Bool) {
        let rowLength = output.shape[output.dim - 1]
        let g = gradient.elementPointer(as: T.self), y = output.elementPointer(as: T.self), r = result.elementPointer(as: T.self)
        // exp as `exp()` computes it: the vector kernel for float32 where there is one.
        let vectorExp = T.self == Float.self ? VectorMathFunction.exp.float32Kernel() : nil
        Parallel.forRanges(count: output.numel / rowLength, grain: Swift.max(1, 16_384 / rowLength)) { range in
            let buffer = UnsafeMutablePointer<T>.allocate(capacity: rowLength)
            defer { buffer.deallocate() }
            for row in range {
                let (gRow, yRow, rRow) = (g + row * rowLength, y + row * rowLength, r + row * rowLength)
                if log {
                    let sum = T(SumRowsKernel.sum(gRow, count: rowLength))
                    if let vectorExp {
                        vectorExp(
                            UnsafeRawPointer(yRow).assumingMemoryBound(to: Float.self),
                            UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: Float.self), rowLength)
                    } else {
                        for i in 0..<rowLength { buffer[i] = Exp.apply(yRow[i]) }
                    }
                    for i in 0..<rowLength { rRow[i] = T.subtract(gRow[i], T.multiply(buffer[i], sum)) }
                } else {
                    for i in 0..<rowLength { buffer[i] = T.multiply(gRow[i], yRow[i]) }
                    let dot = T(SumRowsKernel.sum(buffer, count: rowLength))
                    for i in 0..<rowLength { rRow[i] = T.multiply(yRow[i], T.subtract(gRow[i], dot)) }
                }
            }
        }
    }

    /// Each row's peak (`amax`, 0 where infinite) and Σ exp(x - peak), into `sums` and `peaks`.
    static func logsumexpParts(_ input: Tensor, sums: Tensor, peaks: Tensor) {
        let rowLength = input.shape[input.dim - 1]
        let source = input.elementPointer(as: T.self), sumTarget = sums.elementPointer(as: T.self), peakTarget = peaks.elementPointer(as: T.self)
        let vectorKernels = T.self == Float.self ? SoftmaxRowKernels(level: CPUFeatures.level) : nil
        Parallel.forRanges(count: sums.numel, grain: Swift.max(1, 16_384 / rowLength)) { range in
            let exponentials = UnsafeMutablePointer<T>.allocate(capacity: rowLength)
            defer { exponentials.deallocate() }
            for row in range {
                let x = source + row * rowLength
                var peak: T
                if let vectorKernels {
                    let floats = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
                    var floatPeak = vectorKernels.max(floats, rowLength)
                    if floatPeak.isInfinite { floatPeak = 0 }
                    vectorKernels.shiftedExp(floats, UnsafeMutableRawPointer(exponentials).assumingMemoryBound(to: Float.self), rowLength, floatPeak)
                    peak = unsafeBitCast(floatPeak, to: T.self)
                } else {
                    peak = Self.peak(x, count: rowLength)
                    if peak.isInfinite { peak = 0 }
                    for i in 0..<rowLength { exponentials[i] = T.exp(x[i] - peak) }
                }
                sumTarget[row] = T(SumRowsKernel.sum(exponentials, count: rowLength))
                peakTarget[row] = peak
            }
        }
    }
}

/// Each row's variance or standard deviation in float64, as `fusedMomentsLastDim` describes.
private struct MomentRowsKernel: FloatElementVisitor {
    let input: Tensor, output: Tensor, divisor: Double, standardDeviation: Bool

    func visit<E: Element>(_ type: E.Type) where E.Compute: FloatCompute {
        let rowLength = input.shape[input.dim - 1], rows = output.numel
        let source = input.elementPointer(as: E.self), target = output.elementPointer(as: Double.self)
        let (count, divisor, standardDeviation) = (Double(rowLength), divisor, standardDeviation)
        Parallel.forRanges(count: rows, grain: Swift.max(1, 16_384 / rowLength)) { range in
            let values = UnsafeMutablePointer<Double>.allocate(capacity: 4 * rowLength)
            defer { values.deallocate() }
            for first in stride(from: range.lowerBound, to: range.upperBound, by: 4) {
                let group = Swift.min(4, range.upperBound - first)
                for row in 0..<group {
                    let (from, to) = (source + (first + row) * rowLength, values + row * rowLength)
                    for i in 0..<rowLength { to[i] = from[i].doubleValue }
                }
                let means = Self.sums(values, rows: group, length: rowLength) / count
                for row in 0..<group {
                    let (deviations, mean) = (values + row * rowLength, means[row])
                    for i in 0..<rowLength {
                        let deviation = deviations[i] - mean
                        deviations[i] = deviation * deviation
                    }
                }
                let variances = Self.sums(values, rows: group, length: rowLength) / divisor
                for row in 0..<group { target[first + row] = standardDeviation ? variances[row].squareRoot() : variances[row] }
            }
        }
    }

    /// The sums of `rows` (up to four) consecutive rows of `length` Doubles, each added as
    /// `SumRowsKernel` adds a row of Doubles: rows under 64 as four chains of dependent additions
    /// side by side (lanes past `rows` repeat the last row), longer ones in sixteen lanes each.
    @inline(__always)
    static func sums(_ values: UnsafeMutablePointer<Double>, rows: Int, length: Int) -> SIMD4<Double> {
        var totals = SIMD4<Double>()
        if length >= SumRowsKernel.doubleLaneMinimum {
            for row in 0..<rows { totals[row] = SumRowsKernel.loopSum(values + row * length, count: length) }
            return totals
        }
        let (a, b, c, d) = (values, values + Swift.min(1, rows - 1) * length, values + Swift.min(2, rows - 1) * length, values + Swift.min(3, rows - 1) * length)
        for i in 0..<length { totals += SIMD4(a[i], b[i], c[i], d[i]) }
        return totals
    }
}

/// The vectorized C kernels of a float32 softmax row: its maximum (NaN if it holds one), exp of
/// the row minus a shift, rounded as subtracting and then calling `exp()` would, and the
/// arithmetic kernels that scale the row or shift it by a number.
///
/// ```swift
/// if let kernels = SoftmaxRowKernels(level: .avx2) { kernels.shiftedExp(x, y, n, kernels.max(x, n)) }
/// ```
struct SoftmaxRowKernels {
    let max: @convention(c) (UnsafePointer<Float>?, Int) -> Float
    let shiftedExp: @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Float) -> Void
    let multiplyByNumber, subtractNumber: ArithmeticFunction.Float32Kernel

    /// The kernels built for `level`; nil at the baseline level.
    init?(level: CPUFeatures.Level) {
        let cpuLevel = ember_cpu_level(rawValue: UInt32(level.rawValue))
        guard let max = ember_max_f32_kernel(cpuLevel), let shiftedExp = ember_shifted_exp_f32_kernel(cpuLevel),
            let multiply = ArithmeticFunction.multiply.float32Kernels(at: level),
            let subtract = ArithmeticFunction.subtract.float32Kernels(at: level)
        else { return nil }
        (self.max, self.shiftedExp) = (max, shiftedExp)
        (multiplyByNumber, subtractNumber) = (multiply.numberSecond, subtract.numberSecond)
    }

    /// Softmax (or log-softmax) of the row `x` into `y`, each pass one vector kernel.
    func row(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, log: Bool) {
        var peak = max(x, count)
        shiftedExp(x, y, count, peak)
        let sum = Float(SumRowsKernel.sum(y, count: count))
        if log {
            var logSum = Float.log(sum)
            subtractNumber(x, &peak, y, count)
            subtractNumber(y, &logSum, y, count)
        } else {
            var scale = 1 / sum
            multiplyByNumber(y, &scale, y, count)
        }
    }
}
