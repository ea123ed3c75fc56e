// The CPU backend's run-time settings, as PyTorch's `torch.set_num_threads` and
// `torch.backends` flags are: process-wide, and read by each op as it starts.

/// The number of threads CPU ops split their work across (`torch.get_num_threads()`):
/// `EMBER_NUM_THREADS` at start when set, else the processor count.
///
/// ```swift
/// print(Ember.numThreads)  // 2
/// ```
public var numThreads: Int { Parallel.threadCount }

/// Makes later CPU ops split their work across `count` threads (`torch.set_num_threads`); 1
/// runs each op on the thread that calls it. More threads than processors are allowed, as in
/// PyTorch, though they only take turns on the cores.
///
/// ```swift
/// Ember.setNumThreads(1)  // time a single core
/// ```
public func setNumThreads(_ count: Int) {
    guard count > 0 else {
        reportError("set_num_threads expects a positive integer")
        return
    }
    guard count <= Parallel.maximumThreadCount else {
        reportError("set_num_threads: at most \(Parallel.maximumThreadCount) threads, got \(count)")
        return
    }
    Parallel.setThreadCount(count)
}

/// Whether CPU matrix products run the BLAS library found at run time rather than Ember's
/// built-in kernel, as `torch.backends.mkldnn.enabled` switches PyTorch's oneDNN paths.
///
/// True by default when a library loads, except an OpenBLAS whose kernels multiply-add in
/// narrower vectors than the built-in kernel does on this CPU, which it outruns (OpenBLAS 0.3.21
/// runs its 256-bit Haswell kernels on Zen 5 and its 128-bit Prescott ones on an Emerald Rapids
/// Xeon, neither of which it knows), unless `EMBER_BLAS` names it. `EMBER_BLAS=builtin` keeps
/// the library from loading at all.
///
/// ```swift
/// Ember.blasEnabled = false  // the built-in AVX2/AVX-512 kernel
/// ```
public var blasEnabled: Bool {
    get { GEMM.blasEnabled.load(ordering: .relaxed) }
    set { GEMM.blasEnabled.store(newValue, ordering: .relaxed) }
}

/// Which matrix multiply CPU products use: `"OpenBLAS 0.3.21 (libopenblas.so.0, Haswell
/// kernels)"`, `"Accelerate"` or `"built-in"`, found at run time (`"built-in"` too while
/// ``blasEnabled`` is false).
///
/// ```swift
/// print(Ember.gemmImplementation)
/// ```
public var gemmImplementation: String { GEMM.implementation }

/// The BLAS library found at run time, whether or not ``blasEnabled`` has products run it;
/// nil when none loads.
///
/// ```swift
/// if let blas = Ember.blasLibrary { print("\(blas) found; products run \(Ember.gemmImplementation)") }
/// ```
public var blasLibrary: String? { BLASLibrary.shared?.name }
