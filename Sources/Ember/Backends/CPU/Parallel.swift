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
        WorkerPool.shared.run(count: count, chunks: chunks, body)
    }
}

/// Threads that stay awake between jobs, as OpenMP's do, so that a parallel op costs well
/// under a microsecond to start instead of the ~40 µs of waking a parked thread.
///
/// A worker spins for `spinDuration` after each job before it parks on a condition variable, so
/// back-to-back ops find it awake. Each worker has a mailbox of its own, alone on its cache
/// lines, that carries the whole offer (the job's serial, its size and where its body is): a
/// worker sees a job in one transfer of that line from the caller's core, and nothing else it
/// polls is written by anyone else, which halved the pool's cost a job on this 2-core host
/// (~810–930 → ~400–570 ns median over a 1 µs chunk each) against a pool whose workers polled one
/// shared line and read the job from a heap-allocated closure. The caller and the worker both
/// try to claim a worker's chunk: when the host is busy and a worker is not running, the caller
/// takes the chunk itself rather than wait. One job runs at a time; a caller that finds the pool
/// busy (another thread's op, or a job started from inside a job) runs its chunks alone.
///
/// ```swift
/// WorkerPool.shared.run(count: 10, chunks: 2) { range in print(range) }  // 0..<5 here, 5..<10 on a worker
/// ```
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Parallel.defaultThreadCount - 1)

    /// How long an idle worker keeps polling for the next job before it parks:
    /// `EMBER_SPIN_MICROSECONDS`, else 300 µs (OpenMP's `GOMP_SPINCOUNT` plays this part; GNU
    /// OpenMP's default spins for a similar time). Long enough to outlast the serial stretch of a
    /// training step between two large products: in the seed's custom-Function step that stretch
    /// (the small ops of the forward and backward) took ~90 µs on the Emerald Rapids host, so with
    /// 50 µs the worker parked every step and woke ~50 µs into the next product; alternating
    /// processes, 300 µs took the autograd and custom steps' medians from 255–304 and 269–295 µs
    /// to 233–240 and 246–257.
    static let spinDuration: Duration = .microseconds(
        getenv("EMBER_SPIN_MICROSECONDS").flatMap { Int(String(cString: $0)) } ?? 300)

    /// What the caller and one worker share about the current job.
    private struct Mailbox: ~Copyable {
        /// `serial << 2 | phase`: the last job offered to this worker, and whether its chunk is
        /// still on offer or taken (by the worker or the caller).
        let state = Atomic<Int>(0)
        /// The serial of the last job whose chunk here has finished.
        let finished = Atomic<Int>(0)
        /// The job: the address of its body, a `(Range<Int>) -> Void` on the caller's stack, and
        /// the split (the worker computes its own range).
        let body = Atomic<Int>(0)
        let count = Atomic<Int>(0)
        let chunks = Atomic<Int>(0)
    }
    private enum Phase {
        static let offered = 1, taken = 2
    }
    /// Two cache lines a mailbox: neighbouring lines are fetched in pairs.
    private static let mailboxStride = 128

    private let mailboxes: UnsafeMutableRawPointer
    /// Workers started; a job offers chunks to as many as there were when it began.
    private let workerCount = Atomic<Int>(0)
    /// Held by the caller whose job owns the workers.
    private let busy = Atomic<Bool>(false)
    /// The current job's number; changed only by the caller holding `busy`.
    private var serial = 0
    /// Parking for idle workers.
    private let parkedWorkers = Atomic<Int>(0)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init(workers: Int) {
        let capacity = Parallel.maximumThreadCount - 1
        mailboxes = .allocate(byteCount: capacity * Self.mailboxStride, alignment: Self.mailboxStride)
        for worker in 0..<capacity {
            (mailboxes + worker * Self.mailboxStride).bindMemory(to: Mailbox.self, capacity: 1).initialize(to: Mailbox())
        }
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wakeUp, nil)
        startWorkers(upTo: workers)
    }

    @inline(__always)
    private func mailbox(_ worker: Int) -> UnsafeMutablePointer<Mailbox> {
        (mailboxes + worker * Self.mailboxStride).assumingMemoryBound(to: Mailbox.self)
    }

    /// Starts workers until there are `count`. A worker only ever touches its own mailbox, which
    /// no job offers until the count includes it, so jobs may run meanwhile.
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

    /// Calls `body` on each of `chunks` contiguous parts of `0..<count`, on the workers and the
    /// calling thread, and returns when all have finished.
    func run(count: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
        @inline(__always) func part(_ chunk: Int) -> Range<Int> { count * chunk / chunks..<count * (chunk + 1) / chunks }
        let workers = workerCount.load(ordering: .acquiring)
        guard chunks > 1, workers > 0,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for chunk in 0..<chunks { body(part(chunk)) }
            return
        }
        serial += 1
        let serial = serial, offer = serial << 2 | Phase.offered, taken = serial << 2 | Phase.taken
        // Worker i is offered chunk i + 1; the caller runs chunk 0 and any beyond the workers.
        let offered = min(chunks - 1, workers)
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { body in
                for worker in 0..<offered {
                    let mailbox = self.mailbox(worker)
                    mailbox.pointee.body.store(Int(bitPattern: body), ordering: .relaxed)
                    mailbox.pointee.count.store(count, ordering: .relaxed)
                    mailbox.pointee.chunks.store(chunks, ordering: .relaxed)
                    mailbox.pointee.state.store(offer, ordering: .releasing)
                }
                // Pairs with a parking worker's count-then-check (`waitForOffer`).
                atomicMemoryFence(ordering: .sequentiallyConsistent)
                if parkedWorkers.load(ordering: .relaxed) > 0 {
                    pthread_mutex_lock(mutex)
                    pthread_cond_broadcast(wakeUp)
                    pthread_mutex_unlock(mutex)
                }

                body.pointee(part(0))
                for chunk in stride(from: offered + 1, to: chunks, by: 1) { body.pointee(part(chunk)) }
                for worker in 0..<offered {
                    let mailbox = self.mailbox(worker)
                    // Loaded first: a failed compare-exchange would still pull the line from the worker.
                    if mailbox.pointee.state.load(ordering: .relaxed) == offer,
                        mailbox.pointee.state.compareExchange(expected: offer, desired: taken, ordering: .acquiring).exchanged
                    {
                        body.pointee(part(worker + 1))
                        mailbox.pointee.finished.store(serial, ordering: .relaxed)
                    }
                }
                for worker in 0..<offered {
                    var polls = 0
                    while mailbox(worker).pointee.finished.load(ordering: .acquiring) != serial {
                        polls += 1
                        if polls & 1023 == 0 { sched_yield() } else { ember_cpu_relax() }
                    }
                }
            }
        }
        busy.store(false, ordering: .releasing)
    }

    private func workerLoop(index: Int) {
        let mailbox = self.mailbox(index)
        var seen = 0
        while true {
            let offer = waitForOffer(mailbox, after: seen)
            seen = offer >> 2
            if mailbox.pointee.state.compareExchange(expected: offer, desired: seen << 2 | Phase.taken, ordering: .acquiring).exchanged {
                runChunk(index + 1, of: mailbox)
                mailbox.pointee.finished.store(seen, ordering: .releasing)
            }
        }
    }

    /// Runs one chunk of the mailbox's job. Not inlined, so that any reference this thread takes
    /// to the body is released before it reports the chunk finished: the body must not outlive
    /// the caller's `withoutActuallyEscaping` scope.
    @inline(never)
    private func runChunk(_ chunk: Int, of mailbox: UnsafeMutablePointer<Mailbox>) {
        let count = mailbox.pointee.count.load(ordering: .relaxed), chunks = mailbox.pointee.chunks.load(ordering: .relaxed)
        let body = UnsafePointer<(Range<Int>) -> Void>(bitPattern: mailbox.pointee.body.load(ordering: .relaxed))!
        body.pointee(count * chunk / chunks..<count * (chunk + 1) / chunks)
    }

    /// Spins, then parks, until the mailbox offers a job after serial `seen`; returns its state.
    private func waitForOffer(_ mailbox: UnsafeMutablePointer<Mailbox>, after seen: Int) -> Int {
        @inline(__always) func isNewOffer(_ state: Int) -> Bool { state & 3 == Phase.offered && state >> 2 != seen }
        let clock = ContinuousClock()
        let deadline = clock.now + Self.spinDuration
        var polls = 0
        while true {
            let state = mailbox.pointee.state.load(ordering: .acquiring)
            if isNewOffer(state) { return state }
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
            parkedWorkers.add(1, ordering: .sequentiallyConsistent)
            while !isNewOffer(mailbox.pointee.state.load(ordering: .sequentiallyConsistent)) { pthread_cond_wait(wakeUp, mutex) }
            parkedWorkers.subtract(1, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
        }
    }
}
