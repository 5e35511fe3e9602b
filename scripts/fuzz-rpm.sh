#!/usr/bin/env bash
# Fuzzes the native .rpm reader (RPMFile(bytes:name:)) with libFuzzer: builds
# Fuzz/RPMFileFuzz with `swiftc -sanitize=fuzzer,address` (TidemarkCore and TidemarkRPM compiled
# in, instrumented), seeds it with real packages made by rpmbuild (uncompressed, gzip, xz, zstd,
# a source package; dependencies of every kind, %dir, %ghost, changelog), and runs RUNS inputs.
# Any trap, sanitizer report, unexpected error or hang is a crash: libFuzzer stops, saves the
# input under .build-fuzz/artifacts/ and this script exits non-zero.
#
#   scripts/fuzz-rpm.sh [RUNS]      RUNS defaults to 1,000,000
#
# Not part of the test suite (it takes minutes). Needs rpmbuild for the seeds
# (scripts/install-test-tools.sh); without it the fuzzer starts from an empty corpus.
# The corpus grows in .build-fuzz/corpus and is reused by the next run.
set -euo pipefail
RUNS=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_DIR:-$ROOT/.build-fuzz}
export PATH=/opt/swift/usr/bin:$PATH
cd "$ROOT"
mkdir -p "$OUT/obj" "$OUT/corpus" "$OUT/seeds" "$OUT/artifacts"

echo "== building the fuzz target (log: $OUT/build.log)"
FLAGS=(-O -wmo -swift-version 6 -sanitize=fuzzer,address -parse-as-library)
build_module() {  # NAME: a static library and module of Sources/NAME
  local name=$1
  mapfile -t files < <(find "Sources/$name" -name '*.swift' | sort)
  swiftc "${FLAGS[@]}" -I "$OUT/obj" -module-name "$name" -emit-module -emit-module-path "$OUT/obj/$name.swiftmodule" \
    -emit-library -static -o "$OUT/obj/lib$name.a" "${files[@]}"
}
build() {
  build_module TidemarkCore && build_module TidemarkRPM &&
    swiftc "${FLAGS[@]}" -I "$OUT/obj" -L "$OUT/obj" -lTidemarkRPM -lTidemarkCore \
      -module-name RPMFileFuzz -o "$OUT/rpmfile-fuzz" Fuzz/RPMFileFuzz/RPMFileFuzz.swift
}
# the linker warns about every ASan helper symbol; keep that out of sight unless the build fails
if ! build >"$OUT/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$OUT/build.log" | tail -40
  echo "fuzz target build failed (full log: $OUT/build.log)" >&2
  exit 1
fi

if [ -z "$(ls -A "$OUT/seeds")" ] && command -v rpmbuild >/dev/null; then
  echo "== building seed packages"
  top=$(mktemp -d)
  trap 'rm -rf "$top"' EXIT
  mkdir -p "$top/SOURCES" "$top/SPECS"
  printf 'hello\n' >"$top/SOURCES/f1"
  printf '#!/bin/sh\necho hi\n' >"$top/SOURCES/f2"
  for payload in w.ufdio w9.gzdio w2.xzdio w3.zstdio; do
    name="seed-${payload//[^a-z]/}"
    cat >"$top/SPECS/$name.spec" <<SPEC
%global _binary_payload $payload
%global _source_payload $payload
%define __os_install_post %{nil}
%define debug_package %{nil}
%define _build_id_links none
Name: $name
Epoch: 2
Version: 1.0~rc1
Release: 3.1
Summary: fuzz seed
License: MIT
URL: https://example.org/seed
Group: Tools
Packager: Seed <seed@example.org>
Vendor: Seed Vendor
AutoReqProv: no
Requires: libfoo >= 1.2
Requires: bar = 2:3.4-5
Requires(pre): coreutils
Requires(post): /bin/sh
Provides: cap(x) = 1.0
Conflicts: old < 2
Obsoletes: older <= 1:1.0-1
Recommends: rec > 1
Suggests: sugg
Supplements: supp
Enhances: enh < 3
%description
fuzz seed
second line
%package -n $name-data
Summary: data
BuildArch: noarch
%description -n $name-data
data
%install
install -D -m 0644 %{_sourcedir}/f1 %{buildroot}/usr/share/$name/f1
install -D -m 0755 %{_sourcedir}/f2 %{buildroot}/usr/bin/$name
install -D -m 0644 %{_sourcedir}/f1 %{buildroot}/etc/$name.conf
mkdir -p %{buildroot}/usr/share/$name/dir %{buildroot}/var/log
ln -s f1 %{buildroot}/usr/share/$name/link
touch %{buildroot}/var/log/$name.log
install -D -m 0644 %{_sourcedir}/f1 %{buildroot}/usr/share/$name-data/d
%files
/usr/share/$name/f1
/usr/share/$name/link
/usr/bin/$name
%config(noreplace) /etc/$name.conf
%dir /usr/share/$name/dir
%ghost /var/log/$name.log
%files -n $name-data
/usr/share/$name-data/d
%changelog
* Mon Jan 06 2025 Alice <alice@example.org> - 1.0~rc1-3.1
- second
* Fri Jan 03 2025 Bob <bob@example.org>
- first
SPEC
    rpmbuild -ba --quiet --define "_topdir $top" --define "_buildhost fuzz-seed" "$top/SPECS/$name.spec" >/dev/null
  done
  find "$top/RPMS" "$top/SRPMS" -name '*.rpm' -exec cp {} "$OUT/seeds/" \;
  echo "   $(ls "$OUT/seeds" | wc -l) seed packages in $OUT/seeds"
fi

echo "== fuzzing: $RUNS runs"
start=$(date +%s)
set +e
"$OUT/rpmfile-fuzz" -runs="$RUNS" -seed=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$OUT/seeds" 2>&1 | tee "$OUT/last-run.log" | grep --line-buffered -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE)'
status=${PIPESTATUS[0]}
set -e
end=$(date +%s)
runs=$(grep -oE '^Done [0-9]+ runs' "$OUT/last-run.log" | grep -oE '[0-9]+' || echo 0)
crashes=$(ls "$OUT/artifacts" | grep -cE '^(crash|leak|timeout|oom)-' || true)
echo "== rpm fuzz: exit $status, $runs runs in $((end - start)) s (wall, fuzzing only), $crashes crash artifacts in $OUT/artifacts"
exit "$status"
