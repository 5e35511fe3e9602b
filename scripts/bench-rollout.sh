#!/usr/bin/env bash
# The rollout benchmark for the closing notes (not part of the tests), on real rpm roots changed by
# real zypper through real `tidemark agent` processes and a real `tidemark server` (SQLite):
#   1. canary rollback latency: a small fleet, a broken build whose installed file makes the health
#      command fail, canary 1 host, soak 0s; from the canary's failure signal (its failing
#      health-check job finished) to the canary rolled back and verified, BENCH_REPEAT times, each a
#      fresh rollout (the canary is back on the good build after each), and the median;
#   2. BENCH_HOSTS simulated hosts through three waves (canary 2, then 50 %, then 100 %, soak 0s, a
#      passing health command) with one agent process per host: create -> completed, per-wave
#      times from the rollout log, the server's and the agents' CPU time.
# One root is made with real `zypper --root` from a createrepo_c repository and copied with
# `cp -a` to the others: each copy is a separate host with its own rpmdb.
#   BENCH_DIR=dir (kept), BENCH_HOSTS=200, BENCH_REPEAT=5, BENCH_CANARY_HOSTS=4,
#   BENCH_PARTS="canary fleet", BENCH_POLL_MS=100 (canary part), BENCH_FLEET_POLL_MS=500,
#   BENCH_AGENT_INTERVAL=1s, BENCH_TIMEOUT=900 (seconds per rollout), BENCH_PORT (default: a free one),
#   TIDEMARK_BIN=path (use that binary, e.g. .build/debug/tidemark, instead of a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
for tool in rpm rpmbuild zypper createrepo_c curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-test-tools.sh installs it)" >&2; exit 1; }
done
if [ -n "${TIDEMARK_BIN:-}" ]; then
  built=$TIDEMARK_BIN   # a binary built elsewhere
else
  swift build -c release --product tidemark 2>&1 | tail -1
  built=$(swift build -c release --show-bin-path)/tidemark
fi
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
hosts_n=${BENCH_HOSTS:-200}
repeat=${BENCH_REPEAT:-5}
canary_n=${BENCH_CANARY_HOSTS:-4}
parts=${BENCH_PARTS:-canary fleet}
interval=${BENCH_AGENT_INTERVAL:-1s}
timeout=${BENCH_TIMEOUT:-900}
tick=$(getconf CLK_TCK)
# A copy, so that a rebuild in the tree during the run changes nothing under it.
tidemark=$work/tidemark
cp "$built" "$tidemark"
lib=perl-Mojo-IOLoop-ReadWriteProcess
libdir=/usr/share/bench/$lib
health="test ! -e \"\$TIDEMARK_ROOT$libdir/BROKEN\""

server_pid=
agent_pids=()
cleanup() {
  ((${#agent_pids[@]})) && kill "${agent_pids[@]}" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  ((${#agent_pids[@]})) && wait "${agent_pids[@]}" 2>/dev/null || true
  [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null || true
  agent_pids=() server_pid=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "binary: $built ($(du -m "$built" | cut -f1) MB), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo); BENCH_DIR=$work"

# The helper: polls a rollout (GET /api/v1/rollouts/ID, the JSON `tidemark rollout status ID --json`
# prints) and records the first moment, in milliseconds, each phase and each job status was seen;
# then turns the records and the rollout log into the figures.
cat > "$work/rollout_bench.py" <<'PY'
import datetime, json, statistics, sys, time, urllib.request

FINISHED = {"completed", "halted", "rolled-back", "aborted"}

def iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() if s else None

def poll(url, token_file, rid, interval_ms, timeout_s, out):
    token = open(token_file).read().strip()
    req = urllib.request.Request(f"{url}/api/v1/rollouts/{rid}", headers={"Authorization": f"Bearer {token}"})
    phases, jobs, polls, errors, last, start = {}, {}, 0, 0, None, time.time()
    while True:
        t0 = time.time()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                s = json.load(r)
        except Exception as e:
            errors += 1
            s = None
            print(f"poll error: {e}", file=sys.stderr)
        t = time.time()
        if s is not None:
            polls += 1
            phases.setdefault(f"{s['phase']}@{s['wave']}", t)
            for w in s["waves"]:
                for h in w["hosts"]:
                    for j in h["jobs"]:
                        rec = jobs.setdefault(str(j["id"]), {"id": j["id"], "host": j["host"], "kind": j["kind"], "step": j.get("step"), "seen": {}})
                        rec["seen"].setdefault(j["status"], t)
                        rec.update(status=j["status"], createdAt=j.get("createdAt"), startedAt=j.get("startedAt"),
                                   finishedAt=j.get("finishedAt"), message=j.get("message"))
            last = s
            if s["phase"] in FINISHED:
                break
        if t - start > timeout_s:
            break
        pause = interval_ms / 1000 - (time.time() - t0)
        if pause > 0:
            time.sleep(pause)
    json.dump({"phases": phases, "jobs": jobs, "polls": polls, "errors": errors, "start": start, "final": last,
               "timedOut": last is None or last["phase"] not in FINISHED}, open(out, "w"))
    sys.exit(0 if last is not None and last["phase"] in FINISHED else 1)

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"

def canary(poll_file, log_file, run, runs_file):
    d = json.load(open(poll_file))
    log = json.load(open(log_file))
    final = d["final"]
    host = final["waves"][0]["hosts"][0]["host"]
    jobs = d["jobs"].values()
    chk = [j for j in jobs if j["host"] == host and j["kind"] == "check" and j["status"] == "failed"]
    rb = [j for j in jobs if j["host"] == host and j["kind"] == "rollback"]
    ap = [j for j in jobs if j["host"] == host and j["kind"] == "apply"]
    if final["phase"] != "rolled-back" or not chk or not rb:
        print(f"run {run}: rollout {final['id']} ended {final['phase']}: {final.get('outcome')}")
        sys.exit(1)
    c, r = chk[0], rb[-1]
    ev_done = next((iso(e["at"]) for e in log if e["progress"]["phase"] == "rolled-back"), None)
    ev_created = next((iso(e["at"]) for e in log if e["kind"] == "created"), None)
    fail_s, fail_ms = iso(c["finishedAt"]), c["seen"]["failed"]
    x = {
        "run": run, "rollout": final["id"], "canary": host,
        "polled_rollback_ok": r["seen"]["succeeded"] - fail_ms if "succeeded" in r["seen"] else None,
        "polled_rolled_back": d["phases"]["rolled-back@0"] - fail_ms,
        "jobs_rollback_ok": iso(r["finishedAt"]) - fail_s,
        "log_rolled_back": ev_done - fail_s if ev_done else None,
        "decide": iso(r["createdAt"]) - fail_s, "pickup": iso(r["startedAt"]) - iso(r["createdAt"]),
        "run_rollback": iso(r["finishedAt"]) - iso(r["startedAt"]),
        "create_to_failure": fail_s - ev_created if ev_created else None,
        "apply": iso(ap[0]["finishedAt"]) - iso(ap[0]["startedAt"]) if ap and ap[0].get("finishedAt") else None,
        "seen_lag": fail_ms - fail_s, "polls": d["polls"], "poll_errors": d["errors"],
    }
    print(f"run {run}: rollout {x['rollout']}, canary {host}: its health check (job {c['id']}) "
          f"failed at {c['finishedAt']} (the poll saw it {fmt(x['seen_lag'])} s after that second began)")
    print(f"  failure -> rollback job succeeded (verified): {fmt(x['polled_rollback_ok'])} s polled, {x['jobs_rollback_ok']:.0f} s by the jobs' finishedAt")
    print(f"  failure -> phase rolled-back:                {fmt(x['polled_rolled_back'])} s polled, {fmt(x['log_rolled_back'], 0)} s by the log")
    print(f"  (job times, 1 s resolution: failure -> rollback job created {x['decide']:.0f} s, -> claimed by the agent "
          f"{x['pickup']:.0f} s, zypper + verify {x['run_rollback']:.0f} s; before that: create -> failure {fmt(x['create_to_failure'], 0)} s, "
          f"the canary's apply job {fmt(x['apply'], 0)} s; {x['polls']} polls, {x['poll_errors']} errors)")
    with open(runs_file, "a") as f:
        f.write(json.dumps(x) + "\n")

def canary_summary(runs_file):
    runs = [json.loads(l) for l in open(runs_file)]
    def col(k): return [r[k] for r in runs]
    print(f"canary rollback latency over {len(runs)} runs (failure signal = the canary's failing health-check job finished):")
    for k, what, digits in [("polled_rollback_ok", "failure -> rollback job succeeded, polled (s)", 3),
                            ("polled_rolled_back", "failure -> phase rolled-back, polled (s)", 3),
                            ("jobs_rollback_ok", "failure -> rollback job succeeded, by job finishedAt (s)", 0),
                            ("log_rolled_back", "failure -> rolled-back log event (s)", 0)]:
        vals = col(k)
        print(f"  {what}: {' '.join(fmt(v, digits) for v in vals)}   median {fmt(median(vals), digits)}")

def fleet(poll_file, log_file, create_start, create_end, cpu_file):
    d = json.load(open(poll_file))
    log = json.load(open(log_file))
    final = d["final"]
    ph = d["phases"]
    waves = final["waves"]
    print(f"rollout {final['id']}: {final['phase']}: {final.get('outcome')}")
    print(f"  waves: {' / '.join(str(len(w['hosts'])) for w in waves)} hosts; {len(d['jobs'])} jobs "
          f"({sum(1 for j in d['jobs'].values() if j['kind'] == 'apply')} apply, {sum(1 for j in d['jobs'].values() if j['kind'] == 'check')} health check)")
    ev = [(iso(e["at"]), e) for e in log]
    created = next(t for t, e in ev if e["kind"] == "created")
    done = next((t for t, e in ev if e["progress"]["phase"] == "completed"), None)
    t_done = ph.get("completed@" + str(len(waves) - 1))
    print(f"  rollout create -> stored (planning {sum(len(w['hosts']) for w in waves)} hosts, mirroring the repository; the CLI's answer, "
          f"or when it gave up the moment `rollout list` showed it): {create_end - create_start:.3f} s")
    first = next((t for t, e in ev if "wave 0: applying to" in e["message"]), None)
    print(f"  create -> completed: {fmt(t_done - create_start if t_done else None)} s polled (from starting `rollout create`); "
          f"{fmt(done - created if done else None, 0)} s by the log (created -> completed events; `created` is stamped when the request began)")
    print(f"  rollout stored -> completed: {fmt(t_done - create_end if t_done else None)} s polled; wave 0 started -> completed: "
          f"{fmt(done - first if done and first else None, 0)} s by the log")
    print(f"  ({d['polls']} polls of the status, one every {fmt((t_done - d['start']) / max(d['polls'], 1) if t_done else None, 2)} s on average, {d['errors']} errors)")
    def at(pred):
        return next((t for t, e in ev if pred(e["message"])), None)
    for i, w in enumerate(waves):
        start = at(lambda m: f"wave {i}: applying to" in m)
        updated = at(lambda m: m.startswith(f"wave {i}: ") and "updated and verified" in m)
        soaked = at(lambda m: m.startswith(f"wave {i}: soaked"))
        healthy = at(lambda m: m.startswith(f"wave {i} is healthy"))
        p0 = ph.get(f"applying@{i}")
        p1 = ph.get(f"applying@{i + 1}") or ph.get(f"completed@{i}")
        apply = [j for j in d["jobs"].values() if j["kind"] == "apply" and j["step"] == f"wave-{i}-apply"]
        checks = [j for j in d["jobs"].values() if j["kind"] == "check" and j["step"].startswith(f"wave-{i}-health")]
        runs = [iso(j["finishedAt"]) - iso(j["startedAt"]) for j in apply if j.get("finishedAt") and j.get("startedAt")]
        waits = [iso(j["startedAt"]) - iso(j["createdAt"]) for j in apply if j.get("startedAt")]
        def diff(a, b): return None if a is None or b is None else b - a
        print(f"  wave {i} ({len(w['hosts'])} hosts): {fmt(diff(start, healthy), 0)} s by the log "
              f"(applying -> all updated and verified {fmt(diff(start, updated), 0)} s, health of {len(checks)} check jobs "
              f"{fmt(diff(soaked, healthy), 0)} s); {fmt(diff(p0, p1))} s polled; apply jobs: claimed after median "
              f"{fmt(median(waits), 0)} / max {fmt(max(waits) if waits else None, 0)} s, ran median {fmt(median(runs), 0)} / max {fmt(max(runs) if runs else None, 0)} s")
    c = json.load(open(cpu_file))
    tick = c["tick"]
    def cpu(label, a, b, n=None):
        u, s = (b[0] - a[0]) / tick, (b[1] - a[1]) / tick
        return f"{label}: {u:.1f} s user + {s:.1f} s system = {u + s:.1f} s" + (f" ({n})" if n else "")
    print("  " + cpu("server CPU during the rollout (create -> completed)", c["server0"], c["server1"]))
    print("  " + cpu("agents' own CPU during the rollout", c["agents0"][:2], c["agents1"][:2], f"{c['agents']} processes, summed from /proc/PID/stat"))
    print("  " + cpu("their children's CPU during the rollout (zypper, rpm, the health commands)", c["agents0"][2:], c["agents1"][2:]))
    print("  " + cpu("server CPU from its start to completed", [0, 0], c["server1"]))
    print("  " + cpu("agents' own + children's CPU from their start to completed", [0, 0], [c["agents1"][0] + c["agents1"][2], c["agents1"][1] + c["agents1"][3]]))
    if "idle0" in c:
        secs = c["idle_s"]
        su = (c["idle1"]["server"][0] + c["idle1"]["server"][1] - c["idle0"]["server"][0] - c["idle0"]["server"][1]) / tick
        au = (sum(c["idle1"]["agents"]) - sum(c["idle0"]["agents"])) / tick
        print(f"  steady state before the rollout ({secs:.0f} s of heartbeats only): server {100 * su / secs:.0f} % of a core, agents {100 * au / secs:.0f} % of a core in all")

def serverlog(path, since, until):
    # the server's request lines (one per request: route, status, duration) within [since, until]
    import re
    per = {}
    for line in open(path, errors="replace"):
        m = re.search(r"duration_ms=(\d+) .*method=(\S+) .*route=(\S+) status=(\d+)", line)
        if not m:
            continue
        t = datetime.datetime.strptime(line[:24], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        if t < int(since) or t > until + 1:
            continue
        per.setdefault(f"{m.group(2)} {m.group(3)}", []).append(int(m.group(1)))
    span = max(until - since, 1)
    print(f"  server requests during the rollout ({span:.0f} s; from its log, duration in ms):")
    for route, ds in sorted(per.items(), key=lambda kv: -len(kv[1])):
        ds.sort()
        q = lambda f: ds[min(len(ds) - 1, int(f * len(ds)))]
        print(f"    {route}: {len(ds)} ({len(ds) / span:.0f}/s), p50 {q(0.5)}, p99 {q(0.99)}, max {ds[-1]}")

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "poll": poll(args[0], args[1], args[2], float(args[3]), float(args[4]), args[5])
    elif cmd == "canary": canary(args[0], args[1], int(args[2]), args[3])
    elif cmd == "canary-summary": canary_summary(args[0])
    elif cmd == "fleet": fleet(args[0], args[1], float(args[2]), float(args[3]), args[4])
    elif cmd == "serverlog": serverlog(args[0], float(args[1]), float(args[2]))
    elif cmd == "field": print(eval(args[1], {}, {"d": json.load(open(args[0]))}))
PY
helper() { python3 "$work/rollout_bench.py" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# spec NAME VERSION RELEASE SUMMARY [REQUIRES] [BROKEN]: one noarch package with a VERSION file
# (scripts/lib/rpmspec.sh, as the demo builds its); BROKEN=1 adds the file the health command looks for.
. scripts/lib/rpmspec.sh
spec() {
  local extra=""
  [ -n "${6:-}" ] && extra="echo 'isotovideo can not be started' > %{buildroot}/usr/share/bench/$1/BROKEN"
  rpm_build "$work/rpmbuild" "$1" "$2" "$3" "$4" /usr/share/bench "" "${5:-}" "$extra"
}
publish() { cp "$@" "$work/repo/"; createrepo_c -q --update "$work/repo"; }
installed() { rpm --root "$1" -q --qf '%{VERSION}-%{RELEASE}' "$lib"; }

echo "== RPMs, the development repository (createrepo_c) and one root made with zypper --root"
rm -rf "$work"/{rpmbuild,repo,template,canary,fleet}
mkdir -p "$work"/{rpmbuild/SPECS,repo}
good=$(spec "$lib" 0.34 1.1 "ReadWriteProcess, as released")
worker=$(spec openQA-worker 5.1 1 "the openQA worker" "$lib")
broken=$(spec "$lib" 0.34 1.2 "ReadWriteProcess, patched (breaks isotovideo)" "" 1)
next=$(spec "$lib" 0.35 1.1 "ReadWriteProcess, next release (good)")
publish "$good" "$worker"
t0=$(now)
rpm --root "$work/template" --initdb
zypper --root "$work/template" -n --gpg-auto-import-keys ar -G -k "file://$work/repo" devel_openQA >/dev/null
zypper --root "$work/template" -n --gpg-auto-import-keys in openQA-worker >/dev/null
echo "template root: $(rpm --root "$work/template" -qa | sort | tr '\n' ' ')($(du -sm "$work/template" | cut -f1) MB, zypper $(since "$t0") s)"

# fleet DIR COUNT: COUNT copies of the template (cp -a: each its own rpmdb), host tokens, a server
# on DIR/server.sqlite with the repository mirrored into its archive, one agent per root.
fleet() {
  local dir=$1 count=$2 i
  mkdir -p "$dir"/{hosts,tokens,spool,logs}
  local t=$(now)
  for i in $(seq "$count"); do cp -a "$work/template" "$dir/hosts/worker$i"; done
  echo "$count hosts: cp -a of the template root to $dir/hosts/worker1..$count, each a separate host with its own rpmdb ($(since "$t") s)"
  t=$(now)
  export TIDEMARK_DB=$dir/server.sqlite TIDEMARK_ARCHIVE=$dir/archive
  "$tidemark" token create --role admin --note bench > "$dir/admin.token" 2> "$dir/logs/tokens.log"
  for i in $(seq "$count"); do "$tidemark" token create --host "worker$i" > "$dir/tokens/worker$i" 2>> "$dir/logs/tokens.log"; done
  "$tidemark" archive mirror --repo "file://$work/repo" >/dev/null
  echo "$count host tokens and the server's archive ready ($(since "$t") s)"
  local port=${BENCH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  "$tidemark" server --listen "127.0.0.1:$port" --mirror-interval 0 --rollout-interval 1s --check-interval 1 2> "$dir/server.log" &
  server_pid=$!
  export TIDEMARK_SERVER=http://127.0.0.1:$port TIDEMARK_TOKEN_FILE=$dir/admin.token
  unset TIDEMARK_DB TIDEMARK_ARCHIVE
  for _ in $(seq 300); do curl -fsS "$TIDEMARK_SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  t=$(now)
  for i in $(seq "$count"); do
    "$tidemark" agent --server "$TIDEMARK_SERVER" --token-file "$dir/tokens/worker$i" --root "$dir/hosts/worker$i" --host "worker$i" \
      --interval "$interval" --spool "$dir/spool/worker$i" 2> "$dir/logs/agent-worker$i.log" &
    agent_pids+=($!)
  done
  local known=0
  for _ in $(seq 1200); do
    known=$(curl -fsS "$TIDEMARK_SERVER/metrics" 2>/dev/null | awk '$1 == "tidemark_hosts" {print $2}')
    [ "${known:-0}" -ge "$count" ] && break
    sleep 0.5
  done
  [ "${known:-0}" -ge "$count" ] || { echo "only ${known:-0} of $count hosts reported; see $dir/logs" >&2; exit 1; }
  echo "$count agents (--interval $interval) started; every host reported after $(since "$t") s"
  sleep 3   # a few heartbeats: every host's latest observation is its current state
}

cpu_server() { awk '{print $14, $15}' "/proc/$server_pid/stat"; }
cpu_agents() { # utime stime cutime cstime, summed over the agents still running
  local p; for p in "${agent_pids[@]}"; do echo "/proc/$p/stat"; done | xargs cat 2>/dev/null \
    | awk '{u += $14; s += $15; cu += $16; cs += $17; n++} END {print u + 0, s + 0, cu + 0, cs + 0, n + 0}'
}

wait_rollout() { # ID POLL-MS OUT
  if ! helper poll "$TIDEMARK_SERVER" "$TIDEMARK_TOKEN_FILE" "$1" "$2" "$timeout" "$3"; then
    echo "!! rollout $1 did not finish within $timeout s" >&2
    "$tidemark" rollout status "$1" >&2 || true
    "$tidemark" rollout log "$1" >&2 || true
    echo "-- server log (last 40 lines):" >&2; tail -40 "$server_dir/server.log" >&2
    exit 1
  fi
}

# rollout create --policy DIR/policy.yaml --updates-from the repository; prints the id. When the CLI
# gives up (its HTTP client waits 60 s for an answer) the server may still create the rollout:
# then the error is reported and the new rollout is looked up with `rollout list`.
create_rollout() {
  local before out
  before=$("$tidemark" rollout list --json | python3 -c 'import json, sys; print(max([r["id"] for r in json.load(sys.stdin)], default=0))')
  if out=$("$tidemark" rollout create --policy "$server_dir/policy.yaml" --updates-from "file://$work/repo" --json 2> "$server_dir/create.err"); then
    python3 -c 'import json, sys; print(json.load(sys.stdin)["rollout"]["id"])' <<< "$out"
    return
  fi
  echo "!! rollout create failed after $(since "$create_start") s: $(cat "$server_dir/create.err")" >&2
  for _ in $(seq "$timeout"); do
    out=$("$tidemark" rollout list --json 2>/dev/null | python3 -c 'import json, sys; print(max([r["id"] for r in json.load(sys.stdin)], default=0))') || out=$before
    if [ "$out" -gt "$before" ]; then
      echo "!! ... but the server went on and stored rollout $out after $(since "$create_start") s (its POST's duration: the server log, below); going on with it" >&2
      echo "$out"
      return
    fi
    sleep 1
  done
  exit 1
}

stop_fleet() {
  cleanup
}

if [[ " $parts " == *" canary "* ]]; then
  echo
  echo "== 1. canary rollback latency: $canary_n hosts, a broken build, canary 1, soak 0s, $repeat runs"
  server_dir=$work/canary
  fleet "$server_dir" "$canary_n"
  publish "$broken"   # the development repository publishes the broken build
  cat > "$server_dir/policy.yaml" <<YAML
waves:
  canary: 1
  percentages: [100]
soak: 0s
health:
  commands:
    - name: worker-health
      command: '$health'
      timeout: 30s
  max-failures: 0
on-failure: rollback
apply-timeout: 10m
YAML
  : > "$server_dir/runs.jsonl"
  for run in $(seq "$repeat"); do
    create_start=$(now)
    id=$(create_rollout)
    wait_rollout "$id" "${BENCH_POLL_MS:-100}" "$server_dir/poll-$id.json"
    "$tidemark" rollout log "$id" --json > "$server_dir/log-$id.json"
    helper canary "$server_dir/poll-$id.json" "$server_dir/log-$id.json" "$run" "$server_dir/runs.jsonl"
    c=$(helper field "$server_dir/poll-$id.json" 'd["final"]["waves"][0]["hosts"][0]["host"]')
    v=$(installed "$server_dir/hosts/$c")
    [ "$v" = 0.34-1.1 ] && [ ! -e "$server_dir/hosts/$c$libdir/BROKEN" ] || { echo "!! $c has $v after the rollback" >&2; exit 1; }
    for i in $(seq 2 "$canary_n"); do
      [ "$(installed "$server_dir/hosts/worker$i")" = 0.34-1.1 ] || [ "worker$i" = "$c" ] || { echo "!! worker$i was changed" >&2; exit 1; }
    done
    echo "  rpm --root: $c has $lib-$v again, no BROKEN file; the other hosts never changed"
    sleep 2   # the agents' next heartbeats, before the next rollout is planned
  done
  helper canary-summary "$server_dir/runs.jsonl" | tee "$work/results-canary.txt"
  stop_fleet
  # the repository drops the broken build and publishes a good one for part 2
  rm -f "$work/repo/$(basename "$broken")"
  createrepo_c -q --update "$work/repo"
fi

if [[ " $parts " == *" fleet "* ]]; then
  echo
  echo "== 2. $hosts_n hosts through three waves (canary 2, 50 %, 100 %), soak 0s, a passing health command"
  rm -f "$work/repo/$(basename "$broken")"
  publish "$next"
  server_dir=$work/fleet
  fleet "$server_dir" "$hosts_n"
  rss=$(for p in "${agent_pids[@]}"; do awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null; done | awk '{t += $1; n++} END {printf "%.0f MB in all, %.0f MB each", t/1024, t/1024/n}')
  echo "agents' resident memory: $rss; server: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$server_pid/status")"
  cat > "$server_dir/policy.yaml" <<YAML
waves:
  canary: 2
  percentages: [50, 100]
soak: 0s
health:
  commands:
    - name: worker-health
      command: '$health'
      timeout: 60s
  max-failures: 0
  deadline: 30m
on-failure: rollback
apply-timeout: 30m
YAML
  idle_s=${BENCH_IDLE:-10}
  i0s=$(cpu_server); i0a=$(cpu_agents); sleep "$idle_s"; i1s=$(cpu_server); i1a=$(cpu_agents)
  s0=$(cpu_server); a0=$(cpu_agents)
  create_start=$(now)
  id=$(create_rollout)
  create_end=$(now)
  wait_rollout "$id" "${BENCH_FLEET_POLL_MS:-500}" "$server_dir/poll-$id.json"
  done_at=$(now)
  s1=$(cpu_server); a1=$(cpu_agents)
  read -r _ _ _ _ alive <<< "$a1"
  arr() { echo "[${1// /, }]"; }
  cat > "$server_dir/cpu.json" <<JSON
{"tick": $tick, "agents": $alive, "server0": $(arr "$s0"), "server1": $(arr "$s1"), "agents0": $(arr "$a0"), "agents1": $(arr "$a1"),
 "idle_s": $idle_s, "idle0": {"server": $(arr "$i0s"), "agents": $(arr "$(echo "$i0a" | cut -d' ' -f1-4)")},
 "idle1": {"server": $(arr "$i1s"), "agents": $(arr "$(echo "$i1a" | cut -d' ' -f1-4)")}}
JSON
  "$tidemark" rollout log "$id" --json > "$server_dir/log-$id.json"
  helper fleet "$server_dir/poll-$id.json" "$server_dir/log-$id.json" "$create_start" "$create_end" "$server_dir/cpu.json" | tee "$work/results-fleet.txt"
  helper serverlog "$server_dir/server.log" "$create_start" "$done_at" | tee -a "$work/results-fleet.txt"
  wrong=0
  for i in $(seq "$hosts_n"); do [ "$(installed "$server_dir/hosts/worker$i")" = 0.35-1.1 ] || wrong=$((wrong + 1)); done
  echo "  rpm --root on every host: $((hosts_n - wrong)) of $hosts_n run $lib-0.35-1.1; $alive of $hosts_n agents still running at the end" | tee -a "$work/results-fleet.txt"
  stop_fleet
  [ "$wrong" = 0 ] || exit 1
fi
