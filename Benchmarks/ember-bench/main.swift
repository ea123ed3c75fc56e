// ember-bench: Ember's benchmarks, side by side with PyTorch and NumPy when they are installed.
//
//   swift run -c release ember-bench [--filter seed,sgemm] [--json] [--compare] [--python PATH]
import Ember
import Foundation

let arguments = CommandLine.arguments.dropFirst()
func value(after flag: String) -> String? {
    arguments.firstIndex(of: flag).flatMap { arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil }
}
let filters = value(after: "--filter")?.split(separator: ",").map(String.init)
let wantsJSON = arguments.contains("--json")
let compare = arguments.contains("--compare")

let reference = compare ? Reference.start(python: value(after: "--python")) : nil
var measurements: [Measurement] = []
for suite in Suites.all where filters.map({ $0.contains(suite.name) }) ?? true {
    if !wantsJSON { FileHandle.standardError.write("running \(suite.name)…\n".data(using: .utf8)!) }
    let bench = Bench(suite: suite.name, reference: reference)
    measurements += bench.withNumPy(suite.run(bench))
}
if compare && !wantsJSON {
    print(
        reference.map { "Compared with \($0.versions), PyTorch's cases timed right after Ember's." }
            ?? "No Python with torch found (tried \(Reference.candidates(value(after: "--python")).joined(separator: ", "))): PyTorch and NumPy columns are empty.")
}

if wantsJSON {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(data: try encoder.encode(measurements), encoding: .utf8)!)
} else {
    print(Report.table(measurements, gemm: "Ember GEMM: \(Ember.gemmImplementation)"))
}
