import Foundation
import Testing

@testable import Ember

/// A machine described by folder listings, for building search paths without touching disk.
private func environment(
    _ variables: [String: String] = [:], folders: [String: [String]] = [:], files: Set<String> = [],
    home: String? = "/home/user", currentDirectory: String = "/work/project"
) -> CUDASearchEnvironment {
    CUDASearchEnvironment(
        variables: variables, currentDirectory: currentDirectory, homeDirectory: home,
        listDirectory: { folders[$0] ?? [] }, fileExists: { files.contains($0) })
}

private func paths(_ candidates: [CUDALibrarySearch.Candidate]) -> [String] {
    candidates.map {
        switch $0 {
        case .path(let path): path
        case .soname(let soname): "soname:" + soname
        }
    }
}

@Suite struct CUDALibrarySearchTests {
    @Test func nvrtcSearchOrder() {
        let env = environment(
            ["EMBER_CUDA_LIBRARY_PATH": "/opt/a::/opt/b", "EMBER_NVRTC_PATH": "/x", "VIRTUAL_ENV": "/venv"],
            folders: [
                "/venv/lib": ["python3.9", "python3.12", "site-packages-not-python"],
                "/home/user/.local/lib": ["python3.11"],
                "/usr/local/lib": ["python3.10", "pkgconfig"],
            ])
        let found = paths(CUDALibrarySearch.candidates(for: .nvrtc, in: env))
        let expectedPrefix = [
            "/opt/a/libnvrtc.so.13", "/opt/a/libnvrtc.so.12", "/opt/b/libnvrtc.so.13", "/opt/b/libnvrtc.so.12",
            "/x/libnvrtc.so.13", "/x/libnvrtc.so.12",
            "/x/nvidia/cu13/lib/libnvrtc.so.13", "/x/nvidia/cu13/lib/libnvrtc.so.12",
            "/x/nvidia/cuda_nvrtc/lib/libnvrtc.so.13", "/x/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
            "soname:libnvrtc.so.13", "soname:libnvrtc.so.12",
            "/work/project/.nvrtc/nvidia/cu13/lib/libnvrtc.so.13",
        ]
        #expect(Array(found.prefix(expectedPrefix.count)) == expectedPrefix)
        // Newest Python first within a prefix; the user's, then the system's site-packages.
        let venv312 = found.firstIndex(of: "/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13")
        let venv39 = found.firstIndex(of: "/venv/lib/python3.9/site-packages/nvidia/cu13/lib/libnvrtc.so.13")
        let local = found.firstIndex(of: "/home/user/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12")
        let system = found.firstIndex(of: "/usr/local/lib/python3.10/dist-packages/nvidia/cu13/lib/libnvrtc.so.13")
        let debian = found.firstIndex(of: "/usr/lib/python3/dist-packages/nvidia/cu13/lib/libnvrtc.so.13")
        let toolkit = found.firstIndex(of: "/usr/local/cuda/lib64/libnvrtc.so.13")
        let target = found.firstIndex(of: "/usr/local/cuda/targets/\(CUDALibrarySearch.toolkitTarget)/lib/libnvrtc.so.12")
        let order = [venv312, venv39, local, system, debian, toolkit, target]
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
        #expect(found.last == "/usr/local/cuda/targets/\(CUDALibrarySearch.toolkitTarget)/lib/libnvrtc.so.12")
        #expect(Set(found).count == found.count)
    }

    @Test func driverIsNeverSearchedInWheelsOrStubs() {
        let env = environment(
            ["EMBER_CUDA_LIBRARY_PATH": "/drivers", "VIRTUAL_ENV": "/venv", "CUDA_HOME": "/cuda"],
            folders: ["/venv/lib": ["python3.12"]])
        let found = paths(CUDALibrarySearch.candidates(for: .driver, in: env))
        #expect(found == ["/drivers/libcuda.so.1", "soname:libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1"])
        #expect(!found.contains { $0.contains("stubs") || $0.hasSuffix("libcuda.so") })
    }

    @Test func cublasUsesItsOwnWheelFolderAndToolkitHome() {
        let env = environment(["CUDA_HOME": "/opt/cuda-13.0"], home: nil)
        let found = paths(CUDALibrarySearch.candidates(for: .cublas, in: env))
        #expect(found.contains("/work/project/.nvrtc/nvidia/cublas/lib/libcublas.so.12"))
        #expect(found.contains("/work/project/.nvrtc/nvidia/cu13/lib/libcublas.so.13"))
        #expect(found.contains("/opt/cuda-13.0/lib64/libcublas.so.13"))
        #expect(!found.contains { $0.contains("EMBER_NVRTC_PATH") || $0.contains("cuda_nvrtc") })
        #expect(found.firstIndex(of: "/opt/cuda-13.0/lib64/libcublas.so.13")! < found.firstIndex(of: "/usr/local/cuda/lib64/libcublas.so.13")!)
    }

    @Test func wheelRootsStartWithTheProjectLocalInstall() {
        let env = environment(["CONDA_PREFIX": "/conda"], folders: ["/conda/lib": ["python3.11"]], currentDirectory: "/repo/")
        let roots = CUDALibrarySearch.wheelRoots(in: env)
        #expect(roots.first == "/repo/.nvrtc")
        #expect(roots.contains("/conda/lib/python3.11/site-packages"))
        #expect(roots.last == "/usr/lib/python3/dist-packages")
    }

    @Test func pathListsDropEmptyEntries() {
        #expect(CUDALibrarySearch.pathList("::/a::/b:") == ["/a", "/b"])
        #expect(CUDALibrarySearch.pathList(nil) == [])
    }

    /// A failed search names every candidate: the ones that exist with dlopen's reason, and
    /// the ones that don't.
    @Test func loadFailureSaysWhatWasSearched() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ember-cuda-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fake = folder + "/libnvrtc.so.13"
        try "not a library".write(toFile: fake, atomically: true, encoding: .utf8)

        var env = CUDASearchEnvironment.current
        env.variables["EMBER_NVRTC_PATH"] = folder
        // Reject whatever does load, so the outcome is the same on machines with NVRTC.
        let outcome = Result { () throws(CUDAError) in
            try CUDALibraryLoader.load(.nvrtc, environment: env) { (library: CUDASharedLibrary) throws(CUDAError) -> Int in
                throw .missingSymbols(library: library.name, path: library.name, symbols: ["rejected by the test"])
            }
        }
        guard case .failure(.libraryUnavailable(let report)) = outcome else {
            Issue.record("expected a load report, got \(outcome)")
            return
        }
        #expect(report.library == .nvrtc)
        let fakeAttempt = try #require(report.attempts.first { $0.candidate == fake })
        #expect(fakeAttempt.failure != nil)  // dlopen's "invalid ELF header" or similar
        #expect(report.attempts.contains { $0.candidate == "\(folder)/nvidia/cu13/lib/libnvrtc.so.13" && $0.failure == nil })
        #expect(report.attempts.contains { $0.candidate.hasPrefix("libnvrtc.so.13") })
        let text = report.description
        #expect(text.hasPrefix("NVRTC could not be loaded."))
        #expect(text.contains(fake))
        #expect(text.contains("/usr/local/cuda/lib64/libnvrtc.so.13"))
        #expect(text.contains("pip install nvidia-cuda-nvrtc"))
    }
}

@Suite struct CUDADeviceTests {
    /// Without a driver (this CI), the count is 0 and asking for it does not crash; with one,
    /// the count is whatever the driver reports.
    @Test func deviceCountIsZeroWithoutADriver() {
        let count = CUDA.deviceCount
        #expect(count >= 0)
        if (try? CUDA.driver()) == nil {
            #expect(count == 0)
            #expect(CUDA.driverVersion == nil)
            #expect(CUDA.diagnostics.contains("libcuda.so.1"))
        }
        print("CUDA diagnostics:\n\(CUDA.diagnostics)")
    }

    @Test func stickyErrorsPoisonTheDevice() throws {
        let health = CUDADeviceHealth(device: 0)
        let names: (Int32) -> (name: String, message: String) = { (CUDAResultCode.fallbackNames[$0] ?? "?", "message") }
        #expect(throws: CUDAError.self) { try health.check(CUDAResultCode.outOfMemory, "cuMemAlloc_v2", names: names) }
        #expect(health.poison == nil)  // out of memory is recoverable
        try health.ensureUsable()

        #expect(throws: CUDAError.self) { try health.check(700, "cuStreamSynchronize", names: names) }
        let poison = try #require(health.poison)
        #expect(poison.description.contains("CUDA_ERROR_ILLEGAL_ADDRESS"))
        // Later calls are refused with the original cause, even ones that would succeed.
        do throws(CUDAError) {
            try health.check(CUDAResultCode.success, "cuLaunchKernel", names: names)
            Issue.record("a poisoned device accepted work")
        } catch {
            #expect(error.description.contains("cuda:0 is unusable"))
            #expect(error.description.contains("CUDA_ERROR_ILLEGAL_ADDRESS"))
            #expect(error.description.contains("cuStreamSynchronize"))
        }
        // The first sticky error is kept.
        health.record(.driver(call: "cuMemFree_v2", code: 719, name: "CUDA_ERROR_LAUNCH_FAILED", message: ""))
        #expect(health.poison == poison)
    }

    @Test func errorDescriptionsCarryNamesAndLogs() {
        let compile = CUDAError.nvrtc(call: "nvrtcCompileProgram(m)", code: 6, name: "NVRTC_ERROR_COMPILATION", log: "m.cu(3): error: x")
        #expect(compile.description == "nvrtcCompileProgram(m) failed: NVRTC_ERROR_COMPILATION (6)\nm.cu(3): error: x")
        let driver = CUDAError.driver(call: "cuInit", code: 100, name: "CUDA_ERROR_NO_DEVICE", message: "no CUDA-capable device is detected")
        #expect(driver.description == "cuInit failed: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected")
        #expect(!driver.isOutOfMemory)
        #expect(CUDAError.driver(call: "cuMemAlloc_v2", code: 2, name: "", message: "").isOutOfMemory)
    }
}
