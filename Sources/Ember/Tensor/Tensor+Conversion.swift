// Reading values out and moving tensors: item, toArray, in-place fills and copies, devices.

extension Tensor {
    /// The single element as a `Double` (`item()`).
    public func item() -> Double { item(as: Double.self) }

    /// The single element converted to `S` (`item()`).
    ///
    /// ```swift
    /// let loss = (yPred - y).pow(2).sum().item(as: Float.self)
    /// ```
    public func item<S: TensorScalar>(as type: S.Type) -> S {
        guard numel == 1 else {
            reportError("a Tensor with \(numel) elements cannot be converted to Scalar")
            return S(converting: Double.nan)
        }
        return toArray(as: S.self)[0]
    }

    /// The elements in row-major order, each converted to `S` (`tolist()` flattened).
    public func toArray<S: TensorScalar>(as type: S.Type) -> [S] {
        if device.kind == .cuda { return copied(to: .cpu).toArray(as: S.self) }
        return dtype.dispatch(ReadElements<S>(tensor: self))
    }

    /// Fills the tensor with zeros in place (`zero_()`).
    @discardableResult
    public func zero_() -> Tensor { fill_(0) }

    /// Fills the tensor with one value in place (`fill_`).
    @discardableResult
    public func fill_<S: TensorScalar>(_ value: S) -> Tensor {
        guard checkInPlaceAllowed() else { return self }
        let wasRecording = Tensor.isRecording(self)
        fillElements(ScalarValue(value))
        version.bump()
        if wasRecording {
            recordInPlace("FillBackward0", inputs: [previousHistory()]) { gradients in [Tensor.zerosLike(gradients[0])] }
        }
        return self
    }

    /// Copies `source` into this tensor in place, broadcasting and casting (`copy_`).
    @discardableResult
    public func copy_(_ source: Tensor) -> Tensor {
        guard let shape = Tensor.broadcastShapes(shape, source.shape), shape == self.shape else {
            if Tensor.broadcastShapes(self.shape, source.shape) != nil {
                reportError("output with shape \(Tensor.describe(self.shape)) doesn't match the broadcast shape \(Tensor.describe(Tensor.broadcastShapes(self.shape, source.shape)!))")
            }
            return self
        }
        guard checkInPlaceAllowed(), checkWritesEachElementOnce() else { return self }
        let wasRecording = Tensor.isRecording(self, source)
        copyElements(from: source)
        version.bump()
        if wasRecording {
            let sourceDType = source.dtype
            recordInPlace("CopyBackwards", inputs: [previousHistory(), source]) { gradients in
                [Tensor.zerosLike(gradients[0]), gradients[0].to(sourceDType)]
            }
        }
        return self
    }

    /// The tensor on `device`: itself if already there (`to(device)`).
    ///
    /// ```swift
    /// let x = Tensor.randn(64, 1000).to(.cuda(0))
    /// ```
    public func to(_ device: Device) -> Tensor {
        if device == self.device { return self }
        guard device.checkAvailable() else { return self }
        let output = copied(to: device)
        if Tensor.isRecording(self) {
            let source = self.device
            Tensor.record("ToCopyBackward0", inputs: [self], outputs: [output]) { gradients in [gradients[0].to(source)] }
        }
        return output
    }

    /// The tensor on the GPU (`cuda()`).
    public func cuda(_ index: Int = 0) -> Tensor { to(.cuda(index)) }

    /// The tensor in CPU memory (`cpu()`).
    public func cpu() -> Tensor { to(.cpu) }

    /// The tensor converted to a legacy tensor type, moving it to that type's device
    /// (`t.type(torch.cuda.FloatTensor)`).
    public func type(_ type: TensorType) -> Tensor { to(type.dtype).to(type.device) }
}

/// The legacy tensor types of PyTorch's early API (`torch.FloatTensor`,
/// `torch.cuda.FloatTensor`), for code ported from the seed's era.
///
/// ```swift
/// let dtype = TensorType.floatTensor   // TensorType.cudaFloatTensor runs on the GPU
/// let x = Tensor.randn(64, 1000).type(dtype)
/// ```
public struct TensorType: Sendable, Hashable {
    /// The element type.
    public let dtype: DType
    /// The device.
    public let device: Device

    /// `torch.FloatTensor`.
    public static let floatTensor = TensorType(dtype: .float32, device: .cpu)
    /// `torch.DoubleTensor`.
    public static let doubleTensor = TensorType(dtype: .float64, device: .cpu)
    /// `torch.HalfTensor`.
    public static let halfTensor = TensorType(dtype: .float16, device: .cpu)
    /// `torch.LongTensor`.
    public static let longTensor = TensorType(dtype: .int64, device: .cpu)
    /// `torch.IntTensor`.
    public static let intTensor = TensorType(dtype: .int32, device: .cpu)
    /// `torch.ByteTensor`.
    public static let byteTensor = TensorType(dtype: .uint8, device: .cpu)
    /// `torch.BoolTensor`.
    public static let boolTensor = TensorType(dtype: .bool, device: .cpu)
    /// `torch.cuda.FloatTensor`.
    public static let cudaFloatTensor = TensorType(dtype: .float32, device: .cuda(0))
    /// `torch.cuda.DoubleTensor`.
    public static let cudaDoubleTensor = TensorType(dtype: .float64, device: .cuda(0))
    /// `torch.cuda.HalfTensor`.
    public static let cudaHalfTensor = TensorType(dtype: .float16, device: .cuda(0))
    /// `torch.cuda.LongTensor`.
    public static let cudaLongTensor = TensorType(dtype: .int64, device: .cuda(0))
}

/// Returns `tensor`, requiring grad if asked: PyTorch's `Variable` is a Tensor today, and this
/// keeps code ported from the seed's era working.
///
/// ```swift
/// let w1 = Variable(Tensor.randn(1000, 100), requiresGrad: true)
/// ```
public func Variable(_ tensor: Tensor, requiresGrad: Bool = false) -> Tensor {
    if requiresGrad { tensor.requiresGrad = true }
    return tensor
}

/// Reads a tensor's elements in logical row-major order into a Swift array.
private struct ReadElements<S: TensorScalar>: ElementVisitor {
    let tensor: Tensor
    func visit<E: Element>(_ type: E.Type) -> [S] {
        let source = tensor.isContiguous ? tensor : tensor.cloneContiguous()
        let pointer = source.elementPointer(as: E.self)
        let count = source.numel
        if S.self == E.self { return Array(UnsafeBufferPointer(start: UnsafePointer(pointer), count: count)) as! [S] }
        if S.self == Int.self && E.self == Int64.self && MemoryLayout<Int>.size == 8 {
            // Index tensors read as [Int]: the same bits, copied at once.
            return UnsafeRawPointer(pointer).withMemoryRebound(to: S.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
        }
        if E.dtype.isFloatingPoint { return (0..<count).map { S(converting: pointer[$0].doubleValue) } }
        return (0..<count).map { S(converting: pointer[$0].int64Value) }
    }
}
