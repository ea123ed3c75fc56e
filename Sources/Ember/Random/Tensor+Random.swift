// Random factories and fills, drawing from PyTorch-compatible generators.

extension Tensor {
    /// Samples from the standard normal distribution (`torch.randn`); with `manualSeed` the
    /// values equal PyTorch's CPU values for the same seed and calls.
    ///
    /// ```swift
    /// manualSeed(0)
    /// let x = Tensor.randn(64, 1000)
    /// ```
    public static func randn(_ shape: Int..., dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false, generator: Generator? = nil) -> Tensor {
        randn(shape, dtype: dtype, device: device, requiresGrad: requiresGrad, generator: generator)
    }

    /// Samples from the standard normal distribution (`torch.randn`).
    public static func randn(_ shape: [Int], dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false, generator: Generator? = nil) -> Tensor {
        empty(shape, dtype: dtype, device: device).normal_(mean: 0, std: 1, generator: generator).requiringGradFromFactory(requiresGrad)
    }

    /// Samples uniformly from [0, 1) (`torch.rand`).
    public static func rand(_ shape: Int..., dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false, generator: Generator? = nil) -> Tensor {
        rand(shape, dtype: dtype, device: device, requiresGrad: requiresGrad, generator: generator)
    }

    /// Samples uniformly from [0, 1) (`torch.rand`).
    public static func rand(_ shape: [Int], dtype: DType = .defaultFloat, device: Device = .cpu, requiresGrad: Bool = false, generator: Generator? = nil) -> Tensor {
        empty(shape, dtype: dtype, device: device).uniform_(from: 0, to: 1, generator: generator).requiringGradFromFactory(requiresGrad)
    }

    /// Integers drawn uniformly from `low..<high` (`torch.randint`), int64 unless `dtype` says otherwise.
    public static func randint(low: Int = 0, high: Int, shape: [Int], dtype: DType = .int64, device: Device = .cpu, generator: Generator? = nil) -> Tensor {
        guard low < high else {
            reportError("random_ expects 'from' to be less than 'to', but got from=\(low) >= to=\(high)")
            return zeros([0], dtype: dtype)
        }
        let generator = generator ?? .defaultGenerator(for: device)
        guard generator.checkDevice(for: device) else { return zeros([0], dtype: dtype) }
        let tensor = empty(shape, dtype: dtype, device: device)
        if device.kind == .cuda {
            tensor.fillOnDevice(.integers(low: Int64(low), high: Int64(high)), generator: generator)
            return tensor
        }
        var values = [Int64](repeating: 0, count: tensor.numel)
        values.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress {
                generator.fillRandom(base, count: buffer.count, low: Int64(low), high: Int64(high))
            }
        }
        tensor.copyElements(from: Tensor(values, shape: shape))
        return tensor
    }

    /// Fills the tensor in place with samples from N(mean, std²) (`normal_`).
    @discardableResult
    public func normal_(mean: Double = 0, std: Double = 1, generator: Generator? = nil) -> Tensor {
        guard checkInPlaceAllowed(), checkWritesEachElementOnce() else { return self }
        guard dtype.isFloatingPoint else {
            reportError("\"normal_kernel_cpu\" not implemented for '\(dtype.legacyName)'")
            return self
        }
        guard std >= 0 else {
            reportError("normal expects std >= 0.0, but found std \(std)")
            return self
        }
        let generator = generator ?? .defaultGenerator(for: device)
        guard generator.checkDevice(for: device) else { return self }
        if device.kind == .cuda { return fillOnDevice(.normal(mean: mean, std: std), generator: generator) }
        let contiguousLayout = isContiguous
        randomFill { count in
            if dtype == .float64 {
                return .double(Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                    generator.fillNormal(buffer.baseAddress!, count: count, mean: mean, std: std, contiguous: contiguousLayout)
                    initialized = count
                })
            }
            return .float(Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                generator.fillNormal(buffer.baseAddress!, count: count, mean: mean, std: std, contiguous: contiguousLayout)
                initialized = count
            })
        }
        return self
    }

    /// Fills the tensor in place with samples from U[from, to) (`uniform_`).
    @discardableResult
    public func uniform_(from: Double = 0, to: Double = 1, generator: Generator? = nil) -> Tensor {
        guard checkInPlaceAllowed(), checkWritesEachElementOnce() else { return self }
        guard dtype.isFloatingPoint else {
            reportError("\"uniform_kernel_cpu\" not implemented for '\(dtype.legacyName)'")
            return self
        }
        guard from <= to else {
            reportError("uniform_ expects to return a [from, to) range, but found from=\(from) > to=\(to)")
            return self
        }
        let generator = generator ?? .defaultGenerator(for: device)
        guard generator.checkDevice(for: device) else { return self }
        if device.kind == .cuda { return fillOnDevice(.uniform(from: from, to: to), generator: generator) }
        randomFill { count in
            if dtype == .float64 {
                return .double(Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                    generator.fillUniform(buffer.baseAddress!, count: count, from: from, to: to)
                    initialized = count
                })
            }
            return .float(Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                generator.fillUniform(buffer.baseAddress!, count: count, from: from, to: to)
                initialized = count
            })
        }
        return self
    }

    /// Fills this GPU tensor from `generator`'s Philox stream (`PhiloxDistribution` says how),
    /// through a contiguous buffer when the tensor is a strided view.
    @discardableResult
    fileprivate func fillOnDevice(_ distribution: PhiloxDistribution, generator: Generator) -> Tensor {
        let target = isContiguous ? self : Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        let count = numel
        if count > 0 {
            let blocks = distribution.blocks(count: count, dtype: dtype)
            let (seed, offset) = generator.reservePhiloxBlocks(blocks)
            let (kind, parameters) = distribution.kernel(for: dtype)
            let arguments: [CUDAKernelArgument] = [.value(Int64(count)), .address(target.deviceAddress), .value(seed), .value(offset)] + parameters
            let backend = cudaBackend, name = CUDAKernelSource.randomKernelName(kind, dtype)
            do throws(CUDAError) {
                try backend.launch(
                    name, in: CUDAKernelSource.module(.random, dtype),
                    blocks: CUDALaunchGeometry.elementwiseBlocks(count: Int(blocks), multiprocessors: backend.multiprocessors), arguments)
            } catch {
                reportError("\(name) failed on \(device): \(error)")
            }
            if target !== self { copyElements(from: target) }
        }
        version.bump()
        return self
    }

    private enum RandomValues {
        case float([Float])
        case double([Double])
    }

    /// Draws `numel` values and writes them in logical order.
    private func randomFill(_ draw: (Int) -> RandomValues) {
        let count = numel
        if count > 0 {
            switch draw(count) {
            case .float(let values):
                if dtype == .float32 && isContiguous {
                    values.withUnsafeBufferPointer { elementPointer(as: Float.self).update(from: $0.baseAddress!, count: count) }
                } else {
                    copyElements(from: Tensor(values, shape: shape))
                }
            case .double(let values):
                copyElements(from: Tensor(values, shape: shape))
            }
        }
        version.bump()
    }
}
