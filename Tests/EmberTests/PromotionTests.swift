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

    @Test func everyPairIsRecorded() throws {
        #expect(try Case.load().count == 460)
    }
}
