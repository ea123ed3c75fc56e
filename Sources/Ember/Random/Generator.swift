// TEMPORARY STUB: replaced by the real generator (helper).
public final class Generator: @unchecked Sendable {
    public init(seed: UInt64 = 67280421310721) {}
    public func manualSeed(_ seed: UInt64) {}
    public var initialSeed: UInt64 { 0 }
    public static let defaultCPU = Generator()
    func fillNormal(_ buffer: UnsafeMutablePointer<Float>, count: Int, mean: Double, std: Double, contiguous: Bool = true) {
        for i in 0..<count { buffer[i] = Float(mean) + Float(std) * Float.random(in: -1...1) }
    }
    func fillNormal(_ buffer: UnsafeMutablePointer<Double>, count: Int, mean: Double, std: Double, contiguous: Bool = true) {
        for i in 0..<count { buffer[i] = mean + std * Double.random(in: -1...1) }
    }
    func fillUniform(_ buffer: UnsafeMutablePointer<Float>, count: Int, from: Double, to: Double) {
        for i in 0..<count { buffer[i] = Float.random(in: Float(from)..<Float(to)) }
    }
    func fillUniform(_ buffer: UnsafeMutablePointer<Double>, count: Int, from: Double, to: Double) {
        for i in 0..<count { buffer[i] = Double.random(in: from..<to) }
    }
    func fillRandom(_ buffer: UnsafeMutablePointer<Int64>, count: Int, low: Int64, high: Int64) {
        for i in 0..<count { buffer[i] = Int64.random(in: low..<high) }
    }
}
public func manualSeed(_ seed: UInt64) { Generator.defaultCPU.manualSeed(seed) }
