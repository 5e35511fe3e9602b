extension Array {
    /// Consecutive slices of at most `size` elements: how large sets are cut into statements
    /// with a bounded number of parameters.
    public func chunked(_ size: Int) -> [ArraySlice<Element>] {
        guard !isEmpty else { return [] }
        return stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
