import Synchronization

/// An n-dimensional array on the CPU or a GPU that records the operations on it for autograd:
/// PyTorch's `torch.Tensor`, with reference semantics.
///
/// Views (`t()`, `transpose`, `view`, slicing, `expand`, `.data`, `detach()`) share memory with
/// the tensor they come from, and an in-place operation is visible through every view.
///
/// ```swift
/// let x = Tensor.randn(64, 1000)
/// let w = Tensor.randn(1000, 100, requiresGrad: true)
/// let loss = x.mm(w).clamp(min: 0).pow(2).sum()
/// loss.backward()
/// print(w.grad!.shape)   // [1000, 100]
/// ```
public final class Tensor: @unchecked Sendable {
    // The memory and how this tensor reads it. `var` only so that `data`'s setter can swap
    // them, as PyTorch's `x.data = y` does. Exclusivity is not checked at run time: these are
    // read on every op, and the autograd fields are guarded by `AutogradLocks`.
    @exclusivity(unchecked) private(set) var storage: Storage
    /// The size of each dimension.
    @exclusivity(unchecked) public private(set) var shape: [Int]
    /// The distance in elements between neighbours along each dimension.
    @exclusivity(unchecked) public private(set) var strides: [Int]
    /// Where element `[0, 0, …]` sits in `storage`, in elements.
    @exclusivity(unchecked) private(set) var offset: Int
    /// The element type.
    @exclusivity(unchecked) public private(set) var dtype: DType

    /// A version counter of its own (`.data`'s); `nil` for the storage's, which views share,
    /// so that autograd can tell when a tensor it saved has changed.
    let separateVersion: VersionCounter?

    // Autograd state, guarded by `AutogradLocks` (see Tensor+Autograd.swift).
    @exclusivity(unchecked) var leafRequiresGrad = false { didSet { updateRequiresGradFlag() } }
    @exclusivity(unchecked) var storedGrad: Tensor?
    @exclusivity(unchecked) var storedGradFn: Node? { didSet { updateRequiresGradFlag() } }
    /// `leafRequiresGrad || storedGradFn != nil`, readable without a lock: every op asks.
    let requiresGradFlag = Atomic<Bool>(false)
    @exclusivity(unchecked) var outputNumber = 0
    @exclusivity(unchecked) var retainsGradient = false
    @exclusivity(unchecked) var hooks: [(Tensor) -> Tensor?] = []
    weak var gradAccumulator: AccumulateGrad?
    /// For a view recorded by autograd, the tensor whose memory it views, so that in-place
    /// changes to the view update the base's history too.
    @exclusivity(unchecked) var viewBase: Tensor?
    /// The exact value of a tensor written as a float literal (`x * 0.1`, `t[mask] = 0.1`):
    /// Swift may pick the tensor overload for a literal, and like a Python float it must
    /// round once, to the dtype the operation computes in, not first to float32.
    @exclusivity(unchecked) var floatLiteral: Double?
    /// Set on 0-dim tensors made from Swift numbers: they promote like Python scalars.
    @exclusivity(unchecked) var isWrappedNumber = false

    init(storage: Storage, shape: [Int], strides: [Int], offset: Int, dtype: DType, version: VersionCounter? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = dtype
        separateVersion = version
    }

    /// Allocates an uninitialized contiguous tensor.
    convenience init(uninitializedShape shape: [Int], dtype: DType, device: Device = .cpu) {
        self.init(uninitializedShape: shape, strides: Self.contiguousStrides(for: shape), dtype: dtype, device: device)
    }

    /// Allocates an uninitialized tensor with row-major `strides` computed by the caller
    /// (an operand's own, which saves building the array again on every small op).
    convenience init(uninitializedShape shape: [Int], strides: [Int], dtype: DType, device: Device = .cpu) {
        let count = shape.reduce(1, *)
        self.init(
            storage: Storage(byteCount: count * dtype.itemSize, device: device), shape: shape,
            strides: strides, offset: 0, dtype: dtype)
    }

    /// An uninitialized contiguous tensor shaped like this one.
    func uninitializedLike(dtype: DType) -> Tensor {
        Tensor(uninitializedShape: shape, strides: Tensor.contiguousStrides(forContiguous: shape, strides), dtype: dtype, device: device)
    }

    /// `strides` when they are exactly the row-major ones for `shape` (size-1 dimensions
    /// included), else a freshly computed row-major array.
    static func contiguousStrides(forContiguous shape: [Int], _ strides: [Int]) -> [Int] {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            if strides[axis] != expected { return contiguousStrides(for: shape) }
            expected *= Swift.max(shape[axis], 1)
        }
        return strides
    }

    /// Whether no other tensor (a view, an alias, `.data`) shares this tensor's memory.
    var isSoleTensorOnStorage: Bool { isKnownUniquelyReferenced(&storage) }

    /// Replaces this tensor's memory and layout with `other`'s (PyTorch's `set_data`).
    func setData(from other: Tensor) {
        storage = other.storage
        shape = other.shape
        strides = other.strides
        offset = other.offset
        dtype = other.dtype
    }

    /// Row-major strides for a shape.
    static func contiguousStrides(for shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= Swift.max(shape[axis], 1)
        }
        return strides
    }
}

// MARK: - Properties

extension Tensor {
    /// The number of dimensions.
    public var dim: Int { shape.count }

    /// The number of elements.
    public var numel: Int { shape.reduce(1, *) }

    /// The device that holds the tensor's memory.
    public var device: Device { storage.device }

    /// Whether the elements are laid out row-major without gaps (`is_contiguous()`).
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// The size of one dimension; negative dimensions count from the end.
    public func size(_ dim: Int) -> Int { shape[normalizedDim(dim)] }

    /// A typed pointer to element `[0, 0, …]`.
    @inline(__always) func elementPointer<E>(as type: E.Type) -> UnsafeMutablePointer<E> {
        storage.pointer(as: E.self) + offset
    }

    /// The bytes of element `[0, 0, …]`, whatever the dtype (`elementPointer(as: UInt8.self)`
    /// would count the offset in bytes, not in elements).
    var elementBytes: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage.pointer(as: UInt8.self)) + offset * dtype.itemSize }
}

extension Tensor {
    /// The counter of in-place modifications this tensor bumps: its storage's, shared by
    /// every view, unless it has one of its own (`.data`).
    var version: Version { Version(storage: storage, separate: separateVersion) }
}

/// A handle on a version counter; the common one lives inside `Storage`, so making a tensor
/// allocates no counter.
struct Version {
    let storage: Storage
    let separate: VersionCounter?

    var value: Int { separate?.value ?? storage.version.load(ordering: .relaxed) }

    func bump() {
        if let separate {
            separate.bump()
        } else {
            storage.version.add(1, ordering: .relaxed)
        }
    }
}

/// A counter of in-place modifications of its own, for `.data`, which PyTorch does not track.
final class VersionCounter: Sendable {
    private let count = Atomic<Int>(0)

    var value: Int { count.load(ordering: .relaxed) }

    func bump() { count.add(1, ordering: .relaxed) }
}
