import Testing

@testable import Ember

/// PyTorch's repr of a tensor given by its row-major values. The dtype defaults to the one PyTorch
/// infers from such values, and the options to PyTorch's defaults rather than `PrintOptions.current`,
/// so these tests never depend on process-wide state.
private func repr(
    _ values: [PrintScalar], shape: [Int], dtype: DType? = nil, device: String? = nil,
    requiresGrad: Bool = false, gradFnName: String? = nil, options: PrintOptions = PrintOptions()
) -> String {
    let inferredDType: DType =
        switch values.first {
        case .integer: .int64
        case .boolean: .bool
        case .floating, nil: .float32
        }
    return TensorFormatter.format(
        shape: shape, dtype: dtype ?? inferredDType, element: { values[$0] }, device: device,
        requiresGrad: requiresGrad, gradFnName: gradFnName, options: options)
}

private func floats(_ values: [Double]) -> [PrintScalar] { values.map { .floating($0) } }
private func integers(_ values: [Int64]) -> [PrintScalar] { values.map { .integer($0) } }
private func integers(_ values: Range<Int64>) -> [PrintScalar] { values.map { .integer($0) } }

@Suite("Printing")
struct PrintingTests {
    @Test("Every case recorded from PyTorch prints identically")
    func goldenCases() throws {
        let cases = try #require(try fixture("printing") as? [[String: Any]])
        #expect(cases.count == 42)
        for entry in cases {
            let tensor = try #require(entry["tensor"] as? [String: Any])
            let shape = try #require(tensor["shape"] as? [Int])
            let dtype = try #require((tensor["dtype"] as? String).flatMap(DType.init(rawValue:)))
            let rawValues = try #require(tensor["values"] as? [Any])
            let values: [PrintScalar] = rawValues.map {
                let number = fixtureNumber($0)
                if dtype.isFloatingPoint { return .floating(number) }
                return dtype == .bool ? .boolean(number != 0) : .integer(Int64(number))
            }
            let expected = try #require(entry["expected"] as? String)
            let printed = repr(
                values, shape: shape, dtype: dtype, requiresGrad: entry["requires_grad"] as? Bool ?? false)
            #expect(printed == expected, "\(entry["note"] ?? "")")
        }
    }

    // MARK: - Suffixes

    @Test func gradFnReplacesRequiresGradAfterDtype() {
        let printed = repr(
            floats([1.5, -2.25]), shape: [2], dtype: .float64, requiresGrad: true, gradFnName: "MulBackward0")
        #expect(printed == "tensor([ 1.5000, -2.2500], dtype=float64, grad_fn=<MulBackward0>)")
    }

    @Test func seedProgramLoss() {
        let printed = repr(floats([29_428_664]), shape: [], requiresGrad: true, gradFnName: "SumBackward0")
        #expect(printed == "tensor(29428664., grad_fn=<SumBackward0>)")
    }

    @Test func deviceComesFirst() {
        #expect(repr(floats([1, 2]), shape: [2], device: "cuda:0") == "tensor([1., 2.], device='cuda:0')")
        #expect(
            repr(floats([0.5]), shape: [1], dtype: .float64, device: "cuda:0", requiresGrad: true)
                == "tensor([0.5000], device='cuda:0', dtype=float64, requires_grad=True)")
    }

    @Test func halfPrecisionDtypes() {
        #expect(
            repr(floats([0.5, 1, 2.5]), shape: [3], dtype: .float16)
                == "tensor([0.5000, 1.0000, 2.5000], dtype=float16)")
        // bfloat16 holds 0.1 as 0.10009765625, float16 as 0.0999755859375.
        #expect(repr(floats([0.10009765625]), shape: [], dtype: .bfloat16) == "tensor(0.1001, dtype=bfloat16)")
        #expect(repr(floats([0.0999755859375]), shape: [], dtype: .float16) == "tensor(0.1000, dtype=float16)")
    }

    @Test func suffixMovesToItsOwnLineWhenTheRowIsFull() {
        let values = floats([0.2345, -1.2345, 0.1234, 0.5678, -0.9876, 1.2345, -0.1234, 0.4321])
        #expect(
            repr(values, shape: [8], dtype: .float64, requiresGrad: true) == """
                tensor([ 0.2345, -1.2345,  0.1234,  0.5678, -0.9876,  1.2345, -0.1234,  0.4321],
                       dtype=float64, requires_grad=True)
                """)
    }

    @Test func suffixWrapCountsTheLastLineTwoCharactersLong() {
        // "tensor([1., 2.]" is 15 characters: PyTorch keeps a suffix on the line up to 61 characters.
        let fitting = String(repeating: "A", count: 51)
        let wrapping = String(repeating: "A", count: 52)
        #expect(repr(floats([1, 2]), shape: [2], gradFnName: fitting) == "tensor([1., 2.], grad_fn=<\(fitting)>)")
        #expect(
            repr(floats([1, 2]), shape: [2], gradFnName: wrapping) == "tensor([1., 2.],\n       grad_fn=<\(wrapping)>)")
    }

    // MARK: - Empty and 0-dim tensors

    @Test func emptyTensorsNameTheirShapeAndNonFloatDtype() {
        #expect(repr([], shape: [0], dtype: .int64) == "tensor([], dtype=int64)")
        #expect(repr([], shape: [2, 0], dtype: .bool) == "tensor([], size=(2, 0), dtype=bool)")
        #expect(repr([], shape: [0], requiresGrad: true) == "tensor([], requires_grad=True)")
        #expect(repr([], shape: [0, 2, 3], dtype: .float64) == "tensor([], size=(0, 2, 3), dtype=float64)")
    }

    @Test func zeroDimensionalTensorsOfEveryKind() {
        #expect(repr(integers([5]), shape: []) == "tensor(5)")
        #expect(repr(integers([-7]), shape: [], dtype: .int32) == "tensor(-7, dtype=int32)")
        #expect(repr(integers([7]), shape: [], dtype: .uint8) == "tensor(7, dtype=uint8)")
        #expect(repr(integers([-300]), shape: [], dtype: .int16) == "tensor(-300, dtype=int16)")
        #expect(repr([.boolean(true)], shape: []) == "tensor(True)")
        #expect(repr(floats([.infinity]), shape: []) == "tensor(inf)")
        #expect(repr(floats([-.infinity]), shape: [], dtype: .float64) == "tensor(-inf, dtype=float64)")
        #expect(repr(floats([-.nan]), shape: []) == "tensor(nan)")
        #expect(repr(floats([2.5]), shape: [], requiresGrad: true) == "tensor(2.5000, requires_grad=True)")
        #expect(repr(floats([100_000_000]), shape: []) == "tensor(100000000.)")
    }

    // MARK: - Element notation

    @Test func integerTypesPadToTheWidestValue() {
        #expect(repr(integers([0, 255, 7]), shape: [3], dtype: .uint8) == "tensor([  0, 255,   7], dtype=uint8)")
        #expect(repr(integers([-128, 127]), shape: [2], dtype: .int8) == "tensor([-128,  127], dtype=int8)")
    }

    @Test func nonFiniteAndSignedZeroInIntegralMode() {
        #expect(repr(floats([.nan, 1, 2]), shape: [3]) == "tensor([nan, 1., 2.])")
        #expect(repr(floats([-0.0, 1]), shape: [2]) == "tensor([-0., 1.])")
        #expect(repr(floats([.nan, 1.5]), shape: [2]) == "tensor([   nan, 1.5000])")
    }

    @Test func roundingMatchesPythonOnTheExactBinaryValue() {
        // 0.00015 is stored just below the midpoint; 0.125 and 0.375 are exact ties, broken to even.
        #expect(repr(floats([0.00015, 0.01]), shape: [2], dtype: .float64) == "tensor([0.0001, 0.0100], dtype=float64)")
        #expect(repr(floats([0.125, 0.375]), shape: [2], options: PrintOptions(precision: 2)) == "tensor([0.12, 0.38])")
        #expect(
            repr(floats([.leastNonzeroMagnitude, 1e-300]), shape: [2], dtype: .float64)
                == "tensor([4.9407e-324, 1.0000e-300], dtype=float64)")
    }

    // MARK: - Layout

    @Test func longVectorsWrapAtEightyColumns() {
        #expect(
            repr(floats((0..<30).map(Double.init)), shape: [30]) == """
                tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,
                        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,
                        28., 29.])
                """)
    }

    @Test func fourDimensionalBlocksAreSeparatedByTwoBlankLines() {
        #expect(repr(integers(0..<4), shape: [2, 1, 1, 2]) == "tensor([[[[0, 1]]],\n\n\n        [[[2, 3]]]])")
    }

    @Test func summarizedIntegerVector() {
        #expect(repr(integers(0..<2000), shape: [2000]) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])")
    }

    @Test func summarizationOnlyShortensLongDimensions() {
        #expect(
            repr(integers(0..<2000), shape: [2, 1000]) == """
                tensor([[   0,    1,    2,  ...,  997,  998,  999],
                        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])
                """)
    }

    @Test func summarizedThreeDimensionalTensor() {
        #expect(
            repr(integers(0..<2000), shape: [10, 10, 20]) == """
                tensor([[[   0,    1,    2,  ...,   17,   18,   19],
                         [  20,   21,   22,  ...,   37,   38,   39],
                         [  40,   41,   42,  ...,   57,   58,   59],
                         ...,
                         [ 140,  141,  142,  ...,  157,  158,  159],
                         [ 160,  161,  162,  ...,  177,  178,  179],
                         [ 180,  181,  182,  ...,  197,  198,  199]],

                        [[ 200,  201,  202,  ...,  217,  218,  219],
                         [ 220,  221,  222,  ...,  237,  238,  239],
                         [ 240,  241,  242,  ...,  257,  258,  259],
                         ...,
                         [ 340,  341,  342,  ...,  357,  358,  359],
                         [ 360,  361,  362,  ...,  377,  378,  379],
                         [ 380,  381,  382,  ...,  397,  398,  399]],

                        [[ 400,  401,  402,  ...,  417,  418,  419],
                         [ 420,  421,  422,  ...,  437,  438,  439],
                         [ 440,  441,  442,  ...,  457,  458,  459],
                         ...,
                         [ 540,  541,  542,  ...,  557,  558,  559],
                         [ 560,  561,  562,  ...,  577,  578,  579],
                         [ 580,  581,  582,  ...,  597,  598,  599]],

                        ...,

                        [[1400, 1401, 1402,  ..., 1417, 1418, 1419],
                         [1420, 1421, 1422,  ..., 1437, 1438, 1439],
                         [1440, 1441, 1442,  ..., 1457, 1458, 1459],
                         ...,
                         [1540, 1541, 1542,  ..., 1557, 1558, 1559],
                         [1560, 1561, 1562,  ..., 1577, 1578, 1579],
                         [1580, 1581, 1582,  ..., 1597, 1598, 1599]],

                        [[1600, 1601, 1602,  ..., 1617, 1618, 1619],
                         [1620, 1621, 1622,  ..., 1637, 1638, 1639],
                         [1640, 1641, 1642,  ..., 1657, 1658, 1659],
                         ...,
                         [1740, 1741, 1742,  ..., 1757, 1758, 1759],
                         [1760, 1761, 1762,  ..., 1777, 1778, 1779],
                         [1780, 1781, 1782,  ..., 1797, 1798, 1799]],

                        [[1800, 1801, 1802,  ..., 1817, 1818, 1819],
                         [1820, 1821, 1822,  ..., 1837, 1838, 1839],
                         [1840, 1841, 1842,  ..., 1857, 1858, 1859],
                         ...,
                         [1940, 1941, 1942,  ..., 1957, 1958, 1959],
                         [1960, 1961, 1962,  ..., 1977, 1978, 1979],
                         [1980, 1981, 1982,  ..., 1997, 1998, 1999]]])
                """)
    }

    @Test func hugeTensorsOnlyReadTheElementsTheyShow() {
        var reads = 0
        let printed = TensorFormatter.format(
            shape: [100_000, 100_000], dtype: .float32,
            element: { index in
                reads += 1
                return .floating(Double(index % 7))
            },
            device: nil, requiresGrad: false, gradFnName: nil, options: PrintOptions())
        #expect(reads == 36)
        #expect(printed.hasPrefix("tensor([[0., 1., 2.,  ..., 2., 3., 4.],"))
    }

    // MARK: - Options

    @Test func defaultOptionsArePyTorchs() {
        let defaults = PrintOptions()
        #expect(defaults.precision == 4 && defaults.threshold == 1000 && defaults.edgeItems == 3)
        #expect(defaults.lineWidth == 80 && defaults.sciMode == nil)
    }

    @Test func precisionAndLineWidth() {
        #expect(repr(floats([1.12345]), shape: [1], options: PrintOptions(precision: 2)) == "tensor([1.12])")
        #expect(
            repr(integers(0..<10), shape: [10], options: PrintOptions(lineWidth: 20))
                == "tensor([0, 1, 2, 3,\n        4, 5, 6, 7,\n        8, 9])")
    }

    @Test func thresholdAndEdgeItems() {
        let options = PrintOptions(threshold: 5, edgeItems: 2)
        #expect(repr(integers(0..<10), shape: [10], options: options) == "tensor([0, 1,  ..., 8, 9])")
        // Python's `t[-0:]` is the whole vector, so zero edge items still show everything after "...".
        #expect(
            repr(integers(0..<10), shape: [10], options: PrintOptions(threshold: 5, edgeItems: 0))
                == "tensor([ ..., 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])")
    }

    @Test func forcedScientificMode() {
        let scientific = PrintOptions(sciMode: true)
        #expect(repr(floats([1, 2]), shape: [2], options: scientific) == "tensor([1.0000e+00, 2.0000e+00])")
        // Only zeros: PyTorch decides before it consults sci_mode.
        #expect(repr(floats([0, 0]), shape: [2], options: scientific) == "tensor([0., 0.])")
    }

    @Test func forcedFixedModeKeepsTheScientificWidth() {
        let values = floats([9.999999747378752e-06, 1, 1_000_000])
        #expect(
            repr(values, shape: [3], options: PrintOptions(sciMode: false))
                == "tensor([    0.0000,     1.0000, 1000000.0000])")
    }
}
