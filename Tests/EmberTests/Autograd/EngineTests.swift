import Testing

@testable import Ember

/// The engine's bookkeeping on graphs larger than the tests of single ops build.
@Suite("Engine")
struct EngineTests {
    @Test func nodeIndexNumbersEachNodeOnceAcrossGrowth() {
        let nodes = (0..<1000).map { Node(name: "N\($0)", nextEdges: [], outputs: [], body: nil) }
        var index = NodeIndex()
        let fresh = nodes.indices.map { index.insert(nodes[$0], as: $0) }
        let again = nodes.map { index.insert($0, as: -1) }
        #expect(fresh.allSatisfy { $0 } && again.allSatisfy { !$0 })
        #expect(nodes.indices.allSatisfy { index[nodes[$0]] == $0 })
        // The index does not retain its nodes; kept alive here, no other node can take an address.
        withExtendedLifetime(nodes) {
            #expect(index[Node(name: "other", nextEdges: [], outputs: [], body: nil)] == nil)
        }
    }

    @Test func longChainsAndWideFanInGetExactGradients() {
        // d/dw of sum(w * 2^-1 * ... ) over 500 steps, and of w used by 300 branches at once.
        let w = Tensor([1.0, -2.0, 3.0], shape: [3], requiresGrad: true)
        var z = w
        for _ in 0..<500 { z = z * 0.5 + z * 0.5 }
        z.sum().backward()
        #expect(w.grad!.toArray(as: Double.self) == [1, 1, 1])

        let v = Tensor([2.0, 4.0], shape: [2], requiresGrad: true)
        let branches = (1...300).map { v * Double($0) }
        Tensor.stack(branches).sum().backward()
        #expect(v.grad!.toArray(as: Double.self) == [45150, 45150])
    }
}
