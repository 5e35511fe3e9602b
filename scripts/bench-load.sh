#!/usr/bin/env bash
# The server load benchmark for the closing notes (not part of the tests): a release build, then
# for SQLite and for PostgreSQL (a throwaway cluster, durable defaults: fsync and synchronous_commit
# on) a `tidemark server` and, as its own process, `tidemark bench load` playing 1,000 hosts of
# 3,000 packages over loopback (heartbeats, then changed snapshots), with the disk's own fdatasync
# latency measured beside it (--disk-probe, on the stores' filesystem). Also the agent's CPU time and
# peak memory for one collection of a 3,000-package rpm root (built by scripts/bench.sh's recipe).
#   BENCH_DIR=dir (kept between runs), BENCH_LOAD_ARGS="--hosts 1000 --packages 3000 --duration 60",
#   BENCH_HEARTBEAT_RATE=3000 BENCH_SNAPSHOT_RATE=150 (the open-loop pass: the issue's goals),
#   TIDEMARK_BIN=path (use that release binary instead of building one),
#   BENCH_BACKENDS="sqlite postgresql" (which to run), BENCH_PASSES="closed open" (which passes),
#   BENCH_LOAD_ARGS="--full-snapshots" sends changed snapshots whole instead of as the agent does,
#   BENCH_PG_OPTIONS="-c name=value …" (the PostgreSQL server's settings; default below)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
if [ -n "${TIDEMARK_BIN:-}" ]; then
  tidemark=$TIDEMARK_BIN   # a release binary built elsewhere
else
  swift build -c release --product tidemark 2>&1 | tail -1
  tidemark=$(swift build -c release --show-bin-path)/tidemark
fi
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
port=${BENCH_PORT:-18795}
server_pid=
pg_data=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if [ -n "$pg_data" ]; then runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

run_load() { # $1 = label, $2 = --db value, $3 = a command for --after-warm-up (or nothing)
  local db=$2 settle=()
  [ -n "${3:-}" ] && settle=(--after-warm-up "$3")
  local load=("$tidemark" bench load --server "http://127.0.0.1:$port" --token-file "$work/admin.token" --disk-probe "$work")
  "$tidemark" token create --role admin --db "$db" --note bench > "$work/admin.token" 2>/dev/null
  "$tidemark" server --db "$db" --listen "127.0.0.1:$port" 2> "$work/server-$1.log" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  if [[ " ${BENCH_PASSES:-closed open} " == *" closed "* ]]; then
    echo "== bench load: $1, closed loop (capacity)"
    "${load[@]}" "${settle[@]}" ${BENCH_LOAD_ARGS:-}
  fi
  if [[ " ${BENCH_PASSES:-closed open} " == *" open "* ]]; then
    echo "== bench load: $1, open loop at the goal rates (latency at that load)"
    "${load[@]}" --heartbeat-rate "${BENCH_HEARTBEAT_RATE:-3000}" --snapshot-rate "${BENCH_SNAPSHOT_RATE:-150}" "${settle[@]}" ${BENCH_LOAD_ARGS:-}
  fi
  awk '{printf "server CPU (all passes): %.1f s user, %.1f s system\n", $14/100, $15/100}' "/proc/$server_pid/stat"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
}

backends=" ${BENCH_BACKENDS:-sqlite postgresql} "
if [[ "$backends" == *" sqlite "* ]]; then
  rm -f "$work"/load.sqlite*
  run_load sqlite "$work/load.sqlite"
fi

if [[ "$backends" == *" postgresql "* ]]; then
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_data="$work/pg"
# Sized as a database server on this machine would be (PostgreSQL's defaults are for 128 MB of
# shared buffers and a checkpoint every 1 GB of WAL, which the warm-up's bulk load crosses in the
# measured phases); durability unchanged. BENCH_PG_OPTIONS replaces these. After the warm-up:
# VACUUM (ANALYZE), which autovacuum would otherwise start mid-measurement, then CHECKPOINT and
# sync, so that the bulk load's gigabytes of dirty pages are not being flushed to the disk under
# the measured phases (as pgbench-style runs do: measure the steady state, not the load's tail).
pg_options="-c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=15min"
rm -rf "$pg_data" "$work/pgsock"; mkdir -p "$work/pgsock" "$pg_data"
chmod a+x "$work"   # initdb and the server run as postgres (they refuse root)
chown postgres:postgres "$work/pgsock" "$pg_data"
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/pgsock/server.log" -w \
  -o "-k $work/pgsock -c listen_addresses= -p 55432 -c max_connections=200 ${BENCH_PG_OPTIONS-$pg_options}" start >/dev/null
runuser -u postgres -- "$pg_bin/createdb" -h "$work/pgsock" -p 55432 tidemark
run_load postgresql "postgres:///tidemark?host=$work/pgsock&port=55432&user=postgres" \
  "runuser -u postgres -- $pg_bin/psql -q -h $work/pgsock -p 55432 -d tidemark -c 'VACUUM (ANALYZE)' -c CHECKPOINT && sync"
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null; pg_data=
fi

if [ -d "$work/root3000" ]; then
  echo "== agent: one collection of a $(rpm --root "$work/root3000" -qa | wc -l)-package root"
  rm -f "$work"/agent.sqlite*
  "$tidemark" token create --host bench-agent --db "$work/agent.sqlite" > "$work/agent.token" 2>/dev/null
  "$tidemark" server --db "$work/agent.sqlite" --listen "127.0.0.1:$port" 2> "$work/server-agent.log" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  rm -rf "$work/agent-spool"
  for run in first heartbeat; do
    /usr/bin/time -f "$run: %U s user, %S s system, %M KB peak RSS" "$tidemark" agent --once --server "http://127.0.0.1:$port" \
      --token-file "$work/agent.token" --root "$work/root3000" --host bench-agent --spool "$work/agent-spool" 2>&1 | grep -E "user|error" || true
  done
else
  echo "(no $work/root3000: run scripts/bench.sh with the same BENCH_DIR first for the agent figures)"
fi
