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

var measurements: [Measurement] = []
var alternated: Set<String> = []
for suite in Suites.all where filters.map({ $0.contains(suite.name) }) ?? true {
    if !wantsJSON { FileHandle.standardError.write("running \(suite.name)…\n".data(using: .utf8)!) }
    // The seed steps, the targets' ratios, alternate with Python's round by round.
    if compare && suite.name == "seed", let reference = SeedReference.start(python: value(after: "--python")) {
        measurements += Suites.seed(reference: reference)
        alternated.insert(suite.name)
    } else {
        measurements += suite.run()
    }
}

if compare {
    let suites = Set(measurements.map(\.suite)).subtracting(alternated)
    let reference = Comparison.run(suites: Array(suites), python: value(after: "--python"))
    for index in measurements.indices where !alternated.contains(measurements[index].suite) {
        measurements[index].pytorch = reference.pytorch[measurements[index].name]
        measurements[index].numpy = reference.numpy[measurements[index].name]
    }
    if !wantsJSON { print(reference.note) }
}

if wantsJSON {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(data: try encoder.encode(measurements), encoding: .utf8)!)
} else {
    print(Report.table(measurements, gemm: "Ember GEMM: \(Ember.gemmImplementation)"))
}
