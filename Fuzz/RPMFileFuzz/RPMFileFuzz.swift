// libFuzzer target for the .rpm reader: arbitrary bytes into RPMFile(bytes:name:) must either
// parse or throw TidemarkError(.corrupt, "fuzz.rpm: …"); a trap, a sanitizer report, a hang or
// any other error is a finding. Built and run by scripts/fuzz-rpm.sh (not part of `swift test`).
//
// Each input goes through the reader twice: as a real caller uses it (digests verified, so most
// mutations stop at a digest mismatch), and through the fuzzing-only entry that skips digest
// matching, so that mutated headers reach the tag parsing (dependencies, file lists, changelog)
// behind the digest checks.
@_spi(Fuzzing) import TidemarkRPM
import TidemarkCore

@_cdecl("LLVMFuzzerTestOneInput")
public func rpmFileFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    check { () throws(TidemarkError) in try RPMFile(bytes: bytes, name: "fuzz.rpm") }
    check { () throws(TidemarkError) in try RPMFile(unverifiedBytes: bytes, name: "fuzz.rpm") }
    return 0
}

/// Runs the reader; on success touches every accessor, on failure insists on a clean rejection.
@inline(never)
func check(_ read: () throws(TidemarkError) -> RPMFile) {
    do {
        let f = try read()
        var sink = f.name.utf8.count &+ f.files.count &+ f.changelog.count &+ f.headerRange.count
        sink &+= f.toPackage().identityKey.utf8.count &+ f.evr.description.utf8.count
        for kind in RPMDependencyKind.allCases {
            for d in f.dependencies(kind) { sink &+= d.name.utf8.count &+ (d.hasBadEpoch ? 1 : 0) &+ (d.comparison == nil ? 0 : 1) }
        }
        for e in f.files { sink &+= e.path.utf8.count &+ e.kind.rawValue.utf8.count }
        if sink == Int.min { print(sink) }  // keep the work from being optimized away
    } catch {
        guard error.code == .corrupt, error.message.hasPrefix("fuzz.rpm: ") else {
            fatalError("RPMFile threw an unexpected error: \(error.code.rawValue): \(error.message)")
        }
    }
}
