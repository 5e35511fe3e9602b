#!/usr/bin/env bash
# Fuzzes a real `tidemark server` against its own /openapi.json with schemathesis: every
# documented endpoint, generated valid and invalid inputs, an admin token so the handlers (not
# only the auth check) run. Fails on any 5xx, on a crash, or on a schema the tool cannot load.
#
#   scripts/openapi-check.sh                 # builds nothing: uses $TIDEMARK_BIN or .build/debug/tidemark
#   EXAMPLES=100 scripts/openapi-check.sh    # more examples per operation (default 30)
#
# Needs `pip install schemathesis` (4.x; 3.x flags are used when that is what is installed).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${TIDEMARK_BIN:-.build/debug/tidemark}
EXAMPLES=${EXAMPLES:-30}
BIN=$(realpath "$BIN" 2>/dev/null || echo "$BIN")
[ -x "$BIN" ] || { echo "openapi-check: $BIN not found: run 'swift build' or set TIDEMARK_BIN" >&2; exit 2; }
# pip may have put it beside the interpreter without a shim yet
PATH=$PATH:$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))')
command -v schemathesis >/dev/null || { echo "openapi-check: schemathesis not found: pip install schemathesis" >&2; exit 2; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" token create --role admin --note openapi-check --db "$tmp/db.sqlite" > "$tmp/admin"
"$BIN" server --listen "127.0.0.1:$port" --db "$tmp/db.sqlite" --archive "$tmp/archive" 2> "$tmp/server.log" &
pid=$!
for _ in $(seq 1 300); do
    curl -fsS -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.1
done

if schemathesis run --help | grep -q -- '--max-examples'; then
    # Health checks judge schemathesis's own data generation (a random seed sometimes filters
    # too many examples for an operation), not the server: what this check asserts is no 5xx.
    limit=(--max-examples "$EXAMPLES" --suppress-health-check all)
else
    limit=(--hypothesis-max-examples "$EXAMPLES")
fi
status=0
# From the temporary directory: schemathesis leaves a .schemathesis/ cache where it runs.
(cd "$tmp" && timeout 900 schemathesis run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error "${limit[@]}" --request-timeout 30 \
    -H "Authorization: Bearer $(cat "$tmp/admin")") || status=$?

if ! kill -0 "$pid" 2>/dev/null; then
    echo "openapi-check: the server died during the run" >&2
    tail -50 "$tmp/server.log" >&2
    exit 1
fi
if grep -E 'status=5[0-9][0-9]' "$tmp/server.log" >&2; then
    echo "openapi-check: the server answered 5xx (lines above)" >&2
    exit 1
fi
requests=$(grep -c 'status=' "$tmp/server.log" || true)
echo "openapi-check: $requests requests, no 5xx; schemathesis exit status $status"
exit "$status"
