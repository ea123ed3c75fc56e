import Synchronization

/// Where a GPU's index kernels record an index out of range, and its report when the host
/// next waits for that GPU.
///
/// An index tensor on the GPU is checked by the kernel that reads it, as in PyTorch, so that
/// `gather` or `index_select` never make the host wait for the GPU. A kernel that meets an index
/// out of range skips that element and records the first such index in a small block of device
/// memory (`{op, index, dimension, size}`), where PyTorch's device-side assert would leave the
/// GPU unusable. The host reads the record the next time it waits for the GPU anyway (a copy to
/// the host such as `item()` or printing, `Device.synchronize()`, the end of
/// `withErrorChecking`), and only when a kernel checked indices since: that read reports the
/// error, so no value computed after it is ever seen.
///
/// ```swift
/// let y = x.gather(dim: 0, index: Tensor([7], device: .cuda(0)))   // no wait, no error yet
/// print(y)   // index 7 is out of bounds for dimension 0 with size 3 (found by gather on cuda:0 …)
/// ```
enum CUDAIndexErrors {
    private struct Record {
        let backend: any CUDADeviceBackend
        let address: CUdeviceptr
        /// Whether a kernel has checked indices since the host last read the record.
        var unread: Bool
    }

    /// One record per backend (held, so that its identity stays unique).
    private static let records = Mutex<[ObjectIdentifier: Record]>([:])
    private static let byteCount = 4 * MemoryLayout<Int64>.size

    /// The record's device address, for a kernel about to run on `backend`.
    static func address(on backend: any CUDADeviceBackend) throws(CUDAError) -> CUdeviceptr {
        let key = ObjectIdentifier(backend)
        if let existing = records.withLock({ $0[key]?.address }) { return existing }
        let address = try backend.allocate(byteCount: byteCount)
        try clear(address, on: backend)
        let kept = records.withLock { records in
            if let raced = records[key] { return raced.address }
            records[key] = Record(backend: backend, address: address, unread: false)
            return address
        }
        if kept != address { backend.free(address) }
        return kept
    }

    /// Notes that a kernel just launched on `backend` checks indices nobody checked before, so
    /// that the next synchronization reads the record. After the launch, not before: a read
    /// from another thread in between would find the record empty and take the note with it.
    static func markUnread(on backend: any CUDADeviceBackend) {
        _ = records.withLock { $0[ObjectIdentifier(backend)]?.unread = true }
    }

    /// Reports the index error a kernel on `backend` recorded since the last look, if any, and
    /// clears the record. Errors of the device itself are left to the work that meets them.
    static func reportRecorded(on backend: any CUDADeviceBackend) {
        let key = ObjectIdentifier(backend)
        let address = records.withLock { records -> CUdeviceptr? in
            guard let record = records[key], record.unread else { return nil }
            records[key]?.unread = false
            return record.address
        }
        guard let address else { return }
        let values = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
        defer { values.deallocate() }
        do throws(CUDAError) {
            try backend.copy(toHost: values, from: address, byteCount: byteCount)
            guard values[0] != 0 else { return }
            try clear(address, on: backend)
        } catch {
            return
        }
        guard let op = IndexingOp(rawValue: Int32(truncatingIfNeeded: values[0])) else { return }
        reportError(
            op.outOfRangeMessage(Int(values[1]), axis: Int(values[2]), size: Int(values[3]))
                + " (found by \(op.name) on \(backend.device), whose kernels check indices as they run and report at the next synchronization)")
    }

    private static func clear(_ address: CUdeviceptr, on backend: any CUDADeviceBackend) throws(CUDAError) {
        let zeros = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
        defer { zeros.deallocate() }
        zeros.initialize(repeating: 0, count: 4)
        try backend.copy(toDevice: address, from: zeros, byteCount: byteCount)
    }

    /// `reportRecorded(on:)` for every GPU with a record to read.
    static func reportRecordedOnAllDevices() {
        let unread = records.withLock { records in records.values.filter(\.unread).map(\.backend) }
        for backend in unread { reportRecorded(on: backend) }
    }
}
