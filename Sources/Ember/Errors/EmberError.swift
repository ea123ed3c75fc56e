/// A misuse of the tensor API (a shape, dtype, device or index error), with PyTorch's message.
///
/// Outside `withErrorChecking` such a misuse stops the program with the message; inside it
/// becomes this error.
///
/// ```swift
/// do {
///     try withErrorChecking { _ = Tensor.zeros(2, 3).mm(Tensor.zeros(2, 3)) }
/// } catch let error as EmberError {
///     print(error.message)   // mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)
/// }
/// ```
public struct EmberError: Error, CustomStringConvertible, Sendable {
    /// PyTorch's words for the failure.
    public let message: String
    /// The message.
    public var description: String { message }
}

/// Runs `body`, turning every tensor misuse inside it into a thrown `EmberError` so the
/// process goes on (servers and notebooks must survive bad input).
///
/// The first misuse is thrown when `body` returns; operations after it produce placeholder
/// tensors whose values mean nothing, so `body` should not act on its results before returning.
/// An index that a GPU kernel found out of range is among them: the end of `body` looks for one.
///
/// ```swift
/// let result = try? withErrorChecking { a.mm(b) }   // nil when the shapes don't fit
/// ```
public func withErrorChecking<Result>(_ body: () throws -> Result) throws -> Result {
    let scope = ErrorScope()
    let result = try ErrorScope.$current.withValue(scope) {
        let result = try body()
        CUDAIndexErrors.reportRecordedOnAllDevices()  // an index a GPU kernel found out of range in `body`
        return result
    }
    if let error = scope.firstError { throw error }
    return result
}

/// The state of one `withErrorChecking` call: the first error it saw.
final class ErrorScope: @unchecked Sendable {
    @TaskLocal static var current: ErrorScope?
    private let lock = Lock()
    private var error: EmberError?

    var firstError: EmberError? { lock.withLock { error } }

    func record(_ message: String) {
        lock.withLock {
            if error == nil { error = EmberError(message: message) }
        }
    }
}

/// Reports a misuse: throws it out of the enclosing `withErrorChecking`, or stops the program.
///
/// Inside a checking scope this returns, and the caller must go on with a harmless placeholder.
/// `fatalError` rather than `precondition`, whose message optimized builds drop.
func reportError(_ message: @autoclosure () -> String) {
    if let scope = ErrorScope.current {
        scope.record(message())
    } else {
        fatalError(message())
    }
}
