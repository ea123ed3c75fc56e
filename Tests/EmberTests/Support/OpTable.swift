import Foundation
import Testing

@testable import Ember

// The op table of the golden tests: fixture cases recorded from PyTorch (see
// Scripts/record_golden.py for the schemas), decoded exactly, and the Ember call that each
// recorded Python expression stands for.

// MARK: - Decoded fixtures

/// A Python scalar operand; its Python type decides type promotion, so it stays typed.
enum PyScalar: Sendable, CustomStringConvertible {
    case int(Int)
    case float(Double)
    case bool(Bool)

    var doubleValue: Double {
        switch self {
        case .int(let value): Double(value)
        case .float(let value): value
        case .bool(let value): value ? 1 : 0
        }
    }

    var description: String {
        switch self {
        case .int(let value): "\(value)"
        case .float(let value): "\(value)"
        case .bool(let value): value ? "True" : "False"
        }
    }
}

/// A recorded tensor: shape, dtype and row-major values, kept exactly (integers as `Int64`,
/// floating values as the `Double`s that hold them exactly).
struct FixtureTensor: Sendable {
    let shape: [Int]
    let dtype: DType
    /// The values as `Double` (exact for every floating dtype; NaN and infinities included).
    let doubles: [Double]
    /// The exact values of integer and bool tensors (bool as 0 and 1); empty for floating ones.
    let integers: [Int64]

    /// An Ember tensor with exactly these elements.
    func make() -> Tensor {
        switch dtype {
        case .bool: Tensor(integers.map { $0 != 0 }, shape: shape)
        case .int64: Tensor(integers, shape: shape)
        case .float64: Tensor(doubles, shape: shape)
        default: dtype.isFloatingPoint ? Tensor(doubles, shape: shape).to(dtype) : Tensor(integers, shape: shape).to(dtype)
        }
    }
}

/// A recorded argument: a plain JSON value, a typed Python scalar, a tensor or a list.
indirect enum FixtureArg: Sendable {
    case int(Int)
    case float(Double)
    case bool(Bool)
    case string(String)
    case null
    case list([FixtureArg])
    case tensor(FixtureTensor)
    case scalar(PyScalar)
}

enum FixtureDecodingError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self { case .malformed(let what): "malformed fixture: \(what)" }
    }
}

/// Decoding of `JSONSerialization` values, keeping Python's int / float / bool apart.
enum FixtureJSON {
    /// Whether a JSON value is `true`/`false` (Foundation hands back a boolean NSNumber).
    static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    /// Whether a JSON number was written as an integer (`3`, not `3.0`).
    static func isInteger(_ value: Any) -> Bool {
        guard let number = value as? NSNumber, !isBool(value) else { return false }
        return String(cString: number.objCType) != "d" || (number is NSDecimalNumber && !number.description.contains("."))
    }

    /// An exact integer from a JSON integer (its decimal text, so that 2⁶²+1 survives).
    static func integer(_ value: Any) throws -> Int64 {
        if isBool(value) { return (value as! NSNumber).boolValue ? 1 : 0 }
        guard let number = value as? NSNumber, let exact = Int64(number.description) else {
            throw FixtureDecodingError.malformed("not an integer: \(value)")
        }
        return exact
    }

    static func tensor(_ value: Any) throws -> FixtureTensor {
        guard let object = value as? [String: Any], let shape = object["shape"] as? [Int],
            let name = object["dtype"] as? String, let dtype = DType(rawValue: name), let values = object["values"] as? [Any]
        else { throw FixtureDecodingError.malformed("not a tensor: \(value)") }
        let integers = dtype.isFloatingPoint ? [] : try values.map(integer)
        let doubles = dtype.isFloatingPoint ? values.map(fixtureNumber) : integers.map(Double.init)
        return FixtureTensor(shape: shape, dtype: dtype, doubles: doubles, integers: integers)
    }

    static func arg(_ value: Any) throws -> FixtureArg {
        if value is NSNull { return .null }
        if let string = value as? String { return .string(string) }
        if isBool(value) { return .bool((value as! NSNumber).boolValue) }
        if isInteger(value) { return .int(Int(try integer(value))) }
        if value is NSNumber { return .float(fixtureNumber(value)) }
        if let list = value as? [Any] { return .list(try list.map(arg)) }
        if let object = value as? [String: Any] {
            if let scalar = object["scalar"], let type = object["type"] as? String {
                switch type {
                case "int": return .scalar(.int(Int(try integer(scalar))))
                case "bool": return .scalar(.bool((scalar as? NSNumber)?.boolValue ?? false))
                default: return .scalar(.float(fixtureNumber(scalar)))
                }
            }
            return .tensor(try tensor(object))
        }
        throw FixtureDecodingError.malformed("unknown argument \(value)")
    }

    static func args(_ value: Any?) throws -> [String: FixtureArg] {
        guard let object = value as? [String: Any] else { return [:] }
        return try object.mapValues(arg)
    }

    static func tensors(_ value: Any?) throws -> [FixtureTensor] {
        guard let list = value as? [Any] else { return [] }
        return try list.map(tensor)
    }
}

/// The arguments of one case, read by name.
struct OpArgs: Sendable {
    let values: [String: FixtureArg]

    func has(_ name: String) -> Bool {
        if case .some(.null) = values[name] { return false }
        return values[name] != nil
    }

    func int(_ name: String) -> Int {
        switch values[name] {
        case .int(let value)?: value
        case .scalar(.int(let value))?: value
        default: missing(name, 0)
        }
    }

    /// A dim argument that may be one dimension or a list; empty when absent.
    func ints(_ name: String) -> [Int] {
        switch values[name] {
        case .int(let value)?: [value]
        case .list(let items)?: items.map { if case .int(let value) = $0 { value } else { missing(name, 0) } }
        case nil, .null?: []
        default: missing(name, [])
        }
    }

    func bool(_ name: String, default defaultValue: Bool = false) -> Bool {
        switch values[name] {
        case .bool(let value)?: value
        case nil, .null?: defaultValue
        default: missing(name, defaultValue)
        }
    }

    func dtype(_ name: String) -> DType? {
        guard case .string(let value)? = values[name] else { return nil }
        return DType(rawValue: value) ?? missing(name, nil)
    }

    func string(_ name: String) -> String? {
        guard case .string(let value)? = values[name] else { return nil }
        return value
    }

    func scalar(_ name: String) -> PyScalar {
        switch values[name] {
        case .scalar(let value)?: value
        case .int(let value)?: .int(value)
        case .float(let value)?: .float(value)
        case .bool(let value)?: .bool(value)
        default: missing(name, .int(0))
        }
    }

    /// Where tensor arguments (masks, index tensors) are made: the inputs' device.
    @TaskLocal static var device = Device.cpu

    func tensor(_ name: String) -> Tensor {
        guard case .tensor(let value)? = values[name] else { return missing(name, Tensor.zeros([0])) }
        return value.make().to(Self.device)
    }

    func isTensor(_ name: String) -> Bool {
        if case .tensor? = values[name] { return true }
        return false
    }

    private func missing<T>(_ name: String, _ placeholder: T) -> T {
        Issue.record("argument `\(name)` is missing or has an unexpected type: \(String(describing: values[name]))")
        return placeholder
    }
}

// MARK: - Cases

/// One forward case of ops_forward.json.
struct ForwardCase: Sendable, CustomTestStringConvertible {
    let id: String
    let op: String
    let expr: String
    let args: OpArgs
    let inputs: [FixtureTensor]
    /// One entry for a single result; the values and indices of max/min with dim, or the pieces
    /// of split/chunk/unbind.
    let outputs: [FixtureTensor]
    /// PyTorch's refusal, when it refused: exception type and message.
    let error: (type: String, message: String)?

    var testDescription: String { id }

    static func load() throws -> [ForwardCase] {
        guard let cases = try fixture("ops_forward") as? [[String: Any]] else { throw FixtureDecodingError.malformed("ops_forward") }
        return try cases.map { entry in
            let error = (entry["error"] as? [String: Any]).map { ($0["type"] as? String ?? "", $0["message"] as? String ?? "") }
            var outputs = try FixtureJSON.tensors(entry["outputs"])
            if let output = entry["output"] { outputs = [try FixtureJSON.tensor(output)] }
            return ForwardCase(
                id: entry["id"] as? String ?? "?", op: entry["op"] as? String ?? "?", expr: entry["expr"] as? String ?? "?",
                args: OpArgs(values: try FixtureJSON.args(entry["args"])), inputs: try FixtureJSON.tensors(entry["inputs"]),
                outputs: outputs, error: error)
        }
    }
}

/// One backward case of ops.json or grads_extra.json, all float64.
struct GradientCase: Sendable, CustomTestStringConvertible {
    let id: String
    let op: String
    let expr: String
    let args: OpArgs
    /// The leaves, named a, b, … in `expr`.
    let inputs: [FixtureTensor]
    let outputs: [FixtureTensor]
    let cotangents: [FixtureTensor]
    let grads: [FixtureTensor]
    let gradFn: String
    /// The indices of max/min with dim.
    let indices: FixtureTensor?
    let secondCotangents: [FixtureTensor]
    let gradGrads: [FixtureTensor]

    var testDescription: String { id }

    /// The cases of grads_extra.json, which record their expressions.
    static func loadExtra() throws -> [GradientCase] { try load("grads_extra") { $0 } }

    /// The cases of grads_float32.json, float32 gradients to match bit for bit.
    static func loadFloat32() throws -> [GradientCase] { try load("grads_float32") { $0 } }

    /// The cases of ops.json, which name each case but record no expression: `opsExpressions`
    /// gives the one each case was recorded with.
    static func loadOps() throws -> [GradientCase] {
        try load("ops") { entry in
            var entry = entry
            let name = entry["op"] as? String ?? "?"
            entry["id"] = name
            if let recorded = opsExpressions[name] {
                entry["op"] = recorded.op
                entry["expr"] = recorded.expr
                entry["args"] = try? JSONSerialization.jsonObject(with: Data(recorded.args.utf8))
            }
            return entry
        }
    }

    private static func load(_ name: String, _ adapt: ([String: Any]) -> [String: Any]) throws -> [GradientCase] {
        guard let cases = try fixture(name) as? [[String: Any]] else { throw FixtureDecodingError.malformed(name) }
        return try cases.map(adapt).map { entry in
            var outputs = try FixtureJSON.tensors(entry["outputs"]), cotangents = try FixtureJSON.tensors(entry["cotangents"])
            if let output = entry["output"], let cotangent = entry["cotangent"] {
                outputs = [try FixtureJSON.tensor(output)]
                cotangents = [try FixtureJSON.tensor(cotangent)]
            }
            return GradientCase(
                id: entry["id"] as? String ?? "?", op: entry["op"] as? String ?? "?", expr: entry["expr"] as? String ?? "?",
                args: OpArgs(values: try FixtureJSON.args(entry["args"])), inputs: try FixtureJSON.tensors(entry["inputs"]),
                outputs: outputs, cotangents: cotangents, grads: try FixtureJSON.tensors(entry["grads"]),
                gradFn: entry["grad_fn"] as? String ?? "?", indices: try entry["indices"].map(FixtureJSON.tensor),
                secondCotangents: try FixtureJSON.tensors(entry["second_cotangent"]),
                gradGrads: try FixtureJSON.tensors(entry["grad_grads"]))
        }
    }

    /// The op, PyTorch expression and arguments (as fixture JSON) behind each case of ops.json,
    /// found by re-running candidates in PyTorch until output and gradients matched to the last bit.
    private static let opsExpressions: [String: (op: String, expr: String, args: String)] = [
        "add": ("add", "a + b", #"{}"#),
        "add_broadcast": ("add", "a + b", #"{}"#),
        "sub": ("sub", "a - b", #"{}"#),
        "mul": ("mul", "a * b", #"{}"#),
        "div": ("div", "a / b", #"{}"#),
        "pow_scalar": ("pow", "a ** exponent", #"{"exponent": {"scalar": 2, "type": "int"}}"#),
        "pow_frac": ("pow", "a ** exponent", #"{"exponent": {"scalar": 1.5, "type": "float"}}"#),
        "neg": ("neg", "-a", #"{}"#),
        "mm": ("mm", "torch.mm(a, b)", #"{}"#),
        "matmul_batched": ("matmul", "torch.matmul(a, b)", #"{}"#),
        "matmul_vec": ("matmul", "torch.matmul(a, b)", #"{}"#),
        "t": ("t", "a.t()", #"{}"#),
        "transpose": ("transpose", "a.transpose(dim0, dim1)", #"{"dim0": 0, "dim1": 2}"#),
        "permute": ("permute", "a.permute(dims)", #"{"dims": [2, 0, 1]}"#),
        "reshape": ("reshape", "a.reshape(shape)", #"{"shape": [6, 2]}"#),
        "sum_all": ("sum", "torch.sum(a)", #"{}"#),
        "sum_dim": ("sum", "torch.sum(a, dim=dim)", #"{"dim": 1}"#),
        "sum_keepdim": ("sum", "torch.sum(a, dim=dim, keepdim=keepdim)", #"{"dim": 0, "keepdim": true}"#),
        "mean": ("mean", "torch.mean(a)", #"{}"#),
        "mean_dim": ("mean", "torch.mean(a, dim=dim)", #"{"dim": 1}"#),
        "clamp_min": ("clamp", "torch.clamp(a, min=min)", #"{"min": {"scalar": 0, "type": "int"}}"#),
        "clamp_both": ("clamp", "torch.clamp(a, min=min, max=max)", #"{"min": {"scalar": -0.5, "type": "float"}, "max": {"scalar": 0.5, "type": "float"}}"#),
        "relu": ("relu", "torch.relu(a)", #"{}"#),
        "sigmoid": ("sigmoid", "torch.sigmoid(a)", #"{}"#),
        "tanh": ("tanh", "torch.tanh(a)", #"{}"#),
        "exp": ("exp", "torch.exp(a)", #"{}"#),
        "log": ("log", "torch.log(a)", #"{}"#),
        "sqrt": ("sqrt", "torch.sqrt(a)", #"{}"#),
        "abs": ("abs", "torch.abs(a)", #"{}"#),
        "max_dim": ("max", "torch.max(a, dim=dim)", #"{"dim": 1}"#),
        "amax": ("amax", "torch.amax(a)", #"{}"#),
        "softmax": ("softmax", "torch.softmax(a, dim=dim)", #"{"dim": 1}"#),
        "log_softmax": ("log_softmax", "torch.log_softmax(a, dim=dim)", #"{"dim": 1}"#),
        "where_mask": ("where", "torch.where(a > 0, a, b)", #"{}"#),
        "masked_fill": ("masked_fill", "a.masked_fill(a < 0, value)", #"{"value": {"scalar": 0.0, "type": "float"}}"#),
        "expand": ("expand", "a.expand(size)", #"{"size": [3, 4]}"#),
        "unsqueeze": ("unsqueeze", "a.unsqueeze(dim)", #"{"dim": 1}"#),
        "squeeze": ("squeeze", "a.squeeze()", #"{}"#),
        "index_slice": ("index", "a[1:3]", #"{}"#),
        "cat": ("cat", "torch.cat([a, b], dim=dim)", #"{"dim": 0}"#),
        "stack": ("stack", "torch.stack([a, b], dim=dim)", #"{"dim": 1}"#),
        "var": ("var", "torch.var(a)", #"{}"#),
        "std_dim": ("std", "torch.std(a, dim=dim)", #"{"dim": 0}"#),
        "mse_like": ("mse", "((a - b) ** 2).mean()", #"{}"#),
        "dot": ("dot", "torch.dot(a, b)", #"{}"#),
        "outer": ("outer", "torch.outer(a, b)", #"{}"#),
        "bmm": ("bmm", "torch.bmm(a, b)", #"{}"#),
    ]
}

// MARK: - The table

/// Runs a recorded PyTorch expression with Ember: `inputs` are the tensors named a, b, c in
/// `expr`, `args` the other names in it. Returns the result, or the results of ops that give
/// several (max/min with dim: values then indices; split, chunk, unbind: the pieces).
enum OpTable {
    static func run(_ op: String, _ expr: String, _ args: OpArgs, _ inputs: [Tensor]) -> [Tensor] {
        func input(_ index: Int) -> Tensor {
            guard index < inputs.count else {
                Issue.record("\(expr) needs input \(index), the case has \(inputs.count)")
                return Tensor.zeros([0])
            }
            return inputs[index]
        }
        let a = inputs.first ?? Tensor.zeros([0])  // creation ops have no inputs
        // Unary ops in place (`exp_`), on a clone of the leaf as PyTorch's cases were recorded.
        if let unary = InPlaceUnaryTests.ops.first(where: { "\($0.name)_" == op }) { return [unary.inPlace(a.clone())] }
        switch op {
        // Arithmetic.
        case "add", "sub", "mul", "div":
            if expr == "a * a + a" { return [a * a + a] }
            if args.has("rounding_mode") {
                let mode: RoundingMode = args.string("rounding_mode") == "floor" ? .floor : .trunc
                return [a.div(input(1), roundingMode: mode)]
            }
            if args.has("alpha") {
                let alpha = args.scalar("alpha").doubleValue
                return [op == "add" ? a.add(input(1), alpha: alpha) : a.sub(input(1), alpha: alpha)]
            }
            if args.has("other") { return [scalarRight(op, a, args.scalar("other"))] }
            return [binary(op, a, input(1))]
        case "rsub", "rdiv", "rpow":
            return [scalarLeft(op, args.scalar("other"), a)]
        case "pow":
            if args.has("exponent") {
                switch args.scalar("exponent") {
                case .int(let exponent): return [a.pow(exponent)]
                case .float(let exponent): return [a.pow(exponent)]
                case .bool(let exponent): return [a.pow(exponent ? 1 : 0)]
                }
            }
            return [a.pow(input(1))]
        case "clamp_min": return [a.clampMin(input(1))]
        case "clamp_max": return [a.clampMax(input(1))]
        case "maximum": return [a.maximum(input(1))]
        case "minimum": return [a.minimum(input(1))]
        case "mse": return [(a - input(1)).pow(2).mean()]

        // Unary.
        case "exp": return [a.exp()]
        case "log": return [a.log()]
        case "sqrt": return [a.sqrt()]
        case "rsqrt": return [a.rsqrt()]
        case "abs": return [a.abs()]
        case "sign": return [a.sign()]
        case "sin": return [a.sin()]
        case "cos": return [a.cos()]
        case "tanh": return [a.tanh()]
        case "sigmoid": return [a.sigmoid()]
        case "relu": return [a.relu()]
        case "neg": return [-a]
        case "mul_": return [a.clone().mul_(input(1))]
        case "div_": return [a.clone().div_(input(1))]
        case "clamp":
            if expr == "torch.clamp(a, min=b, max=c)" { return [a.clamp(min: input(1), max: input(2))] }
            let lower = args.has("min") ? args.scalar("min").doubleValue : nil
            let upper = args.has("max") ? args.scalar("max").doubleValue : nil
            return [a.clamp(min: lower, max: upper)]

        // Comparisons and logic.
        case "lt", "le", "gt", "ge", "eq", "ne":
            if expr == "torch.ne(a, a)" { return [a .!= a] }
            if args.has("other") { return [scalarRight(op, a, args.scalar("other"))] }
            return [binary(op, a, input(1))]
        case "logical_and", "bitwise_and": return [op == "bitwise_and" ? a .& input(1) : a.logicalAnd(input(1))]
        case "logical_or", "bitwise_or": return [op == "bitwise_or" ? a .| input(1) : a.logicalOr(input(1))]
        case "logical_xor": return [a.logicalXor(input(1))]
        case "logical_not": return [a.logicalNot()]
        case "bitwise_not": return [.!a]
        case "where": return [whereCase(expr, args, inputs)]
        case "nonzero": return [a.nonzero()]

        // Reductions.
        case "sum":
            if expr == "(a * a).sum()" { return [(a * a).sum()] }
            return [a.sum(dims: args.ints("dim"), keepdim: args.bool("keepdim"), dtype: args.dtype("dtype"))]
        case "mean": return [a.mean(dims: args.ints("dim"), keepdim: args.bool("keepdim"))]
        case "prod":
            if args.has("dim") { return [a.prod(dim: args.int("dim"), keepdim: args.bool("keepdim"))] }
            return [a.prod()]
        case "amax": return [a.amax(dims: args.ints("dim"), keepdim: args.bool("keepdim"))]
        case "amin": return [a.amin(dims: args.ints("dim"), keepdim: args.bool("keepdim"))]
        case "logsumexp": return [a.logsumexp(dims: args.ints("dim"), keepdim: args.bool("keepdim"))]
        case "var", "std":
            let correction = args.has("correction") ? args.int("correction") : (args.bool("unbiased", default: true) ? 1 : 0)
            let dims = args.ints("dim"), keepdim = args.bool("keepdim")
            return [op == "var" ? a.variance(dims: dims, correction: correction, keepdim: keepdim) : a.std(dims: dims, correction: correction, keepdim: keepdim)]
        case "max", "min":
            if inputs.count == 2 { return [op == "max" ? a.maximum(input(1)) : a.minimum(input(1))] }
            if args.has("dim") {
                let result = op == "max" ? a.max(dim: args.int("dim"), keepdim: args.bool("keepdim")) : a.min(dim: args.int("dim"), keepdim: args.bool("keepdim"))
                return [result.values, result.indices]
            }
            return [op == "max" ? a.max() : a.min()]
        case "argmax", "argmin":
            let dim = args.has("dim") ? args.int("dim") : nil
            return [op == "argmax" ? a.argmax(dim: dim, keepdim: args.bool("keepdim")) : a.argmin(dim: dim, keepdim: args.bool("keepdim"))]
        case "softmax": return [a.softmax(dim: args.int("dim"), dtype: args.dtype("dtype"))]
        case "log_softmax": return [a.logSoftmax(dim: args.int("dim"), dtype: args.dtype("dtype"))]

        // Matrix products.
        case "mm": return [a.mm(input(1))]
        case "matmul": return [a.matmul(input(1))]
        case "bmm": return [a.bmm(input(1))]
        case "dot": return [a.dot(input(1))]
        case "outer": return [a.outer(input(1))]
        case "mv": return [a.mv(input(1))]

        // Joining and splitting.
        case "cat": return [Tensor.cat(inputs, dim: args.int("dim"))]
        case "stack": return [Tensor.stack(inputs, dim: args.int("dim"))]
        case "split":
            let dim = args.has("dim") ? args.int("dim") : 0
            let pieces = isList(args, "split_size") ? a.split(args.ints("split_size"), dim: dim) : a.split(args.int("split_size"), dim: dim)
            return expr.hasSuffix("[1]") ? [pieces[1]] : pieces
        case "chunk": return a.chunk(args.int("chunks"), dim: args.int("dim"))
        case "unbind": return a.unbind(dim: args.int("dim"))
        case "narrow": return [a.narrow(dim: args.int("dim"), start: args.int("start"), length: args.int("length"))]

        // Indexing.
        case "index_select": return [a.indexSelect(dim: args.int("dim"), index: args.tensor("index"))]
        case "gather": return [a.gather(dim: args.int("dim"), index: args.tensor("index"))]
        case "index_add": return [a.indexAdd(dim: args.int("dim"), index: args.tensor("index"), source: input(1))]
        case "scatter":
            if args.has("value") {
                switch args.scalar("value") {
                case .int(let value): return [a.scatter(dim: args.int("dim"), index: args.tensor("index"), value: value)]
                case .float(let value): return [a.scatter(dim: args.int("dim"), index: args.tensor("index"), value: value)]
                case .bool(let value): return [a.scatter(dim: args.int("dim"), index: args.tensor("index"), value: value)]
                }
            }
            return [a.scatter(dim: args.int("dim"), index: args.tensor("index"), src: args.has("src") ? args.tensor("src") : input(1))]
        case "scatter_add":
            return [a.scatterAdd(dim: args.int("dim"), index: args.tensor("index"), src: args.has("src") ? args.tensor("src") : input(1))]
        case "masked_fill":
            let mask = expr.hasPrefix("a.masked_fill(a < 0") ? a .< 0 : args.tensor("mask")
            if args.isTensor("value") { return [a.maskedFill(mask, args.tensor("value"))] }
            switch args.scalar("value") {
            case .int(let value): return [a.maskedFill(mask, value)]
            case .float(let value): return [a.maskedFill(mask, value)]
            case .bool(let value): return [a.maskedFill(mask, value)]
            }
        case "index", "select": return [indexCase(expr, args, a)]

        // Movement.
        case "t": return [a.t()]
        case "transpose": return [a.transpose(args.int("dim0"), args.int("dim1"))]
        case "permute": return [a.permute(args.ints("dims"))]
        case "reshape":
            switch expr {
            case "a.t().reshape(shape)": return [a.t().reshape(args.ints("shape"))]
            case "a.transpose(0, 2).reshape(shape)": return [a.transpose(0, 2).reshape(args.ints("shape"))]
            default: return [a.reshape(args.ints("shape"))]
            }
        case "contiguous": return [a.permute(1, 0).contiguous()]
        case "flatten": return [a.flatten(startDim: args.int("start_dim"))]
        case "expand": return [a.expand(args.ints("size"))]
        case "unsqueeze": return [a.unsqueeze(args.int("dim"))]
        case "squeeze": return [a.squeeze()]

        // Casts.
        case "to":
            switch expr {
            case "a.float()": return [a.float()]
            case "a.double()": return [a.double()]
            case "a.half()": return [a.half()]
            case "a.long()": return [a.long()]
            case "a.int()": return [a.int()]
            case "a.bool()": return [a.bool()]
            default: return [a.to(args.dtype("dtype") ?? .float32)]
            }

        // Creation.
        case "arange", "linspace", "eye", "full", "zeros", "ones", "zeros_like", "ones_like", "full_like", "tensor":
            return [creation(op, expr, args, inputs)]
        default:
            Issue.record("no Ember counterpart in the op table for \(op): \(expr)")
            return []
        }
    }

    private static func isList(_ args: OpArgs, _ name: String) -> Bool {
        if case .list? = args.values[name] { return true }
        return false
    }

    /// `a (op) b` for two tensors.
    private static func binary(_ op: String, _ a: Tensor, _ b: Tensor) -> Tensor {
        switch op {
        case "add": a + b
        case "sub": a - b
        case "mul": a * b
        case "div": a / b
        case "lt": a .< b
        case "le": a .<= b
        case "gt": a .> b
        case "ge": a .>= b
        case "eq": a .== b
        default: a .!= b
        }
    }

    /// `a (op) scalar` with a Swift number standing for the Python scalar.
    private static func scalarRight(_ op: String, _ a: Tensor, _ scalar: PyScalar) -> Tensor {
        switch scalar {
        case .int(let value): scalarRight(op, a, value)
        case .float(let value): scalarRight(op, a, value)
        case .bool(let value): scalarRight(op, a, value)
        }
    }

    private static func scalarRight<S: TensorScalar>(_ op: String, _ a: Tensor, _ value: S) -> Tensor {
        switch op {
        case "add": a + value
        case "sub": a - value
        case "mul": a * value
        case "div": a / value
        case "lt": a .< value
        case "le": a .<= value
        case "gt": a .> value
        case "ge": a .>= value
        case "eq": a .== value
        default: a .!= value
        }
    }

    /// `scalar (op) a`: rsub, rdiv, rpow.
    private static func scalarLeft(_ op: String, _ scalar: PyScalar, _ a: Tensor) -> Tensor {
        switch scalar {
        case .int(let value): scalarLeft(op, value, a)
        case .float(let value): scalarLeft(op, value, a)
        case .bool(let value): scalarLeft(op, value, a)
        }
    }

    private static func scalarLeft<S: TensorScalar>(_ op: String, _ value: S, _ a: Tensor) -> Tensor {
        switch op {
        case "rsub": value - a
        case "rdiv": value / a
        default: Tensor.pow(value, a)
        }
    }

    private static func whereCase(_ expr: String, _ args: OpArgs, _ inputs: [Tensor]) -> Tensor {
        switch expr {
        case "torch.where(a, b, c)": return Tensor.where(inputs[0], inputs[1], inputs[2])
        case "torch.where(a, b, other)": return whereScalar(inputs[0], inputs[1], args.scalar("other"), tensorFirst: true)
        case "torch.where(a, x, y)":
            switch (args.scalar("x"), args.scalar("y")) {
            case (.int(let x), .int(let y)): return Tensor.where(inputs[0], x, y)
            case (.float(let x), .float(let y)): return Tensor.where(inputs[0], x, y)
            default:
                Issue.record("mixed scalar types in \(expr)")
                return inputs[0]
            }
        case "torch.where(a > 0, a, b)": return Tensor.where(inputs[0] .> 0, inputs[0], inputs[1])
        case "torch.where(mask, a, other)": return whereScalar(args.tensor("mask"), inputs[0], args.scalar("other"), tensorFirst: true)
        case "torch.where(mask, other, a)": return whereScalar(args.tensor("mask"), inputs[0], args.scalar("other"), tensorFirst: false)
        default: return Tensor.where(args.tensor("mask"), inputs[0], inputs[1])
        }
    }

    private static func whereScalar(_ condition: Tensor, _ tensor: Tensor, _ scalar: PyScalar, tensorFirst: Bool) -> Tensor {
        switch scalar {
        case .int(let value): tensorFirst ? Tensor.where(condition, tensor, value) : Tensor.where(condition, value, tensor)
        case .float(let value): tensorFirst ? Tensor.where(condition, tensor, value) : Tensor.where(condition, value, tensor)
        case .bool(let value): tensorFirst ? Tensor.where(condition, tensor, value) : Tensor.where(condition, value, tensor)
        }
    }

    private static func indexCase(_ expr: String, _ args: OpArgs, _ a: Tensor) -> Tensor {
        switch expr {
        case "a[mask]": return a[args.tensor("mask")]
        case "a[index]": return args.isTensor("index") ? a[args.tensor("index")] : a[args.int("index")]
        case "a[:, ::2]": return a[TensorIndex.all, TensorIndex.slice(start: nil, end: nil, step: 2)]
        case "a[..., None, 1]": return a[TensorIndex.ellipsis, TensorIndex.newAxis, 1]
        case "a[::2]": return a[TensorIndex.slice(start: nil, end: nil, step: 2)]
        case "a[:, 1::2]": return a[TensorIndex.all, TensorIndex.slice(start: 1, end: nil, step: 2)]
        case "a[1:3]": return a[1..<3]
        case "a[1]": return a[1]
        case "a[:, -1]": return a[TensorIndex.all, -1]
        default:
            Issue.record("no Ember subscript for \(expr)")
            return a
        }
    }

    private static func creation(_ op: String, _ expr: String, _ args: OpArgs, _ inputs: [Tensor]) -> Tensor {
        let dtype = args.dtype("dtype")
        switch op {
        case "arange":
            // Python's arange gives float32 when any bound is a float, int64 otherwise.
            let bounds = ["start", "end", "step"].filter(args.has).map { ($0, args.scalar($0)) }
            let anyFloat = bounds.contains { if case .float = $0.1 { true } else { false } }
            if anyFloat {
                let value = { (name: String) in args.scalar(name).doubleValue }
                if !args.has("start") { return Tensor.arange(value("end"), dtype: dtype) }
                return Tensor.arange(value("start"), value("end"), args.has("step") ? value("step") : 1.0, dtype: dtype)
            }
            let value = { (name: String) in args.int(name) }
            if !args.has("start") { return Tensor.arange(value("end"), dtype: dtype) }
            return Tensor.arange(value("start"), value("end"), args.has("step") ? value("step") : 1, dtype: dtype)
        case "linspace":
            return Tensor.linspace(
                args.scalar("start").doubleValue, args.scalar("end").doubleValue, steps: args.int("steps"), dtype: dtype ?? .float32)
        case "eye":
            return Tensor.eye(args.int("n"), args.has("m") ? args.int("m") : nil, dtype: dtype ?? .float32)
        case "full":
            switch args.scalar("fill_value") {
            case .int(let value): return Tensor.full(args.ints("size"), value, dtype: dtype)
            case .float(let value): return Tensor.full(args.ints("size"), value, dtype: dtype)
            case .bool(let value): return Tensor.full(args.ints("size"), value, dtype: dtype)
            }
        case "zeros": return Tensor.zeros(args.ints("size"), dtype: dtype ?? .float32)
        case "ones": return Tensor.ones(args.ints("size"), dtype: dtype ?? .float32)
        case "zeros_like": return Tensor.zerosLike(inputs[0], dtype: dtype)
        case "ones_like": return Tensor.onesLike(inputs[0], dtype: dtype)
        case "full_like":
            switch args.scalar("fill_value") {
            case .int(let value): return Tensor.fullLike(inputs[0], value, dtype: dtype)
            case .float(let value): return Tensor.fullLike(inputs[0], value, dtype: dtype)
            case .bool(let value): return Tensor.fullLike(inputs[0], value, dtype: dtype)
            }
        default:
            return literal(args.values["data"] ?? .null)
        }
    }

    /// `torch.tensor(data)` for nested Python lists, as Swift literals build it: each number a
    /// 0-dim tensor of its literal's type, and each list their stack along a new first
    /// dimension with promotion (what `init(arrayLiteral:)` does; Swift cannot splat an array
    /// into its variadic parameter).
    private static func literal(_ data: FixtureArg) -> Tensor {
        switch data {
        case .int(let value): Tensor(integerLiteral: value)
        case .float(let value): Tensor(floatLiteral: value)
        case .bool(let value): Tensor(booleanLiteral: value)
        case .list(let items):
            Tensor.stack(items.map(literal), dim: 0)
        default: Tensor.zeros([0])
        }
    }
}

// MARK: - Comparing results

/// How close a computed floating value must be to PyTorch's: within `ulps` units in the last
/// place of the expected value in its own dtype, or within `relative` of it. Integers and bools
/// always compare exactly; NaN matches NaN, infinities and the sign of zero must agree.
struct Closeness: Sendable {
    var ulps: Double = 0
    var relative: Double = 0

    /// Bit for bit.
    static let exact = Closeness()

    func matches(_ actual: Double, _ expected: Double, dtype: DType) -> Bool {
        if expected.isNaN { return actual.isNaN }
        if expected.isInfinite || !dtype.isFloatingPoint { return actual == expected }
        if expected == 0 && actual == 0 { return expected.sign == actual.sign }
        let difference = Swift.abs(actual - expected)
        return difference <= ulps * Closeness.ulp(expected, dtype) || difference <= relative * Swift.abs(expected)
    }

    /// The spacing of `dtype`'s values at `value`.
    static func ulp(_ value: Double, _ dtype: DType) -> Double {
        let (mantissaBits, minExponent): (Int, Int) =
            switch dtype {
            case .float64: (52, -1022)
            case .float16: (10, -14)
            case .bfloat16: (7, -126)
            default: (23, -126)
            }
        let exponent = Swift.max(Int(Swift.abs(value).exponent), minExponent)
        return Double(sign: .plus, exponent: exponent - mantissaBits, significand: 1)
    }
}

/// Expects `actual` to have `expected`'s dtype, shape and values, floats within `closeness`.
func expectTensor(
    _ actual: Tensor?, equals expected: FixtureTensor, within closeness: Closeness = .exact, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let actual else {
        Issue.record("\(what): no tensor, expected \(expected.shape) \(expected.dtype)", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.dtype == expected.dtype, "\(what): dtype", sourceLocation: sourceLocation)
    #expect(actual.shape == expected.shape, "\(what): shape", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    if !expected.dtype.isFloatingPoint {
        let values = actual.toArray(as: Int64.self)
        #expect(values == expected.integers, "\(what): values", sourceLocation: sourceLocation)
        return
    }
    let values = actual.toArray(as: Double.self)
    let mismatches = zip(values, expected.doubles).enumerated().filter {
        !closeness.matches($0.element.0, $0.element.1, dtype: expected.dtype)
    }
    if let first = mismatches.first {
        Issue.record(
            "\(what): \(mismatches.count) of \(values.count) values differ beyond \(closeness); first at \(first.offset): \(first.element.0) vs PyTorch's \(first.element.1)\nEmber:   \(values)\nPyTorch: \(expected.doubles)",
            sourceLocation: sourceLocation)
    }
}

/// Expects two float64 tensors to agree within a relative and absolute tolerance: for
/// gradients whose formulas differ from PyTorch's in rounding only.
func expectTensor(
    _ actual: Tensor?, closeTo expected: FixtureTensor, rtol: Double, atol: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let actual else {
        Issue.record("\(what): no tensor, expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.dtype == expected.dtype, "\(what): dtype", sourceLocation: sourceLocation)
    #expect(actual.shape == expected.shape, "\(what): shape", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let values = actual.toArray(as: Double.self)
    let mismatches = zip(values, expected.doubles).enumerated().filter { _, pair in
        let (value, reference) = pair
        if reference.isNaN || reference.isInfinite { return !(value == reference || (value.isNaN && reference.isNaN)) }
        return !(Swift.abs(value - reference) <= atol + rtol * Swift.abs(reference))
    }
    if let first = mismatches.first {
        Issue.record(
            "\(what): \(mismatches.count) of \(values.count) values differ; first at \(first.offset): \(first.element.0) vs PyTorch's \(first.element.1)\nEmber:   \(values)\nPyTorch: \(expected.doubles)",
            sourceLocation: sourceLocation)
    }
}
