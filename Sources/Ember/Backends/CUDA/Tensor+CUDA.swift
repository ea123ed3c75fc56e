import Synchronization

// Tensors on a GPU: moving them between devices, and running the generated elementwise kernels
// for the ops that reach `CUDADeviceBackend` (see the `device.kind == .cuda` branches in Ops/).

extension Tensor {
    /// The GPU address of element `[0, 0, …]`.
    var deviceAddress: CUdeviceptr { storage.deviceAddress + CUdeviceptr(offset * dtype.itemSize) }

    /// The backend of the GPU this tensor lives on.
    var cudaBackend: any CUDADeviceBackend { CUDARuntime.existingBackend(for: device) }

    /// A contiguous copy on `device` with the same dtype, outside autograd; the destination
    /// device must be available already.
    func copied(to device: Device) -> Tensor {
        let source = isContiguous ? self : cloneContiguous()
        let result = Tensor(uninitializedShape: shape, dtype: dtype, device: device)
        let byteCount = numel * dtype.itemSize
        do throws(CUDAError) {
            switch (self.device.kind, device.kind) {
            case (.cpu, .cuda):
                try result.cudaBackend.copy(
                    toDevice: result.deviceAddress, from: UnsafeRawPointer(source.elementBytes), byteCount: byteCount)
            case (.cuda, .cpu):
                try source.cudaBackend.copy(toHost: result.elementBytes, from: source.deviceAddress, byteCount: byteCount)
                CUDAIndexErrors.reportRecorded(on: source.cudaBackend)
            case (.cuda, .cuda):
                // Between two GPUs through the host: simple, and rare in the programs Ember runs.
                return source.copied(to: .cpu).copied(to: device)
            case (.cpu, .cpu):
                return source === self ? source.cloneContiguous() : source
            }
        } catch {
            reportError("copying a tensor from \(self.device) to \(device) failed: \(error)")
        }
        return result
    }

    /// Runs a generated elementwise kernel over `operands` (output first, the others
    /// broadcast to its shape): the contiguous variant when every operand is dense, else the
    /// strided one. Operands still on the CPU (Swift numbers) are copied over first.
    static func launchElementwise(
        _ module: CUDAKernelModule, _ kernel: (CUDAIndexing) -> String, _ operands: [Tensor], extra: [CUDAKernelArgument] = [],
        stridedOnly: Bool = false
    ) {
        let output = operands[0], device = output.device
        var operands = operands.map { operand in
            guard operand.device != device else { return operand.broadcastView(to: output.shape) }
            // A Swift number broadcast over the output: its one element, kept on the GPU.
            guard operand.strides.allSatisfy({ $0 == 0 }) else { return operand.copied(to: device).broadcastView(to: output.shape) }
            let element = Tensor(storage: operand.storage, shape: [], strides: [], offset: operand.offset, dtype: operand.dtype)
            return CUDAScalarCache.shared.scalar(element, on: device).broadcastView(to: output.shape)
        }
        // All dense (most ops of a training step; every operand has the output's shape by now):
        // no dimensions to merge.
        var plan =
            operands.allSatisfy(\.isContiguous)
            ? .contiguous(count: output.numel) : CUDAElementwisePlan.make(shape: output.shape, strides: operands.map(\.strides))
        if plan == .tooManyDimensions {
            // Inputs that cannot be described in 16 merged dimensions become contiguous; an
            // output like that could only be written by a kernel that takes more dimensions.
            guard output.isContiguous else {
                return reportError(
                    "writing a view with more than \(CUDAKernelSource.maxDims) dimensions that do not merge is not supported on \(device)")
            }
            operands = [output] + operands.dropFirst().map { $0.isContiguous ? $0 : $0.contiguousThroughHost() }
            plan = CUDAElementwisePlan.make(shape: output.shape, strides: operands.map(\.strides))
        }
        var arguments: [CUDAKernelArgument]
        let count: Int, name: String
        switch plan {
        case .contiguous(let total) where stridedOnly:
            let layout = CUDAStridedLayout(sizes: [total], strides: operands.map { _ in [1] })
            (count, name, arguments) = (total, kernel(.strided), [.value(Int64(total)), .layout(layout)])
        case .contiguous(let total):
            (count, name, arguments) = (total, kernel(.contiguous), [.value(Int64(total))])
        case .strided(let total, let layout):
            (count, name, arguments) = (total, kernel(.strided), [.value(Int64(total)), .layout(layout)])
        case .tooManyDimensions:
            fatalError("Ember: \(output.dim) dimensions cannot be merged into \(CUDAKernelSource.maxDims) even for contiguous operands")
        }
        guard count > 0 else { return }
        arguments += operands.map { .address($0.deviceAddress) } + extra
        let backend = output.cudaBackend
        let blocks = CUDALaunchGeometry.elementwiseBlocks(count: count, multiprocessors: backend.multiprocessors)
        do throws(CUDAError) {
            try backend.launch(name, in: module, blocks: blocks, arguments)
        } catch {
            reportError("\(name) failed on \(device): \(error)")
        }
    }

    /// A contiguous copy of a GPU view whose layout no kernel can walk (more than 16
    /// dimensions that do not merge): the memory it spans comes to the host, the CPU lays it
    /// out, and the result goes back.
    private func contiguousThroughHost() -> Tensor {
        guard numel > 0 else { return Tensor(uninitializedShape: shape, dtype: dtype, device: device) }
        let span = shape.indices.reduce(1) { $0 + (shape[$1] - 1) * strides[$1] }
        let host = Tensor(uninitializedShape: [span], dtype: dtype)
        do throws(CUDAError) {
            try cudaBackend.copy(
                toHost: host.elementBytes, from: deviceAddress, byteCount: span * dtype.itemSize)
        } catch {
            reportError("copying a tensor from \(device) to the host failed: \(error)")
        }
        return host.makeView(shape: shape, strides: strides, offset: 0).cloneContiguous().copied(to: device)
    }

    /// Runs the registered elementwise op `name` (`exp`, `add`, `lt`) on `operands` (output
    /// first) of `dtype`, or reports that the GPU has no kernel for it.
    static func launchRegistered(_ name: String, dtype: DType, _ operands: [Tensor]) {
        guard let op = CUDAElementwiseOp.named[name], op.dtypes.contains(dtype) else {
            reportError("\(name) is not implemented for \(operands[0].device) with \(dtype)")
            return
        }
        launchElementwise(CUDAKernelSource.module(op.kind.family, dtype), { CUDAKernelSource.elementwiseKernelName(op, dtype, $0) }, operands)
    }

    /// `operands[0] = operands[1] + alpha·operands[2]` on the GPU, rounded once (add and sub
    /// with `alpha`); `alpha` is converted to `dtype` first, as PyTorch converts it.
    static func launchScaledAdd(alpha: ScalarValue, dtype: DType, _ operands: [Tensor]) {
        let op = CUDAElementwiseOp.scaledAdd
        launchElementwise(
            CUDAKernelSource.module(op.kind.family, dtype), { CUDAKernelSource.elementwiseKernelName(op, dtype, $0) }, operands,
            extra: [scaledAddArgument(alpha: alpha, dtype: dtype)])
    }

    /// The `alpha` argument of a scaled-add kernel of `dtype`: alpha converted to `dtype`, in
    /// the type the kernel computes in (float for the half types).
    static func scaledAddArgument(alpha: ScalarValue, dtype: DType) -> CUDAKernelArgument {
        CUDAKernelArgument(bytes: dtype.dispatch(ComputeBytes(value: alpha)))
    }

    /// A number's bytes in the type kernels of one dtype compute in.
    private struct ComputeBytes: ElementVisitor {
        let value: ScalarValue
        func visit<E: Element>(_ type: E.Type) -> [UInt8] { withUnsafeBytes(of: value.element(as: E.self).compute) { Array($0) } }
    }

    /// `output = input` converted to the output's dtype, elementwise on the GPU.
    static func launchCast(from input: Tensor, into output: Tensor) {
        launchElementwise(
            CUDAKernelSource.module(.cast, input.dtype), { CUDAKernelSource.castKernelName(from: input.dtype, to: output.dtype, $0) },
            [output, input])
    }

    /// Writes `value` into every element of this GPU tensor.
    func launchFill(_ value: ScalarValue) {
        let element = Tensor(uninitializedShape: [], dtype: dtype)
        element.fillElements(value)
        let bytes = Array(UnsafeRawBufferPointer(start: element.elementBytes, count: dtype.itemSize))
        Tensor.launchElementwise(
            CUDAKernelSource.module(.fill, dtype), { CUDAKernelSource.fillKernelName(self.dtype, $0) }, [self],
            extra: [CUDAKernelArgument(bytes: bytes)])
    }

    /// Gathers `source` along `axis` into `output` (`output[…i…] = source[…index[…i…]…]`), or
    /// scatters `source` into `output` the other way (adding atomically when `adding`), on the
    /// GPU, for `op`. `index` is int64 with the iteration's shape (broadcast for `index_select`);
    /// the kernel checks its values by `op`'s rules, and the next synchronization reports one out
    /// of range when `checkedByHost` is false.
    static func launchIndex(
        gathering: Bool, adding: Bool = false, for op: IndexingOp, axis: Int, index: Tensor, output: Tensor, source: Tensor,
        checkedByHost: Bool
    ) {
        let iteration = index.shape
        // The indexed tensor walks the other dimensions; the index supplies its `axis` coordinate.
        let indexed = gathering ? source : output
        var walking = indexed.strides
        walking[axis] = 0
        let indexedView = indexed.makeView(shape: iteration, strides: walking)
        let other = (gathering ? output : source).makeView(shape: iteration, strides: (gathering ? output : source).strides)
        let operands = gathering ? [other, index, indexedView] : [indexedView, index, other]
        let dtype = output.dtype
        let name = adding ? CUDAKernelSource.scatterAddKernelName(dtype) : CUDAKernelSource.indexKernelName(gathering: gathering, dtype)
        let record: CUdeviceptr
        do throws(CUDAError) {
            record = try CUDAIndexErrors.address(on: output.cudaBackend)
        } catch {
            return reportError("\(name) failed on \(output.device): \(error)")
        }
        let check: [CUDAKernelArgument] = [
            .value(Int64(indexed.strides[axis])), .value(Int64(indexed.shape[axis])), .value(Int32(op.countsNegativeFromEnd ? 1 : 0)),
            .value(op.rawValue), .value(Int32(axis)), .address(record),
        ]
        launchElementwise(CUDAKernelSource.module(.index, dtype), { _ in name }, operands, extra: check, stridedOnly: true)
        if !checkedByHost { CUDAIndexErrors.markUnread(on: output.cudaBackend) }
    }

    /// The flat positions of this GPU bool tensor's true elements, in row-major order, as
    /// int64 on the GPU. Only each tile's count comes to the host (an eighth of a byte per
    /// element, where the mask itself is a byte), to find where each tile's positions go.
    func truePositionsOnGPU() -> Tensor {
        let mask = contiguous(), count = numel, tile = CUDAKernelSource.maskTile
        let tiles = (count + tile - 1) / tile
        func launch(_ name: String, _ addresses: [CUdeviceptr]) {
            let backend = cudaBackend
            let blocks = CUDALaunchGeometry.elementwiseBlocks(count: tiles, multiprocessors: backend.multiprocessors)
            do throws(CUDAError) {
                try backend.launch(
                    name, in: CUDAKernelSource.module(.index, .bool), blocks: blocks,
                    [.value(Int64(count)), .value(Int64(tile))] + addresses.map { .address($0) })
            } catch {
                reportError("\(name) failed on \(device): \(error)")
            }
        }
        guard tiles > 0 else { return Tensor(uninitializedShape: [0], dtype: .int64, device: device) }
        let counts = Tensor(uninitializedShape: [tiles], dtype: .int64, device: device)
        launch("ember_count_true", [mask.deviceAddress, counts.deviceAddress])
        var firstSlots: [Int64] = [], total: Int64 = 0
        firstSlots.reserveCapacity(tiles)
        for tileCount in counts.toArray(as: Int64.self) {
            firstSlots.append(total)
            total += tileCount
        }
        let positions = Tensor(uninitializedShape: [Int(total)], dtype: .int64, device: device)
        if total > 0 {
            let slots = Tensor(firstSlots, shape: [tiles], device: device)
            launch("ember_true_positions", [mask.deviceAddress, slots.deviceAddress, positions.deviceAddress])
        }
        return positions
    }

    /// `output = condition ? a : b` on the GPU.
    static func launchWhere(_ output: Tensor, _ condition: Tensor, _ a: Tensor, _ b: Tensor) {
        launchElementwise(
            CUDAKernelSource.module(.where, output.dtype), { CUDAKernelSource.whereKernelName(output.dtype, $0) },
            [output, condition, a, b])
    }
}

extension Tensor {
    /// Reduces each contiguous row of `layout` on the GPU: sums and products into `values`
    /// (converted when it is not the kernel's accumulating dtype), maxima and minima into
    /// `values` and, when given, their first indices into `indices`.
    static func launchReduction(_ reduction: CUDAReduction, _ layout: ReductionLayout, values: Tensor, indices: Tensor? = nil) {
        let input = layout.input, dtype = input.dtype, device = values.device
        let kernelOutput = CUDAKernelSource.reductionOutputType(reduction, dtype)
        if (reduction == .sum || reduction == .prod) && values.dtype != kernelOutput {
            let direct = Tensor(uninitializedShape: values.shape, dtype: kernelOutput, device: device)
            launchReduction(reduction, layout, values: direct)
            values.copyElements(from: direct)
            return
        }
        if layout.outer == 1 && layout.inner >= splitReductionThreshold {
            return launchSplitReduction(reduction, layout.input, values: values, indices: indices)
        }
        var outputs = [values.deviceAddress]
        if reduction == .max || reduction == .min { outputs.append(indices?.deviceAddress ?? 0) }
        launchRows(outer: layout.outer, inner: layout.inner, input: input, outputs: outputs, on: device) {
            CUDAKernelSource.reduceKernelName(reduction, dtype, $0)
        }
    }

    /// Softmax (or log-softmax) of each row of a contiguous floating GPU tensor's last
    /// dimension into `output`, one launch for all rows.
    static func launchSoftmax(_ input: Tensor, into output: Tensor, log: Bool) {
        let inner = input.shape.last ?? 1
        launchRows(outer: input.numel / Swift.max(inner, 1), inner: inner, input: input, outputs: [output.deviceAddress], on: output.device) {
            CUDAKernelSource.softmaxKernelName(log: log, input.dtype, $0)
        }
    }

    /// Launches a kernel of the reduce module over `outer` contiguous rows of `inner` elements
    /// of `input` (a block or a warp per row, whichever suits them), with `outputs` after it.
    private static func launchRows(
        outer: Int, inner: Int, input: Tensor, outputs: [CUdeviceptr], on device: Device, _ kernel: (CUDAReductionShape) -> String
    ) {
        let backend = CUDARuntime.existingBackend(for: device)
        let shape = CUDALaunchGeometry.reductionShape(outer: outer, inner: inner, multiprocessors: backend.multiprocessors)
        let blocks = CUDALaunchGeometry.reductionBlocks(outer: outer, shape: shape, multiprocessors: backend.multiprocessors)
        let name = kernel(shape)
        let arguments: [CUDAKernelArgument] =
            [.value(Int64(outer)), .value(Int64(inner)), .address(input.deviceAddress)] + outputs.map { .address($0) }
        do throws(CUDAError) {
            try backend.launch(name, in: CUDAKernelSource.module(.reduce, input.dtype), blocks: blocks, arguments)
        } catch {
            reportError("\(name) failed on \(device): \(error)")
        }
    }
}

extension Tensor {

    /// Elements from which one row (a whole-tensor reduction) is split across many blocks: a
    /// block per row would leave all but one multiprocessor idle.
    static let splitReductionThreshold = 1 << 17
    /// Elements each block reduces in a split reduction.
    static let splitReductionChunk = 1 << 14

    /// Reduces one long contiguous row in chunks, a block each, then the few partial results in
    /// one more launch: sums add the partials in double as the CPU does, maxima keep the first
    /// best chunk so that the index is the first of equals (and the first NaN) over the whole row.
    private static func launchSplitReduction(_ reduction: CUDAReduction, _ row: Tensor, values: Tensor, indices: Tensor?) {
        let device = values.device, count = row.numel, chunk = splitReductionChunk
        let (whole, tail) = (count / chunk, count % chunk)
        let isExtremum = reduction == .max || reduction == .min
        // Half-type partial sums would be rounded to 11 bits: add in float32 instead.
        let halfSum = !isExtremum && row.dtype.isFloatingPoint && row.dtype.itemSize == 2
        let flat = noGrad { (halfSum ? row.converted(to: .float32) : row).reshape([count]) }
        let partialType = isExtremum ? row.dtype : CUDAKernelSource.reductionOutputType(reduction, flat.dtype)
        var partials: [(values: Tensor, indices: Tensor?)] = []
        for (start, rows, length) in [(0, whole, chunk), (whole * chunk, tail > 0 ? 1 : 0, tail)] where rows > 0 {
            let part = noGrad { flat.narrow(dim: 0, start: start, length: rows * length).reshape([rows, length]) }
            let partialValues = Tensor(uninitializedShape: [rows], dtype: partialType, device: device)
            let partialIndices = isExtremum ? Tensor(uninitializedShape: [rows], dtype: .int64, device: device) : nil
            launchReduction(
                reduction, ReductionLayout(input: part, outer: rows, inner: length, keptShape: [rows, 1], squeezedShape: [rows]),
                values: partialValues, indices: partialIndices)
            partials.append((partialValues, partialIndices))
        }
        // The partials are reduced on the GPU too, so that the host never waits for the result.
        noGrad {
            let partialValues = Tensor.cat(partials.map(\.values))
            switch reduction {
            case .sum: values.copyElements(from: partialValues.sum(dtype: values.dtype))
            case .prod: values.copyElements(from: partialValues.prod(dtype: values.dtype))
            case .max, .min:
                let (best, winner) = reduction == .max ? partialValues.max(dim: 0) : partialValues.min(dim: 0)
                values.copyElements(from: best)
                guard let indices else { return }
                // Partial p (whole chunks first, then the tail) starts at element p·chunk. The
                // winner is in range by construction, as good as checked by the host.
                let local = Tensor(uninitializedShape: [1], dtype: .int64, device: device)
                launchIndex(
                    gathering: true, for: .gather, axis: 0, index: winner.reshape([1]), output: local,
                    source: Tensor.cat(partials.map { $0.indices! }), checkedByHost: true)
                indices.copyElements(from: winner * chunk + local.reshape([]))
            }
        }
    }
}

/// Swift numbers used on a GPU, kept there: a training loop uses the same few every step (a
/// learning rate, 0, 2), and copying one over each time is a transfer the GPU must wait for.
/// The tensors are never written: kernels only read their operands.
final class CUDAScalarCache: Sendable {
    static let shared = CUDAScalarCache()
    /// Kept numbers beyond which the cache starts over (a loop with ever-new numbers).
    static let capacity = 4096

    private struct Key: Hashable {
        let device: Int, dtype: DType, bits: UInt64
    }
    private let entries = Mutex<[Key: Tensor]>([:])

    /// A 0-dim tensor on `device` with the value of the 0-dim CPU tensor `element`.
    func scalar(_ element: Tensor, on device: Device) -> Tensor {
        var bits: UInt64 = 0
        withUnsafeMutableBytes(of: &bits) { $0.copyMemory(from: UnsafeRawBufferPointer(start: element.elementBytes, count: element.dtype.itemSize)) }
        let key = Key(device: device.index, dtype: element.dtype, bits: bits)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let copy = element.copied(to: device)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll() }
            entries[key] = copy
        }
        return copy
    }
}

extension CUDAElementwiseOp {
    /// The registered ops by name.
    static let named: [String: CUDAElementwiseOp] = Dictionary(uniqueKeysWithValues: registry.map { ($0.name, $0) })
}
