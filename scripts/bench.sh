#!/usr/bin/env bash
# Benchmarks for the closing notes (not part of the tests): a release build, a real rpm root of
# 3,000 packages (one rpmbuild of a spec with 3,000 subpackages, installed with rpm -i), then
#   tidemark bench snapshot  (vs rpm --root DIR -qa --qf with the same fields, same run)
#   tidemark bench fleet     (1,000 hosts x 3,000 packages x 60 days, vs a naive table)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
scripts/install-test-tools.sh
swift build -c release --product tidemark 2>&1 | tail -1
tidemark=$(swift build -c release --show-bin-path)/tidemark
work=${BENCH_DIR:-$(mktemp -d)}
count=${BENCH_PACKAGES:-3000}

if [ ! -d "$work/root3000" ]; then
  mkdir -p "$work/rpmbuild/SPECS"
  {
    printf 'Name: bench\nVersion: 1.0\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\nVendor: openSUSE\n'
    printf '%%define _build_id_links none\n%%define __os_install_post %%{nil}\n%%define _binary_payload w0.ufdio\n'
    printf '%%description\nd\n'
    for i in $(seq -w 0 $((count - 1))); do printf '%%package -n bench-%s\nSummary: s\n%%description -n bench-%s\nd\n%%files -n bench-%s\n' "$i" "$i" "$i"; done
    printf '%%changelog\n* Mon Jan 20 2025 Bench <bench@example.com> - 1.0-1\n- bench\n'
  } > "$work/rpmbuild/SPECS/bench.spec"
  rpmbuild --quiet --define "_topdir $work/rpmbuild" -bb "$work/rpmbuild/SPECS/bench.spec" >/dev/null 2>&1
  rpm --root "$work/root3000" --initdb
  rpm --root "$work/root3000" -i --nodeps "$work"/rpmbuild/RPMS/noarch/*.rpm
fi
echo "== bench snapshot ($(rpm --root "$work/root3000" -qa | wc -l) packages)"
"$tidemark" bench snapshot --root "$work/root3000" --runs "${BENCH_RUNS:-7}"
echo "== bench fleet"
"$tidemark" bench fleet ${BENCH_FLEET_ARGS:-}
