import Foundation
import Testing

@testable import Ember

/// A fresh folder under the system's temporary directory, removed by the caller.
func makeTemporaryFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ember-cuda-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

@Suite struct CUDAKernelCacheTests {
    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hexDigest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hexDigest([UInt8](repeating: 0x61, count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func cacheKeyCoversEverythingThatShapesTheImage() {
        let options = NVRTCCompiler.options(for: .cubin(90))
        let key = NVRTCCompiler.cacheKey(source: "s", options: options, nvrtcVersion: (13, 0), target: .cubin(90))
        #expect(key.count == 64 && key.allSatisfy(\.isHexDigit))
        #expect(key == NVRTCCompiler.cacheKey(source: "s", options: options, nvrtcVersion: (13, 0), target: .cubin(90)))
        let variants = [
            NVRTCCompiler.cacheKey(source: "t", options: options, nvrtcVersion: (13, 0), target: .cubin(90)),
            NVRTCCompiler.cacheKey(source: "s", options: options + ["-lineinfo"], nvrtcVersion: (13, 0), target: .cubin(90)),
            NVRTCCompiler.cacheKey(source: "s", options: options, nvrtcVersion: (13, 1), target: .cubin(90)),
            NVRTCCompiler.cacheKey(source: "s", options: options, nvrtcVersion: (13, 0), target: .cubin(100)),
            NVRTCCompiler.cacheKey(source: "s", options: options, nvrtcVersion: (13, 0), target: .ptx(90)),
            // Field boundaries matter: "a" + "bc" is not "ab" + "c".
            NVRTCCompiler.cacheKey(source: "s", options: ["a", "bc"], nvrtcVersion: (13, 0), target: .cubin(90)),
            NVRTCCompiler.cacheKey(source: "s", options: ["ab", "c"], nvrtcVersion: (13, 0), target: .cubin(90)),
        ]
        #expect(Set(variants + [key]).count == variants.count + 1)
        #expect(options == ["--gpu-architecture=sm_90", "-default-device", "--std=c++17", "--diag-suppress=186"])
    }

    @Test func storeAndLoadRoundTripAtomically() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cache = CUDAKernelDiskCache(directory: folder + "/nested/kernels")  // created on first store
        let key = SHA256.hexDigest(Array("module".utf8))
        let image = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(cache.load(key: key) == nil)
        try cache.store(image, key: key)
        #expect(cache.load(key: key) == image)
        // Overwriting replaces the file; no temporary files are left behind.
        try cache.store(Array(image.reversed()), key: key)
        #expect(cache.load(key: key) == Array(image.reversed()))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder + "/nested/kernels")
        #expect(files == ["\(key).kernel"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: cache.path(for: key))).count == CUDAKernelDiskCache.headerSize + image.count)
    }

    @Test func corruptFilesAreIgnored() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cache = CUDAKernelDiskCache(directory: folder)
        let key = SHA256.hexDigest(Array("k".utf8)), image = [UInt8](repeating: 7, count: 300)
        try cache.store(image, key: key)
        let path = cache.path(for: key)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))

        func write(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        var flipped = good
        flipped[flipped.count - 10] ^= 0x40  // a payload bit: the checksum catches it
        try write(flipped)
        #expect(cache.load(key: key) == nil)
        try write(Array(good.dropLast()))  // truncated
        #expect(cache.load(key: key) == nil)
        try write(Array(good.prefix(20)))  // shorter than a header
        #expect(cache.load(key: key) == nil)
        var badMagic = good
        badMagic[0] = 0
        try write(badMagic)
        #expect(cache.load(key: key) == nil)
        // A valid file under another key's name (copied or renamed) is not that key's image.
        let other = SHA256.hexDigest(Array("other".utf8))
        try FileManager.default.copyItem(atPath: path, toPath: cache.path(for: other))
        #expect(cache.load(key: other) == nil)
        // Storing again repairs the entry.
        try cache.store(image, key: key)
        #expect(cache.load(key: key) == image)
    }

    @Test func cacheFolderFollowsTheEnvironment() {
        let standard = CUDAKernelDiskCache.standardDirectory
        #expect(standard([:], "/home/u") == "/home/u/.cache/ember/kernels")
        #expect(standard(["XDG_CACHE_HOME": "/xdg"], "/home/u") == "/xdg/ember/kernels")
        #expect(standard(["EMBER_KERNEL_CACHE_DIR": "/k", "XDG_CACHE_HOME": "/xdg"], "/home/u") == "/k")
        #expect(standard(["EMBER_KERNEL_CACHE": "0", "EMBER_KERNEL_CACHE_DIR": "/k"], "/home/u") == nil)
        #expect(standard([:], nil) == nil)
    }

    @Test func compileTargetSelection() throws {
        let nvrtc13 = [75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121]
        // A GPU NVRTC knows: a cubin, even from a newer minor than the driver.
        #expect(try CUDACompileTarget.select(computeCapability: 90, nvrtcVersion: (13, 5), supportedArchitectures: nvrtc13, driverVersion: 13000) == .cubin(90))
        // A GPU newer than NVRTC: PTX for the newest architecture below it, if the driver takes it.
        #expect(try CUDACompileTarget.select(computeCapability: 130, nvrtcVersion: (13, 0), supportedArchitectures: nvrtc13, driverVersion: 13020) == .ptx(121))
        #expect(throws: CUDAError.self) {
            try CUDACompileTarget.select(computeCapability: 130, nvrtcVersion: (13, 5), supportedArchitectures: nvrtc13, driverVersion: 13000)
        }
        // NVRTC of a newer major than the driver: nothing loads.
        do throws(CUDAError) {
            _ = try CUDACompileTarget.select(computeCapability: 90, nvrtcVersion: (13, 0), supportedArchitectures: nvrtc13, driverVersion: 12080)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("NVRTC 13.0 is newer than the driver's CUDA 12.8"))
        }
        // A GPU older than NVRTC supports.
        #expect(throws: CUDAError.self) {
            try CUDACompileTarget.select(computeCapability: 70, nvrtcVersion: (13, 0), supportedArchitectures: nvrtc13, driverVersion: 13000)
        }
        #expect(CUDACompileTarget.cubin(90).architectureOption == "--gpu-architecture=sm_90")
        #expect(CUDACompileTarget.ptx(90).architectureOption == "--gpu-architecture=compute_90")
    }
}
