#!/usr/bin/env bash
# The test command: one debug build, then every test (Swift Testing) against real rpm, zypper,
# createrepo_c and dpkg. Install the tools first: scripts/install-test-tools.sh (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build --build-tests
swift test --skip-build "$@"
