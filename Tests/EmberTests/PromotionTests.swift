import Foundation
import Testing

@testable import Ember

/// Type promotion through Ember's ops against `torch.result_type` (promotion.json): tensors
/// with dimensions, 0-dim tensors, and Swift numbers standing for Python scalars.
@Suite("Type promotion against PyTorch")
struct PromotionTests {
    /// One row of promotion.json.
    struct Case: Sendable, CustomTestStringConvertible {
        enum Operand: Sendable {
            case tensor(DType)
            case zeroDim(DType)
            case scalar(PyScalar)

            /// `torch.ones(2)` or `torch.ones(())` of the dtype, as recorded; nil for scalars.
            var tensor: Tensor? {
                switch self {
                case .tensor(let dtype): Tensor.ones([2], dtype: dtype)
                case .zeroDim(let dtype): Tensor.ones([], dtype: dtype)
                case .scalar: nil
                }
            }
        }

        let lhs: Operand
        let rhs: Operand
        let result: DType
        let testDescription: String

        init(_ entry: [String: String]) throws {
            func operand(_ kind: String?, _ name: String?) throws -> Operand {
                switch (kind, name) {
                case ("scalar", "int"): return .scalar(.int(2))
                case ("scalar", "float"): return .scalar(.float(2.5))
                case ("scalar", "bool"): return .scalar(.bool(true))
                case ("tensor", let name?): if let dtype = DType(rawValue: name) { return .tensor(dtype) }
                case ("zerodim", let name?): if let dtype = DType(rawValue: name) { return .zeroDim(dtype) }
                default: break
                }
                throw FixtureDecodingError.malformed("operand \(kind ?? "?") \(name ?? "?")")
            }
            lhs = try operand(entry["lhs_kind"], entry["lhs"])
            rhs = try operand(entry["rhs_kind"], entry["rhs"])
            guard let result = entry["result"].flatMap(DType.init(rawValue:)) else { throw FixtureDecodingError.malformed("result") }
            self.result = result
            testDescription = "\(entry["lhs_kind"] ?? "") \(entry["lhs"] ?? "") + \(entry["rhs_kind"] ?? "") \(entry["rhs"] ?? "") → \(result)"
        }

        static func load() throws -> [Case] {
            guard let object = try fixture("promotion") as? [String: Any], let cases = object["cases"] as? [[String: String]] else {
                throw FixtureDecodingError.malformed("promotion")
            }
            return try cases.map(Case.init)
        }
    }

    /// `tensor + scalar` and `scalar + tensor` with the Swift number of the Python scalar's type.
    static func add(_ tensor: Tensor, _ scalar: PyScalar, scalarFirst: Bool) -> Tensor {
        switch scalar {
        case .int(let value): scalarFirst ? value + tensor : tensor + value
        case .float(let value): scalarFirst ? value + tensor : tensor + value
        case .bool(let value): scalarFirst ? value + tensor : tensor + value
        }
    }

    /// The same with the number written as a literal, which Swift makes a tensor through
    /// `ExpressibleByIntegerLiteral` and friends rather than a Swift number.
    static func addLiteral(_ tensor: Tensor, _ scalar: PyScalar, scalarFirst: Bool) -> Tensor {
        switch scalar {
        case .int: scalarFirst ? 2 + tensor : tensor + 2
        case .float: scalarFirst ? 2.5 + tensor : tensor * 2.5
        case .bool: scalarFirst ? true + tensor : tensor + true
        }
    }

    static func whereScalar(_ tensor: Tensor, _ scalar: PyScalar) -> Tensor {
        let condition = Tensor([true, false])
        return switch scalar {
        case .int(let value): Tensor.where(condition, tensor, value)
        case .float(let value): Tensor.where(condition, tensor, value)
        case .bool(let value): Tensor.where(condition, tensor, value)
        }
    }

    @Test("Binary ops and where give torch.result_type", arguments: try Case.load())
    func resultType(_ testCase: Case) throws {
        let lhs = try #require(testCase.lhs.tensor)
        if case .scalar(let scalar) = testCase.rhs {
            #expect(Self.add(lhs, scalar, scalarFirst: false).dtype == testCase.result, "tensor + scalar")
            #expect(Self.add(lhs, scalar, scalarFirst: true).dtype == testCase.result, "scalar + tensor")
            #expect(Self.addLiteral(lhs, scalar, scalarFirst: false).dtype == testCase.result, "tensor + literal")
            #expect(Self.addLiteral(lhs, scalar, scalarFirst: true).dtype == testCase.result, "literal + tensor")
            #expect(Self.whereScalar(lhs, scalar).dtype == testCase.result, "where(condition, tensor, scalar)")
            return
        }
        let rhs = try #require(testCase.rhs.tensor)
        #expect((lhs + rhs).dtype == testCase.result, "lhs + rhs")
        #expect((rhs + lhs).dtype == testCase.result, "rhs + lhs")
        #expect((lhs * rhs).dtype == testCase.result, "lhs * rhs")
        #expect(Tensor.where(Tensor([true, false]), lhs, rhs).dtype == testCase.result, "where(condition, lhs, rhs)")
    }

    /// A Swift number converts once, to the dtype the op computes in, as a Python scalar does
    /// (values recorded from PyTorch 2.15: `torch.tensor([1, 2, 3], dtype=torch.int8) + 300`…).
    @Test func swiftNumbersConvertToTheComputedDtype() {
        func values(_ tensor: Tensor) -> [Double] { tensor.to(.float64).toArray(as: Double.self) }
        let small = Tensor([1, 2, 3], shape: [3]), halves = Tensor([0.3, 1.7], shape: [2])
        #expect(values(small.to(.int8) + 300) == [45, 46, 47])
        #expect(values(small.to(.uint8) * 100) == [100, 200, 44])
        #expect(values(halves.to(.bfloat16) / 3) == [0.10009765625, 0.56640625])
        #expect((Tensor([5, 7], shape: [2]) / 2).dtype == .float32)
        #expect(values(Tensor([5, 7], shape: [2]) / 2) == [2.5, 3.5])
        #expect((small.to(.int32)[0..<2] .< 1.5).toArray(as: Bool.self) == [true, false])
        #expect((Tensor([16_777_217], shape: [1]) .== 16_777_217).toArray(as: Bool.self) == [true])
        #expect((Tensor([16_777_216], shape: [1]).to(.float32) .== 16_777_217).toArray(as: Bool.self) == [true])
    }

    /// Arithmetic between a float16 or bfloat16 tensor and a number gives PyTorch's values
    /// (recorded from PyTorch 2.15): products and quotients compute in float32 with the number
    /// rounded only to float32 (rounding 0.1 to half precision first gives 0.169921875 for
    /// `1.7 * 0.1`, not 0.1700439453125), sums round it to the tensor's dtype, and a number over
    /// a tensor is the reciprocal times the number. A literal and a Swift `Double` alike.
    @Test func halfPrecisionArithmeticWithANumberMatchesPyTorch() {
        let tenth = 0.1
        let expected: [DType: [String: [Double]]] = [
            .float16: [
                "mul": [0.029998779296875, 0.1700439453125, -0.2900390625], "add": [0.39990234375, 1.7998046875, -2.80078125],
                "sub": [0.2000732421875, 1.6005859375, -3.0], "div": [3.0, 17.0, -29.0],
                "reciprocal": [0.333251953125, 0.058837890625, -0.03448486328125], "times3": [0.900390625, 5.1015625, -8.703125],
            ],
            .bfloat16: [
                "mul": [0.030029296875, 0.169921875, -0.291015625], "add": [0.400390625, 1.8046875, -2.8125],
                "sub": [0.201171875, 1.6015625, -3.0], "div": [3.0, 17.0, -29.0],
                "reciprocal": [0.33203125, 0.05859375, -0.034423828125], "times3": [0.90234375, 5.125, -8.75],
            ],
        ]
        for (dtype, cases) in expected {
            let t = Tensor([0.3, 1.7, -2.9], shape: [3]).to(dtype)
            func values(_ result: Tensor) -> [Double] {
                #expect(result.dtype == dtype)
                return result.to(.float64).toArray(as: Double.self)
            }
            #expect(values(t * 0.1) == cases["mul"]!, "\(dtype)")
            #expect(values(tenth * t) == cases["mul"]!, "\(dtype)")
            #expect(values(t + tenth) == cases["add"]!, "\(dtype)")
            #expect(values(0.1 + t) == cases["add"]!, "\(dtype)")
            #expect(values(t - 0.1) == cases["sub"]!, "\(dtype)")
            #expect(values(tenth - t) == cases["sub"]!.map { -$0 }, "\(dtype)")
            #expect(values(t / tenth) == cases["div"]!, "\(dtype)")
            #expect(values(0.1 / t) == cases["reciprocal"]!, "\(dtype)")
            #expect(values(t * 3) == cases["times3"]!, "\(dtype)")
        }
    }

    /// PyTorch's CPU kernels read a 0-dim second operand's own value in float32 beside a float16
    /// or bfloat16 tensor, in place too; a 0-dim first operand is rounded to the tensor's dtype.
    @Test func halfPrecisionBesideA0DimTensorAndInPlaceMatchesPyTorch() {
        let expected: [DType: [String: [Double]]] = [
            .float16: [
                "mul": [0.029998779296875, 0.1700439453125, -0.2900390625, 100.0],
                "roundedMul": [0.029998779296875, 0.169921875, -0.2900390625, 100.0],
                "div3": [0.10003662109375, 0.56689453125, -0.966796875, 333.25],
                "threeOver": [10.0, 1.7646484375, -1.0341796875, 0.0030002593994140625],
                "times5001": [1501.0, 8504.0, -14504.0, .infinity],
                "add": [0.39990234375, 1.7998046875, -2.80078125, 1000.0], "sub": [0.2000732421875, 1.6005859375, -3.0, 1000.0],
            ],
            .bfloat16: [
                "mul": [0.030029296875, 0.169921875, -0.291015625, 100.0],
                "roundedMul": [0.0301513671875, 0.1708984375, -0.291015625, 100.0],
                "div3": [0.10009765625, 0.56640625, -0.96875, 334.0],
                "threeOver": [10.0, 1.7578125, -1.03125, 0.0030059814453125],
                "times5001": [1504.0, 8512.0, -14528.0, 5013504.0],
                "add": [0.400390625, 1.8046875, -2.8125, 1000.0], "sub": [0.201171875, 1.6015625, -3.0, 1000.0],
            ],
        ]
        let tenth = Tensor.full([], 0.1), tenthDouble = Tensor.full([], 0.1, dtype: .float64)
        let three = Tensor.full([], 3.0, dtype: .float64)
        for (dtype, cases) in expected {
            let t = Tensor([0.3, 1.7, -2.9, 1000], shape: [4]).to(dtype)
            func values(_ result: Tensor) -> [Double] {
                #expect(result.dtype == dtype)
                return result.to(.float64).toArray(as: Double.self)
            }
            func inPlace(_ update: (Tensor) -> Void) -> [Double] {
                let copy = t.clone()
                update(copy)
                return values(copy)
            }
            #expect(inPlace { $0.mul_(0.1) } == cases["mul"]!, "\(dtype)")
            #expect(inPlace { $0.mul_(tenth) } == cases["mul"]!, "\(dtype)")
            #expect(inPlace { $0.mul_(tenthDouble) } == cases["mul"]!, "\(dtype)")
            #expect(inPlace { $0 *= 0.1 } == cases["mul"]!, "\(dtype)")
            #expect(inPlace { $0.div_(3.0) } == cases["div3"]!, "\(dtype)")
            #expect(inPlace { $0.add_(0.1) } == cases["add"]!, "\(dtype)")
            #expect(inPlace { $0.sub_(0.1) } == cases["sub"]!, "\(dtype)")
            #expect(values(t * tenth) == cases["mul"]!, "\(dtype)")
            #expect(values(tenth * t) == cases["roundedMul"]!, "\(dtype)")
            #expect(values(t * Tensor.full([], 5001, dtype: .int64)) == cases["times5001"]!, "\(dtype)")
            #expect(values(t / three) == cases["div3"]!, "\(dtype)")
            #expect(values(three / t) == cases["threeOver"]!, "\(dtype)")
        }
    }

    @Test func everyPairIsRecorded() throws {
        #expect(try Case.load().count == 460)
    }
}
