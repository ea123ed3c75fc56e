// ember-bench: Ember's benchmarks, side by side with PyTorch and NumPy when they are installed.
//
//   swift run -c release ember-bench [--filter seed,sgemm] [--json] [--compare] [--python PATH]
import Ember
import Foundation

let usage = """
    usage: ember-bench [--filter SUITE,...] [--json] [--compare] [--python PATH]
      --filter   run only these suites: \(Suites.all.map(\.name).joined(separator: ", "))
      --json     print the measurements as JSON instead of a table
      --compare  time the same work in PyTorch and NumPy, when a Python with them is found
      --python   the Python for --compare (default: $EMBER_PYTHON, .venv/bin/python, python3)
    """
func exit(withUsageError message: String) -> Never {
    FileHandle.standardError.write("ember-bench: \(message)\n\(usage)\n".data(using: .utf8)!)
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(0)
}
var options: [String: String] = [:], flags: Set<String> = []
var position = 0
while position < arguments.count {
    let argument = arguments[position]
    switch argument {
    case "--json", "--compare": flags.insert(argument)
    case "--filter", "--python":
        guard position + 1 < arguments.count else { exit(withUsageError: "\(argument) needs a value") }
        options[argument] = arguments[position + 1]
        position += 1
    default: exit(withUsageError: "unknown argument '\(argument)'")
    }
    position += 1
}
let filters = options["--filter"]?.split(separator: ",").map(String.init)
if let unknown = filters?.first(where: { name in !Suites.all.contains { $0.name == name } }) {
    exit(withUsageError: "no suite named '\(unknown)'")
}
let wantsJSON = flags.contains("--json")
let compare = flags.contains("--compare")

let reference = compare ? Reference.start(python: options["--python"]) : nil
var measurements: [Measurement] = []
for suite in Suites.all where filters.map({ $0.contains(suite.name) }) ?? true {
    if !wantsJSON { FileHandle.standardError.write("running \(suite.name)…\n".data(using: .utf8)!) }
    let bench = Bench(suite: suite.name, reference: reference)
    measurements += MachinePeak.measure(suite.name, "before")
    measurements += bench.withNumPy(suite.run(bench))
    measurements += MachinePeak.measure(suite.name, "after")
}
if compare && !wantsJSON {
    print(Reference.summary(reference, python: options["--python"]))
}

if wantsJSON {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(data: try encoder.encode(measurements), encoding: .utf8)!)
} else {
    print(Report.table(measurements, gemm: Ember.gemmImplementation, blas: Ember.blasLibrary))
}
