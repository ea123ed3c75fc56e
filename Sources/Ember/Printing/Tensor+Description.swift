extension Tensor: CustomStringConvertible {
    /// PyTorch's `repr`, character for character, except that the dtype suffix reads
    /// `dtype=float64` rather than `dtype=torch.float64`.
    ///
    /// ```swift
    /// print(Tensor([1.5, 2] as [Float]))   // tensor([1.5000, 2.0000])
    /// ```
    public var description: String {
        let source = device.kind == .cuda ? copied(to: .cpu) : isContiguous ? self : cloneContiguous()
        let (gradFn, requiresGrad) = withAutogradLock { (storedGradFn, leafRequiresGrad) }
        return dtype.dispatch(DescribeElements(tensor: source, device: device.kind == .cpu ? nil : device.description, requiresGrad: requiresGrad, gradFnName: gradFn?.name))
    }
}

/// Hands the formatter the elements it asks for, read in the tensor's own dtype.
private struct DescribeElements: ElementVisitor {
    let tensor: Tensor, device: String?, requiresGrad: Bool, gradFnName: String?
    func visit<E: Element>(_ type: E.Type) -> String {
        let pointer = tensor.elementPointer(as: E.self)
        return TensorFormatter.format(shape: tensor.shape, dtype: tensor.dtype, element: { index in
            let value = pointer[index]
            if E.dtype.isFloatingPoint { return .floating(value.doubleValue) }
            if E.dtype == .bool { return .boolean(value.int64Value != 0) }
            return .integer(value.int64Value)
        }, device: device, requiresGrad: requiresGrad, gradFnName: gradFnName)
    }
}
