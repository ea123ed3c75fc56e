/// Which matrix multiply the CPU backend uses: `"OpenBLAS (libopenblas.so.0)"`, `"Accelerate"`
/// or `"built-in"`, found at run time.
///
/// ```swift
/// print(Ember.gemmImplementation)
/// ```
public var gemmImplementation: String { GEMM.implementation }
