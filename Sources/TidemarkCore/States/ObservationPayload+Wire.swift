#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The wire codec of `ObservationPayload`: the same JSON as its `Codable` conformance, read and
/// written without `JSONDecoder`/`JSONEncoder` for the packages, which are nearly all of the bytes
/// (see `JSONReader`). The small, rare parts (repositories, changelogs) go through `Codable`.
extension ObservationPayload {
    /// Decodes a request body. Unknown fields are ignored, as `Codable` does; a known field of the
    /// wrong type, a missing required field or broken JSON throws `invalidInput` naming it.
    public init(json bytes: [UInt8], cache: WirePackageCache? = nil) throws(TidemarkError) {
        var r = JSONReader(bytes)
        var host: String?, at: Timestamp?, source: ObservationSource?, state: StateID?
        var packages: [WirePackage]?, repositories: [Repository]?, changelogs: [String: [ChangelogEntry]]?
        var base: StateID?, added: [WirePackage]?, removed: [String]?
        try r.readObject(at: "") { r, key throws(TidemarkError) in
            switch key {
            case "host": host = try r.readString(at: "host")
            case "at": at = try Self.timestamp(&r, at: "at")
            case "source": source = try Self.enumValue(&r, at: "source")
            case "state": state = StateID(hex: try r.readString(at: "state"))
            case "packages": packages = try Self.packages(&r, at: "packages", capacity: bytes.count / 256, cache: cache)
            case "repositories": repositories = try Self.codable(&r, at: "repositories")
            case "changelogs": changelogs = try Self.codable(&r, at: "changelogs")
            case "base": base = try r.readOptionalString(at: "base").map(StateID.init(hex:))
            case "added": added = try Self.packages(&r, at: "added", capacity: 4, cache: cache)
            case "removed":
                if try r.readNull() { removed = nil; return }
                var keys: [String] = []
                try r.readArray(at: "removed") { r, i throws(TidemarkError) in keys.append(try r.readString(at: "removed[\(i)]")) }
                removed = keys
            default: try r.skipValue()
            }
        }
        try r.end()
        func required<T>(_ v: T?, _ name: String) throws(TidemarkError) -> T {
            guard let v else { throw TidemarkError(.invalidInput, "\(name): required field is missing") }
            return v
        }
        self.host = try required(host, "host")
        self.at = try required(at, "at")
        self.source = try required(source, "source")
        self.state = try required(state, "state")
        self.packages = packages
        self.repositories = repositories
        self.changelogs = changelogs
        self.base = base
        self.added = added
        self.removed = removed
    }

    /// An array of package objects (`packages`, `added`), each recognized by its bytes when the
    /// cache has seen them (see `WirePackageCache`).
    private static func packages(_ r: inout JSONReader, at path: String, capacity: Int, cache: WirePackageCache?) throws(TidemarkError) -> [WirePackage]? {
        if try r.readNull() { return nil }
        var list: [WirePackage] = []
        list.reserveCapacity(capacity)
        try r.readArray(at: path) { r, i throws(TidemarkError) in
            guard let cache else {
                list.append(try WirePackage.read(&r, at: "\(path)[\(i)]"))
                return
            }
            // A package object has one nested object (evr): it likely ends at the second `}`.
            if let guess = r.guessObject(closingBraces: 2), let hit = cache.lookup(r.bytes[guess]) {
                list.append(hit)
                r.seek(to: guess.upperBound)
                return
            }
            r.skipWhiteSpace()
            let start = r.offset
            let package = try WirePackage.read(&r, at: "\(path)[\(i)]")
            cache.insert(r.bytes[start..<r.offset], package)
            list.append(package)
        }
        return list
    }

    /// The JSON body (compact; decodes with `init(json:)` and with `Codable` alike).
    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 256 + (packages?.count ?? 0) * 200)
        Self.writeHead(&w, host: host, at: at, source: source, state: state)
        func list(_ name: StaticString, _ packages: [WirePackage]?) {
            guard let packages else { return }
            w.raw(",")
            w.key(name)
            w.raw("[")
            for (i, p) in packages.enumerated() {
                if i > 0 { w.raw(",") }
                p.write(&w)
            }
            w.raw("]")
        }
        list("packages", packages)
        if let base {
            w.raw(",")
            w.key("base")
            w.string(base.hex)
        }
        list("added", added)
        if let removed {
            w.raw(",")
            w.key("removed")
            w.raw("[")
            for (i, k) in removed.enumerated() {
                if i > 0 { w.raw(",") }
                w.string(k)
            }
            w.raw("]")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let repositories, let data = try? encoder.encode(repositories) {
            w.raw(",")
            w.key("repositories")
            w.raw(Array(data))
        }
        if let changelogs, let data = try? encoder.encode(changelogs) {
            w.raw(",")
            w.key("changelogs")
            w.raw(Array(data))
        }
        w.raw("}")
        return w.bytes
    }

    /// The body of a full observation whose packages are already encoded (`WirePackage.json()`,
    /// in state order, `state` their content address): for a sender that keeps encoded packages
    /// between observations, such as `tidemark bench load`, which shares the machine with the
    /// server it measures and must cost it little.
    public static func json(host: String, at: Timestamp, source: ObservationSource, state: StateID, encodedPackages: [[UInt8]]) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + encodedPackages.reduce(0) { $0 + $1.count + 1 })
        writeHead(&w, host: host, at: at, source: source, state: state)
        w.raw(",")
        w.key("packages")
        w.raw("[")
        for (i, p) in encodedPackages.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw(p)
        }
        w.raw("]}")
        return w.bytes
    }

    private static func writeHead(_ w: inout JSONWriter, host: String, at: Timestamp, source: ObservationSource, state: StateID) {
        w.raw("{")
        w.key("host")
        w.string(host)
        w.raw(",")
        w.key("at")
        w.string(at.iso8601)
        w.raw(",")
        w.key("source")
        w.string(source.rawValue)
        w.raw(",")
        w.key("state")
        w.string(state.hex)
    }

    private static func timestamp(_ r: inout JSONReader, at path: String) throws(TidemarkError) -> Timestamp {
        if try r.kind() == .number { return Timestamp(seconds: try r.readInt64(at: path)) }
        let text = try r.readString(at: path)
        guard let t = Timestamp.parseISO8601(text) else { throw TidemarkError(.invalidInput, "\(path): not an ISO 8601 time: \(text)") }
        return t
    }

    fileprivate static func enumValue<E: RawRepresentable & CaseIterable>(_ r: inout JSONReader, at path: @autoclosure () -> String) throws(TidemarkError) -> E where E.RawValue == String {
        let text = try r.readString(at: path())
        guard let v = E(rawValue: text) else {
            throw TidemarkError(.invalidInput, "\(path()): '\(text)' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    /// A small value decoded by `Codable` from its own bytes, errors prefixed with its path.
    private static func codable<T: Decodable>(_ r: inout JSONReader, at path: String) throws(TidemarkError) -> T? {
        if try r.readNull() { return nil }
        let range = try r.skipValue()
        do {
            return try JSONDecoder().decode(T.self, from: Data(r.bytes[range]))
        } catch let e as DecodingError {
            var where_ = path
            let context: DecodingError.Context?
            switch e {
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
            case .keyNotFound(let key, let c):
                for k in c.codingPath + [key] { where_ += k.intValue.map { "[\($0)]" } ?? ".\(k.stringValue)" }
                throw TidemarkError(.invalidInput, "\(where_): required field is missing")
            @unknown default: context = nil
            }
            for k in context?.codingPath ?? [] { where_ += k.intValue.map { "[\($0)]" } ?? ".\(k.stringValue)" }
            throw TidemarkError(.invalidInput, "\(where_): \(context?.debugDescription ?? "invalid value")")
        } catch {
            throw TidemarkError(.invalidInput, "\(path): \(error)")
        }
    }
}

extension ObservationPayload.WirePackage {
    fileprivate static func read(_ r: inout JSONReader, at path: @autoclosure () -> String) throws(TidemarkError) -> Self {
        var format: PackageFormat?, name: String?, evr: EVR?, arch: String?
        var digest: String?, vendor: String?, source: String?, disturl: String?, buildTime: Int64?, status: String?, installTime: Int64?
        try r.readObject(at: path()) { r, key throws(TidemarkError) in
            switch key {
            case "format": format = try ObservationPayload.enumValue(&r, at: path() + ".format")
            case "name": name = try r.readString(at: path() + ".name")
            case "evr":
                var epoch: Int64?, version: String?, release: String?
                try r.readObject(at: path() + ".evr") { r, key throws(TidemarkError) in
                    switch key {
                    case "epoch": epoch = try r.readInt64(at: path() + ".evr.epoch")
                    case "version": version = try r.readString(at: path() + ".evr.version")
                    case "release": release = try r.readString(at: path() + ".evr.release")
                    default: try r.skipValue()
                    }
                }
                guard let epoch else { throw TidemarkError(.invalidInput, "\(path()).evr.epoch: required field is missing") }
                guard let e = Int(exactly: epoch), e >= 0 else { throw TidemarkError(.invalidInput, "\(path()).evr.epoch: \(epoch) is not a valid epoch") }
                guard let version else { throw TidemarkError(.invalidInput, "\(path()).evr.version: required field is missing") }
                guard let release else { throw TidemarkError(.invalidInput, "\(path()).evr.release: required field is missing") }
                evr = EVR(epoch: e, version: version, release: release)
            case "arch": arch = try r.readString(at: path() + ".arch")
            case "digest": digest = try r.readOptionalString(at: path() + ".digest")
            case "vendor": vendor = try r.readOptionalString(at: path() + ".vendor")
            case "source": source = try r.readOptionalString(at: path() + ".source")
            case "disturl": disturl = try r.readOptionalString(at: path() + ".disturl")
            case "buildTime": buildTime = try r.readOptionalInt64(at: path() + ".buildTime")
            case "status": status = try r.readOptionalString(at: path() + ".status")
            case "installTime": installTime = try r.readOptionalInt64(at: path() + ".installTime")
            default: try r.skipValue()
            }
        }
        guard let format else { throw TidemarkError(.invalidInput, "\(path()).format: required field is missing") }
        guard let name else { throw TidemarkError(.invalidInput, "\(path()).name: required field is missing") }
        guard let evr else { throw TidemarkError(.invalidInput, "\(path()).evr: required field is missing") }
        guard let arch else { throw TidemarkError(.invalidInput, "\(path()).arch: required field is missing") }
        let package = Package(
            format: format, name: name, evr: evr, arch: arch, digest: digest, vendor: vendor, source: source,
            disturl: disturl, buildTime: buildTime, status: status)
        return Self(InstalledPackage(package, installTime: installTime))
    }

    /// This package as one element of a body's `packages` array.
    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        write(&w)
        return w.bytes
    }

    fileprivate func write(_ w: inout JSONWriter) {
        w.raw("{")
        w.key("format")
        w.string(package.format.rawValue)
        w.raw(",")
        w.key("name")
        w.string(package.name)
        w.raw(",")
        w.key("evr")
        w.raw("{")
        w.key("epoch")
        w.int(Int64(package.evr.epoch))
        w.raw(",")
        w.key("version")
        w.string(package.evr.version)
        w.raw(",")
        w.key("release")
        w.string(package.evr.release)
        w.raw("},")
        w.key("arch")
        w.string(package.arch)
        func optional(_ k: StaticString, _ v: String?) {
            guard let v else { return }
            w.raw(",")
            w.key(k)
            w.string(v)
        }
        optional("digest", package.digest)
        optional("vendor", package.vendor)
        optional("source", package.source)
        optional("disturl", package.disturl)
        func optional(_ k: StaticString, _ v: Int64?) {
            guard let v else { return }
            w.raw(",")
            w.key(k)
            w.int(v)
        }
        optional("buildTime", package.buildTime)
        optional("status", package.status)
        optional("installTime", installTime)
        w.raw("}")
    }
}
