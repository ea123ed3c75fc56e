/// Whether operations are recorded for autograd in the current task (`torch.is_grad_enabled()`).
///
/// Task-local, so one task's `noGrad` never affects another thread or task.
public enum GradMode {
    /// Whether new operations record a backward graph.
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording operations for autograd (`with torch.no_grad():`).
///
/// ```swift
/// noGrad { w -= learningRate * w.grad! }
/// ```
public func noGrad<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradMode.$isEnabled.withValue(false, operation: body)
}

/// Runs `body` with operations recorded for autograd, even inside `noGrad` (`torch.enable_grad()`).
public func enableGrad<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradMode.$isEnabled.withValue(true, operation: body)
}
