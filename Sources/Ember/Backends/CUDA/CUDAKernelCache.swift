// The on-disk cache of compiled kernels: NVRTC takes about a second per module for cubins, so
// each machine compiles a module once (PyTorch's jiterator and CuPy do the same).

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compiled kernel images on disk, one file per cache key. Files are written to a temporary
/// name and renamed into place, so readers never see half a file, and carry a SHA-256 of their
/// contents, so a damaged file is ignored (and later overwritten) instead of handed to the
/// driver.
///
/// ```swift
/// let cache = CUDAKernelDiskCache(directory: "/tmp/kernels")
/// try cache.store(image, key: key)
/// cache.load(key: key)   // the image, or nil when absent or corrupt
/// ```
struct CUDAKernelDiskCache: Sendable {
    /// The folder holding the cache files.
    let directory: String

    /// The first bytes of every cache file; bump the digit when the format changes.
    static let magic = Array("EMBERKC1".utf8)
    /// Magic, 64 hex digits of key, payload length (little-endian UInt64), payload SHA-256.
    static let headerSize = magic.count + 64 + 8 + 32

    /// The cache folder for this process: `EMBER_KERNEL_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/ember/kernels`, else `~/.cache/ember/kernels`; nil when
    /// `EMBER_KERNEL_CACHE=0` turns the cache off or no home folder is known.
    static func standardDirectory(environment: [String: String], homeDirectory: String?) -> String? {
        if environment["EMBER_KERNEL_CACHE"] == "0" { return nil }
        if let explicit = environment["EMBER_KERNEL_CACHE_DIR"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return CUDALibrarySearch.join(xdg, "ember/kernels") }
        guard let home = homeDirectory, !home.isEmpty else { return nil }
        return CUDALibrarySearch.join(home, ".cache/ember/kernels")
    }

    /// The cache at the standard folder, or nil when caching is off.
    static var standard: CUDAKernelDiskCache? {
        let environment = ProcessInfo.processInfo.environment
        return standardDirectory(environment: environment, homeDirectory: environment["HOME"] ?? NSHomeDirectory())
            .map(CUDAKernelDiskCache.init(directory:))
    }

    /// The file for `key`.
    func path(for key: String) -> String { CUDALibrarySearch.join(directory, "\(key).kernel") }

    /// The image stored under `key`, or nil when there is none or the file fails validation.
    func load(key: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path(for: key)) else { return nil }
        return Self.decode([UInt8](data), key: key)
    }

    /// Writes `image` under `key` atomically: to a unique temporary file in the same folder
    /// (so the rename cannot cross file systems), then renamed over any old file.
    func store(_ image: [UInt8], key: String) throws(CUDAKernelCacheError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CUDAKernelCacheError(message: "cannot create \(directory): \(error)")
        }
        let temporary = CUDALibrarySearch.join(directory, ".\(key).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp")
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CUDAKernelCacheError(message: "cannot create \(temporary): errno \(errno)") }
        let bytes = Self.encode(image, key: key)
        var written = 0
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += count
            }
            return nil
        }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw CUDAKernelCacheError(message: "cannot write \(temporary): errno \(failure)")
        }
        guard rename(temporary, path(for: key)) == 0 else {
            let code = errno
            unlink(temporary)
            throw CUDAKernelCacheError(message: "cannot rename \(temporary) to \(path(for: key)): errno \(code)")
        }
    }

    /// A file's bytes: header, then the image.
    static func encode(_ image: [UInt8], key: String) -> [UInt8] {
        var bytes = magic
        bytes += Array(key.utf8.prefix(64)) + [UInt8](repeating: 0x20, count: max(0, 64 - key.utf8.count))
        withUnsafeBytes(of: UInt64(image.count).littleEndian) { bytes += $0 }
        bytes += SHA256.hash(image)
        bytes += image
        return bytes
    }

    /// The image in a file's bytes, or nil unless magic, key, length and checksum all match.
    static func decode(_ bytes: [UInt8], key: String) -> [UInt8]? {
        guard bytes.count >= headerSize, Array(bytes[0..<magic.count]) == magic else { return nil }
        let keyField = encode([], key: key)[magic.count..<magic.count + 64]
        guard bytes[magic.count..<magic.count + 64] == keyField else { return nil }
        var length: UInt64 = 0
        for (shift, byte) in bytes[magic.count + 64..<magic.count + 72].enumerated() { length |= UInt64(byte) << (8 * shift) }
        guard UInt64(bytes.count - headerSize) == length else { return nil }
        let image = Array(bytes[headerSize...])
        guard Array(bytes[magic.count + 72..<headerSize]) == SHA256.hash(image) else { return nil }
        return image
    }
}

/// Why a kernel could not be written to the disk cache (the compiler carries on without it).
struct CUDAKernelCacheError: Error, CustomStringConvertible {
    /// What failed, with the path and errno.
    let message: String
    var description: String { message }
}

/// SHA-256 (FIPS 180-4), for cache keys and file checksums: Foundation on Linux has no
/// CryptoKit, and a package dependency for one hash is not worth it.
enum SHA256 {
    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// The 32-byte digest of `message`.
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var state: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }

        var schedule = [UInt32](repeating: 0, count: 64)
        for chunk in stride(from: 0, to: padded.count, by: 64) {
            for i in 0..<16 {
                let base = chunk + 4 * i
                schedule[i] =
                    UInt32(padded[base]) << 24 | UInt32(padded[base + 1]) << 16 | UInt32(padded[base + 2]) << 8
                    | UInt32(padded[base + 3])
            }
            for i in 16..<64 {
                let s0 = rotate(schedule[i - 15], 7) ^ rotate(schedule[i - 15], 18) ^ (schedule[i - 15] >> 3)
                let s1 = rotate(schedule[i - 2], 17) ^ rotate(schedule[i - 2], 19) ^ (schedule[i - 2] >> 10)
                schedule[i] = schedule[i - 16] &+ s0 &+ schedule[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
            for i in 0..<64 {
                let s1 = rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)
                let choice = (e & f) ^ (~e & g)
                let t1 = h &+ s1 &+ choice &+ roundConstants[i] &+ schedule[i]
                let s0 = rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ majority
                (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (index, value) in [a, b, c, d, e, f, g, h].enumerated() { state[index] = state[index] &+ value }
        }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * $0)) } }
    }

    /// The digest as 64 lowercase hex digits.
    static func hexDigest(_ message: [UInt8]) -> String {
        hash(message).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }.joined()
    }

    @inline(__always) private static func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 {
        (value >> count) | (value << (32 - count))
    }
}
