import Synchronization

/// PyTorch's print options (`torch.set_printoptions`), controlling how tensors are written.
///
/// ```swift
/// PrintOptions.current.precision = 2
/// let t: Tensor = [1.12345]
/// print(t)                                // tensor([1.12])
/// PrintOptions.current = PrintOptions()   // back to PyTorch's defaults
/// ```
public struct PrintOptions: Sendable, Equatable {
    /// Digits after the decimal point for floating-point elements.
    ///
    /// ```swift
    /// PrintOptions(precision: 2)   // tensor([1.12]) instead of tensor([1.1235])
    /// ```
    public var precision = 4

    /// The element count above which tensors are summarized with `...`.
    ///
    /// ```swift
    /// PrintOptions(threshold: .max)   // never summarize (PyTorch's "full" profile)
    /// ```
    public var threshold = 1000

    /// How many items a summarized dimension keeps at its start and at its end.
    ///
    /// ```swift
    /// PrintOptions(threshold: 5, edgeItems: 2)   // arange(10) prints tensor([0, 1,  ..., 8, 9])
    /// ```
    public var edgeItems = 3

    /// The column width that rows of elements (and the suffixes after them) wrap at.
    ///
    /// ```swift
    /// PrintOptions(lineWidth: 120)
    /// ```
    public var lineWidth = 80

    /// Forces scientific notation on (`true`) or off (`false`); `nil` lets the values decide.
    ///
    /// ```swift
    /// PrintOptions(sciMode: false)   // [1e-5, 1e6] prints as tensor([    0.0000, 1000000.0000])
    /// ```
    public var sciMode: Bool? = nil

    /// Options with PyTorch's defaults except for the ones given.
    ///
    /// ```swift
    /// let compact = PrintOptions(precision: 2, edgeItems: 2)
    /// ```
    public init(
        precision: Int = 4, threshold: Int = 1000, edgeItems: Int = 3, lineWidth: Int = 80, sciMode: Bool? = nil
    ) {
        self.precision = precision
        self.threshold = threshold
        self.edgeItems = edgeItems
        self.lineWidth = lineWidth
        self.sciMode = sciMode
    }

    /// Printing is reachable from any thread, so the process-wide options sit behind a lock.
    private static let storage = Mutex(PrintOptions())

    /// The options every tensor description uses, shared by the whole process.
    ///
    /// ```swift
    /// PrintOptions.current.sciMode = true
    /// let t: Tensor = [1.0, 2.0]
    /// print(t)   // tensor([1.0000e+00, 2.0000e+00])
    /// ```
    public static var current: PrintOptions {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
