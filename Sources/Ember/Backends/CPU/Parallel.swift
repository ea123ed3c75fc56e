import Foundation
import Synchronization
internal import CEmberKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits CPU work across cores.
///
/// ```swift
/// Parallel.forRanges(count: n, grain: 32_768) { range in for i in range { out[i] = a[i] + b[i] } }
/// ```
enum Parallel {
    /// The number of threads that share work at start: `EMBER_NUM_THREADS` when set, else the
    /// active processor count.
    static let defaultThreadCount: Int = {
        if let value = getenv("EMBER_NUM_THREADS").flatMap({ Int(String(cString: $0)) }), value > 0 {
            return min(value, maximumThreadCount)
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// The number of threads that share work now (``Ember/numThreads``).
    static var threadCount: Int { requestedThreadCount.load(ordering: .relaxed) }
    private static let requestedThreadCount = Atomic<Int>(defaultThreadCount)

    /// Splits later work across `count` threads, starting workers when the pool has too few.
    static func setThreadCount(_ count: Int) {
        WorkerPool.shared.startWorkers(upTo: count - 1)
        requestedThreadCount.store(count, ordering: .relaxed)
    }

    /// The most threads ``setThreadCount(_:)`` accepts.
    static let maximumThreadCount = 1024

    /// Elements per chunk below which splitting an elementwise loop costs more than it saves
    /// (PyTorch's `GRAIN_SIZE`).
    static let defaultGrain = 32_768

    /// Runs `body` over `0..<count` split into contiguous chunks, one per thread, when the work
    /// is at least `grain` items per chunk; otherwise runs it inline on the calling thread.
    @inline(__always)
    static func forRanges(count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threadCount, count / max(grain, 1))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // Each chunk touches its own elements only; the caller's state is not shared.
            nonisolated(unsafe) let chunkBody = body
            WorkerPool.shared.run(chunks: chunks) { chunk in
                chunkBody(count * chunk / chunks..<count * (chunk + 1) / chunks)
            }
        }
    }
}

/// Threads that stay awake between jobs, as OpenMP's do, so that a parallel op costs a few
/// microseconds to start instead of the ~40 µs of waking a parked thread.
///
/// A worker spins for `spinDuration` after each job before it parks on a condition variable, so
/// back-to-back ops find it awake. Each worker's chunk is offered in a slot that the worker and
/// the caller both try to take: when the host is busy and a worker is not running, the caller
/// takes the chunk itself rather than wait. One job runs at a time; a caller that finds the pool
/// busy (another thread's op, or a job started from inside a job) runs its chunks alone.
///
/// ```swift
/// WorkerPool.shared.run(chunks: 2) { chunk in print(chunk) }  // 0 here, 1 on a worker
/// ```
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Parallel.defaultThreadCount - 1)

    /// How long an idle worker keeps polling for the next job before it parks:
    /// `EMBER_SPIN_MICROSECONDS`, else 50 µs (OpenMP's `GOMP_SPINCOUNT` plays this part).
    static let spinDuration: Duration = .microseconds(
        getenv("EMBER_SPIN_MICROSECONDS").flatMap { Int(String(cString: $0)) } ?? 50)

    private enum Slot {
        static let empty = 0, offered = 1, taken = 2
    }

    /// Workers started; a job offers chunks to as many as there were when it began.
    private let workerCount = Atomic<Int>(0)
    /// Per worker (as many as there may ever be): whether its chunk of the current job is
    /// offered or already taken.
    private let slots: UnsafeMutablePointer<Atomic<Int>>
    /// Bumped for each job, so that waiting workers notice it.
    private let generation = Atomic<Int>(0)
    /// Chunks taken from slots whose run has finished.
    private let finished = Atomic<Int>(0)
    /// Held by the caller whose job owns the workers.
    private let busy = Atomic<Bool>(false)
    /// The current job. Written before its slots are offered and read only by whoever takes
    /// one, so it is never read after the caller has seen every taken chunk finish.
    private var job: ((Int) -> Void)?
    /// Parking for idle workers.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var parkedWorkers = 0

    private init(workers: Int) {
        let capacity = Parallel.maximumThreadCount - 1
        slots = .allocate(capacity: capacity)
        for worker in 0..<capacity { (slots + worker).initialize(to: Atomic(Slot.empty)) }
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
        startWorkers(upTo: workers)
    }

    /// Starts workers until there are `count`. A worker only ever touches its own slot, which no
    /// job offers until the count includes it, so jobs may run meanwhile.
    func startWorkers(upTo count: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let started = workerCount.load(ordering: .relaxed)
        for worker in started..<max(started, count) {
            let thread = Thread { [unowned self] in self.workerLoop(index: worker) }
            thread.name = "ember-worker-\(worker)"
            thread.start()
            workerCount.store(worker + 1, ordering: .releasing)
        }
    }

    /// Calls `body(chunk)` for each chunk in `0..<chunks`, on the workers and the calling thread,
    /// and returns when all have finished.
    func run(chunks: Int, _ body: @escaping (Int) -> Void) {
        let workers = workerCount.load(ordering: .acquiring)
        guard chunks > 1, workers > 0,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        // Worker i is offered chunk i + 1; the caller runs chunk 0 and any beyond the workers.
        let offered = min(chunks - 1, workers)
        job = body
        finished.store(0, ordering: .relaxed)
        for worker in 0..<offered { slots[worker].store(Slot.offered, ordering: .releasing) }
        generation.add(1, ordering: .releasing)
        pthread_mutex_lock(mutex)
        if parkedWorkers > 0 { pthread_cond_broadcast(wakeUp) }
        pthread_mutex_unlock(mutex)

        body(0)
        for chunk in stride(from: offered + 1, to: chunks, by: 1) { body(chunk) }
        for worker in 0..<offered where take(worker) {
            body(worker + 1)
            finished.add(1, ordering: .relaxed)
        }
        var polls = 0
        while finished.load(ordering: .acquiring) < offered {
            polls += 1
            if polls & 1023 == 0 { sched_yield() } else { ember_cpu_relax() }
        }
        job = nil
        busy.store(false, ordering: .releasing)
    }

    /// Claims worker `index`'s chunk of the current job if nobody has yet.
    private func take(_ index: Int) -> Bool {
        slots[index].compareExchange(expected: Slot.offered, desired: Slot.taken, ordering: .acquiring).exchanged
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            if take(index) {
                runTakenChunk(index + 1)
                finished.add(1, ordering: .releasing)
            }
        }
    }

    /// Runs one chunk of the current job. Not inlined, so that this thread's reference to the
    /// job is released before it reports the chunk finished: the caller's job must not outlive
    /// its `withoutActuallyEscaping` scope.
    @inline(never)
    private func runTakenChunk(_ chunk: Int) { job?(chunk) }

    /// Spins, then parks, until `generation` moves past `seen`; returns the new value.
    private func waitForJob(after seen: Int) -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.spinDuration
        var polls = 0
        while true {
            let current = generation.load(ordering: .acquiring)
            if current != seen { return current }
            polls += 1
            if polls & 255 != 0 {
                ember_cpu_relax()
                continue
            }
            if clock.now < deadline {
                sched_yield()  // let other runnable threads (a BLAS's, say) have the core
                continue
            }
            pthread_mutex_lock(mutex)
            parkedWorkers += 1
            while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(wakeUp, mutex) }
            parkedWorkers -= 1
            pthread_mutex_unlock(mutex)
        }
    }
}
