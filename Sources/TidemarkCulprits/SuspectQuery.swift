import Foundation
import TidemarkCore

/// The parameters of a suspects query, parsed the same way by the CLI and the server.
public enum SuspectQuery {
    /// Two days: an update stream of a day, and the failures it caused.
    public static let defaultWindow: Int64 = 48 * 3600
    /// Ten years: beyond that a window means nothing and its arithmetic would not be safe.
    public static let maxWindow: Int64 = 3650 * 86400

    public static func window(_ text: String) throws(TidemarkError) -> Int64 {
        guard let s = DurationText.parse(text), s > 0 else {
            throw TidemarkError(.invalidArgument, "'\(text)' is not a duration (48h, 90m, 2d)")
        }
        guard Int64(s) <= maxWindow else { throw TidemarkError(.invalidArgument, "'\(text)' is longer than 3650 days") }
        return Int64(s)
    }

    public static func regex(_ text: String) throws(TidemarkError) -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: text) } catch {
            throw TidemarkError(.invalidArgument, "'\(text)' is not a regular expression (ICU syntax)")
        }
    }
}
