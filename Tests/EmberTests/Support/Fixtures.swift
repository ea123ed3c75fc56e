import Foundation

/// Reads a JSON fixture recorded from PyTorch (copied from the project's golden cases).
func fixture(_ name: String) throws -> Any {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw FixtureError.missing(name)
    }
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
}

enum FixtureError: Error { case missing(String) }

/// A fixture number: JSON numbers, `null` for NaN, and the strings "inf" / "-inf".
func fixtureNumber(_ value: Any) -> Double {
    switch value {
    // Linux's JSONSerialization hands back NSDecimalNumber, whose doubleValue can be off in the
    // last place; parsing its decimal text rounds correctly.
    case let number as NSNumber: Double(number.description) ?? number.doubleValue
    case let string as String: string == "inf" ? .infinity : (string == "-inf" ? -.infinity : .nan)
    default: .nan
    }
}
