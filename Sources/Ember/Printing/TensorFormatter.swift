import Foundation

/// One element as printing sees it.
enum PrintScalar {
    case floating(Double)
    case integer(Int64)
    case boolean(Bool)

    /// The element as a floating-point tensor holds it.
    var doubleValue: Double {
        switch self {
        case .floating(let value): value
        case .integer(let value): Double(value)
        case .boolean(let value): value ? 1 : 0
        }
    }

    /// Python's `str()` of the element, as integer and bool tensors print it.
    var pythonText: String {
        switch self {
        case .integer(let value): String(value)
        case .boolean(let value): value ? "True" : "False"
        case .floating(let value): pythonFixed(value, digits: 0)
        }
    }
}

/// Writes tensors exactly as PyTorch's `repr` (`torch/_tensor_str.py`) does, except that the dtype
/// suffix reads `dtype=float64` rather than `dtype=torch.float64`.
enum TensorFormatter {
    /// PyTorch's repr. `element(i)` returns the i-th element in row-major (logical) order; only the
    /// elements that are shown are requested, once each, so huge summarized tensors print fast.
    /// `device` is nil for the CPU, else its name (`"cuda:0"`); `options` are the print options to
    /// follow, `PrintOptions.current` unless given.
    static func format(
        shape: [Int], dtype: DType, element: (Int) -> PrintScalar,
        device: String?, requiresGrad: Bool, gradFnName: String?,
        options: PrintOptions = .current
    ) -> String {
        let prefix = "tensor("
        let indent = prefix.count
        var suffixes: [String] = []
        if let device { suffixes.append("device='\(device)'") }

        let contents: String
        if shape.contains(0) {
            // An empty tensor has no elements to hint at its shape or dtype, so both are spelled out
            // unless they are what `tensor([])` would give.
            if shape.count != 1 { suffixes.append("size=\(pythonTuple(shape))") }
            if dtype != .defaultFloat { suffixes.append("dtype=\(dtype)") }
            contents = "[]"
        } else {
            // These are the dtypes PyTorch infers from Python floats, ints and bools; others are named.
            if ![DType.defaultFloat, .int64, .bool].contains(dtype) { suffixes.append("dtype=\(dtype)") }
            let summarize = shape.reduce(1, *) > options.threshold
            let shown = ShownElements(shape: shape, summarize: summarize, edgeItems: options.edgeItems)
            let values = shown.gather(element)
            let formatter = ElementFormatter(dtype: dtype, values: values, options: options)
            contents = shown.render(values, formatter: formatter, indent: indent, lineWidth: options.lineWidth)
        }

        if let gradFnName {
            suffixes.append("grad_fn=<\(gradFnName)>")
        } else if requiresGrad {
            suffixes.append("requires_grad=True")
        }
        return appending(suffixes, to: prefix + contents, indent: indent, lineWidth: options.lineWidth)
    }

    /// Joins the suffixes after the contents, starting a new line for each one that would pass the width.
    private static func appending(_ suffixes: [String], to text: String, indent: Int, lineWidth: Int) -> String {
        var result = text
        // PyTorch's `_add_suffixes` counts the contents' last line two characters longer than it is
        // (but not a line it starts itself); wrapping only matches if the count does.
        var lineLength = text.reversed().prefix { $0 != "\n" }.count + 2
        for suffix in suffixes {
            if lineLength + suffix.count + 2 > lineWidth {
                result += ",\n" + String(repeating: " ", count: indent) + suffix
                lineLength = indent + suffix.count
            } else {
                result += ", " + suffix
                lineLength += suffix.count + 2
            }
        }
        return result + ")"
    }

    /// Python's `str(tuple(shape))`: `(0,)`, `(0, 3)`.
    private static func pythonTuple(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    }
}

/// The elements printing shows: all of them, or only `edgeItems` at each end of every dimension
/// when the tensor is summarized.
private struct ShownElements {
    let shape: [Int]
    let summarize: Bool
    let edgeItems: Int

    /// The indices shown along `dim`: `head`, then `...` and `tail` when part of the dimension is elided.
    func positions(along dim: Int) -> (head: Range<Int>, tail: Range<Int>?) {
        let size = shape[dim]
        guard summarize && size > 2 * edgeItems else { return (0..<size, nil) }
        // PyTorch slices a vector's end with `t[-edgeitems:]`, and `t[-0:]` is the whole vector; outer
        // dimensions use `range(size - edgeitems, size)`, which is empty then.
        let tailStart = edgeItems == 0 && dim == shape.count - 1 ? 0 : size - edgeItems
        return (0..<edgeItems, tailStart..<size)
    }

    /// The shown elements in the order `render` consumes them.
    func gather(_ element: (Int) -> PrintScalar) -> [PrintScalar] {
        var values: [PrintScalar] = []
        func visit(dim: Int, offset: Int, stride: Int) {
            if dim == shape.count {
                values.append(element(offset))
                return
            }
            let innerStride = stride / shape[dim]
            let (head, tail) = positions(along: dim)
            for index in [head, tail ?? 0..<0].joined() {
                visit(dim: dim + 1, offset: offset + index * innerStride, stride: innerStride)
            }
        }
        visit(dim: 0, offset: 0, stride: shape.reduce(1, *))
        return values
    }

    /// The bracketed contents, from the values `gather` returned.
    func render(_ values: [PrintScalar], formatter: ElementFormatter, indent: Int, lineWidth: Int) -> String {
        var remaining = values.makeIterator()
        func nextText() -> String { formatter.text(for: remaining.next()!) }

        func block(dim: Int, indent: Int) -> String {
            guard dim < shape.count else { return nextText() }
            let (head, tail) = positions(along: dim)
            let isVector = dim == shape.count - 1
            let elided = isVector ? " ..." : "..."
            func item(_: Int) -> String { isVector ? nextText() : block(dim: dim + 1, indent: indent + 1) }
            var items = head.map(item)
            if let tail { items += [elided] + tail.map(item) }

            let continuation = String(repeating: " ", count: indent + 1)
            guard isVector else {
                // Blocks of a 3-d tensor are set apart by one blank line, of a 4-d one by two, and so on.
                let separator = "," + String(repeating: "\n", count: shape.count - dim - 1) + continuation
                return "[" + items.joined(separator: separator) + "]"
            }
            // Each element takes its width plus ", "; PyTorch floors the quotient but keeps at least one.
            let perLine = max(1, (lineWidth - indent) / (formatter.width + 2))
            let lines = stride(from: 0, to: items.count, by: perLine).map {
                items[$0..<min($0 + perLine, items.count)].joined(separator: ", ")
            }
            return "[" + lines.joined(separator: ",\n" + continuation) + "]"
        }
        return block(dim: 0, indent: indent)
    }
}

/// PyTorch's `_Formatter`: one notation and one column width shared by every element of a tensor,
/// chosen from the shown elements.
private struct ElementFormatter {
    private enum Notation { case plain, integral, fixed, scientific }

    /// The column width every element is right-aligned to.
    let width: Int
    private let notation: Notation
    private let precision: Int

    init(dtype: DType, values: [PrintScalar], options: PrintOptions) {
        precision = options.precision
        guard dtype.isFloatingPoint else {
            notation = .plain
            width = values.reduce(1) { max($0, $1.pythonText.count) }
            return
        }
        let significant = values.map(\.doubleValue).filter { $0.isFinite && $0 != 0 }
        guard let smallest = significant.lazy.map(abs).min(), let largest = significant.lazy.map(abs).max() else {
            // Only zeros, NaN and infinities: PyTorch stops here, ignoring a forced scientific mode.
            notation = .integral
            width = 1
            return
        }
        let isIntegral = significant.allSatisfy { $0.rounded(.up) == $0 }
        let isWideRange = largest / smallest > 1000 || largest > 1e8
        // Integral values never look small, so only fractional ones switch to exponents below 1e-4.
        let prefersScientific = isWideRange || (!isIntegral && smallest < 1e-4)

        // The width comes from the notation the values chose, even when `sciMode` then overrides it.
        let measure: (Double) -> Int
        if prefersScientific {
            measure = { [precision] in pythonScientific($0, digits: precision).count }
        } else if isIntegral {
            measure = { pythonFixed($0, digits: 0).count + 1 }  // room for the trailing "."
        } else {
            measure = { [precision] in pythonFixed($0, digits: precision).count }
        }
        width = significant.reduce(1) { max($0, measure($1)) }

        if options.sciMode ?? prefersScientific {
            notation = .scientific
        } else {
            notation = isIntegral ? .integral : .fixed
        }
    }

    /// One element, right-aligned to `width` (longer texts are left whole).
    func text(for scalar: PrintScalar) -> String {
        let text: String
        switch notation {
        case .plain: text = scalar.pythonText
        case .scientific: text = pythonScientific(scalar.doubleValue, digits: precision)
        case .fixed: text = pythonFixed(scalar.doubleValue, digits: precision)
        case .integral:
            let value = scalar.doubleValue
            // The "." marks a float tensor whose values happen to be whole: `tensor([1., 2.])`.
            text = pythonFixed(value, digits: 0) + (value.isFinite ? "." : "")
        }
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// Python's `'{:.Nf}'.format(value)`. C's printf rounds the exact binary value half-to-even just as
/// Python does, but may write NaN as `-nan`, which Python never does.
private func pythonFixed(_ value: Double, digits: Int) -> String {
    value.isNaN ? "nan" : String(format: "%.\(digits)f", value)
}

/// Python's `'{:.Ne}'.format(value)`: like C's `%.Ne`, with at least two exponent digits, and NaN unsigned.
private func pythonScientific(_ value: Double, digits: Int) -> String {
    value.isNaN ? "nan" : String(format: "%.\(digits)e", value)
}
