#!/usr/bin/env bash
# The main job on the embedded default (SQLite, local files), end to end:
# builds tidemark, builds real RPMs, makes a development repository with createrepo_c, and drives
# three worker roots through four days of real `zypper` history (faketime sets the clock), the
# last day bringing a broken perl-Mojo-IOLoop-ReadWriteProcess build to two of them, as in the
# incident (../shared/seed/retrospective-175518.txt). Every published build is mirrored into the
# package archive. Then tidemark backfills each host from its zypp history and answers: hosts,
# history, where, diff, drift; the workers' failures become signals, `tidemark suspects` names the
# broken build and `tidemark bisect` proves it on a copy of worker1's root; finally the repository
# drops the old build and `tidemark rollback`
# still returns worker1 to its state before the broken build, from the archive. Last, the next
# broken build goes through a gated rollout instead of the dup timer: a `tidemark server` and an
# agent per worker; the integration gate is red, so no host is touched; once someone waives it,
# the canary's health command fails, the rollout halts and rolls the canary back from the archive,
# and no other worker ever installs the build.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
work=${DEMO_DIR:-$top/demo}

need=()
for tool in rpm rpmbuild zypper createrepo_c faketime; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  echo "== installing missing tools: ${need[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq rpm zypper createrepo-c faketime >/dev/null
fi

echo "== building tidemark"
swift build -c debug 2>&1 | tail -1
tidemark=$(swift build --show-bin-path)/tidemark

rm -rf "$work"; mkdir -p "$work"/{rpmbuild/SPECS,repo,hosts}
export TIDEMARK_DB=$work/tidemark.sqlite TIDEMARK_ARCHIVE=$work/archive

# spec DAYS-AGO NAME VERSION RELEASE [SUMMARY]: one noarch package with a file and a changelog
# entry dated when it was built, published to the repository and mirrored into the archive
. scripts/lib/rpmspec.sh
spec() {
  local ago=$1; shift
  local name=$1 version=$2 release=$3 summary=${4:-"$1 for the demo fleet"}
  cp "$(rpm_build "$work/rpmbuild" "$name" "$version" "$release" "$summary" /usr/share/demo "$(date -u -d "$ago days ago" '+%a %b %d %Y')")" "$work/repo/"
  createrepo_c -q --update "$work/repo"
  # the archive keeps every build the moment it is published (tidemark server does this on a schedule)
  "$tidemark" archive mirror --repo "file://$work/repo" >/dev/null
}

day() { date -u -d "$1 days ago" '+%Y-%m-%d'; }

# host NAME TIME ZYPPER-ARGS...: run real zypper in the host's root at a past time
zyp() {
  local host=$1 at=$2; shift 2
  faketime "$at" zypper --root "$work/hosts/$host" -n --gpg-auto-import-keys "$@" >/dev/null 2>&1
}

echo "== building RPMs and the development repository"
spec 5 os-autoinst 4.6 1.1
spec 5 openQA-worker 5.1 1.1
spec 5 perl-Mojo-IOLoop-ReadWriteProcess 0.34 1.1 "ReadWriteProcess, as released"
spec 5 perl-Mojolicious 9.38 1.1

hosts=(worker1 worker2 worker3)
echo "== day 1 ($(day 4)): three workers installed from the repository"
for h in "${hosts[@]}"; do
  mkdir -p "$work/hosts/$h/etc"
  ln -sf /usr/share/zoneinfo/Europe/Berlin "$work/hosts/$h/etc/localtime"
  rpm --root "$work/hosts/$h" --initdb
  zyp "$h" "$(day 4) 09:00:00" ar -G -p 90 -k "file://$work/repo" devel_openQA
  zyp "$h" "$(day 4) 09:05:00" in os-autoinst openQA-worker perl-Mojo-IOLoop-ReadWriteProcess perl-Mojolicious
done

echo "== day 2 ($(day 3)): os-autoinst and perl-Mojolicious updates reach every worker"
spec 3 os-autoinst 4.6 2.1
spec 3 perl-Mojolicious 9.39 1.1
for h in "${hosts[@]}"; do zyp "$h" "$(day 3) 09:05:00" ref; zyp "$h" "$(day 3) 09:06:00" dup; done

echo "== day 3 ($(day 2)): a patched perl-Mojo-IOLoop-ReadWriteProcess is published; worker1 and worker2 take it"
spec 2 perl-Mojo-IOLoop-ReadWriteProcess 0.34 1.2 "ReadWriteProcess, patched (breaks isotovideo)"
for h in worker1 worker2; do zyp "$h" "$(day 2) 14:05:00" ref; zyp "$h" "$(day 2) 14:06:00" dup; done

echo "== day 4 ($(day 1)): worker2 is rolled back by hand with --oldpackage; worker3 installs a debug tool"
rm -f "$work"/repo/perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.2.noarch.rpm
cp "$work"/rpmbuild/RPMS/noarch/perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.1.noarch.rpm "$work/repo/"
createrepo_c -q --update "$work/repo"
zyp worker2 "$(day 1) 10:00:00" ref
zyp worker2 "$(day 1) 10:01:00" in --oldpackage perl-Mojo-IOLoop-ReadWriteProcess=0.34-1.1
spec 1 strace-demo 6.1 1.1
zyp worker3 "$(day 1) 11:00:00" ref
zyp worker3 "$(day 1) 11:01:00" in strace-demo

echo "== tidemark snapshot --backfill (times in the hosts' zone, Europe/Berlin, stored as UTC)"
for h in "${hosts[@]}"; do "$tidemark" snapshot --root "$work/hosts/$h" --host "$h" --backfill; done

show() { echo; echo "\$ tidemark $*"; "$tidemark" "$@"; }
show hosts
show history worker1
show where perl-Mojo-IOLoop-ReadWriteProcess --at "$(day 2)T18:00:00Z"
show where perl-Mojo-IOLoop-ReadWriteProcess
show diff "worker1@$(day 3)T12:00:00Z" worker1 --changelog
show drift

echo
echo "== day 3, afternoon: every openQA job on worker1 and worker2 dies with 'isotovideo can not be started'; worker3 is fine"
# in production the jobs come from openQA: tidemark signal import openqa --url https://openqa…
# (or tidemark server --openqa-signals URL, on a schedule)
reason="setup failure: isotovideo can not be started"
"$tidemark" signal add --host worker1 --at "$(day 2)T14:40:00Z" --failing --reason "$reason" >/dev/null
"$tidemark" signal add --host worker2 --at "$(day 2)T14:45:00Z" --failing --reason "$reason" >/dev/null
"$tidemark" signal add --host worker3 --at "$(day 2)T15:00:00Z" --healthy --reason "openQA job passed" >/dev/null
show signal list
show suspects --reason isotovideo --at "$(day 2)T18:00:00Z"
echo
echo "== proof: bisect worker1's changes since day 1 on a copy of its root, every step installed from the archive"
cp -a "$work/hosts/worker1" "$work/bisect-root"
health='! grep -q "breaks isotovideo" "$TIDEMARK_ROOT/usr/share/demo/perl-Mojo-IOLoop-ReadWriteProcess/VERSION"'
show bisect start --good "worker1@$(day 4)T12:00:00Z" --bad "worker1@$(day 2)T18:00:00Z" --root "$work/bisect-root" --test "$health"

echo
echo "== day 5 (today): the repository drops the patched build and the good one; zypper alone cannot go back"
rm -f "$work"/repo/perl-Mojo-IOLoop-ReadWriteProcess-0.34-1.*.noarch.rpm
createrepo_c -q --update "$work/repo"
zyp worker1 "$(date -u '+%Y-%m-%d %H:%M:%S')" ref
if zypper --root "$work/hosts/worker1" -n in --oldpackage perl-Mojo-IOLoop-ReadWriteProcess=0.34-1.1 >/dev/null 2>&1; then
  echo "unexpected: zypper found the old build"; exit 1
fi
echo "zypper: perl-Mojo-IOLoop-ReadWriteProcess = 0.34-1.1 not found in any repository"
show rollback worker1 --to "worker1@$(day 3)T12:00:00Z" --root "$work/hosts/worker1" --dry-run
show rollback worker1 --to "worker1@$(day 3)T12:00:00Z" --root "$work/hosts/worker1"
echo; echo "\$ rpm --root $work/hosts/worker1 -q perl-Mojo-IOLoop-ReadWriteProcess"
rpm --root "$work/hosts/worker1" -q perl-Mojo-IOLoop-ReadWriteProcess
show archive list

echo
echo "== day 5, later: the next build goes through a gated rollout instead of the zypper dup timer"
spec 0 perl-Mojo-IOLoop-ReadWriteProcess 0.34 1.3 "ReadWriteProcess, patched again (breaks isotovideo)"
mkdir -p "$work/integration"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tidemark" token create --role admin --note demo-operator > "$work/admin.token"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$tidemark" server --listen "127.0.0.1:$port" --mirror-interval 0 --rollout-interval 1s --check-interval 1 2> "$work/server.log" &
pids+=($!)
export TIDEMARK_SERVER=http://127.0.0.1:$port TIDEMARK_TOKEN_FILE=$work/admin.token
for _ in $(seq 100); do curl -fsS "$TIDEMARK_SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
for h in "${hosts[@]}"; do
  "$tidemark" token create --host "$h" > "$work/$h.token"
  "$tidemark" agent --server "$TIDEMARK_SERVER" --token-file "$work/$h.token" --root "$work/hosts/$h" --host "$h" \
    --interval 1s --spool "$work/spool-$h" 2> "$work/agent-$h.log" &
  pids+=($!)
done
cat > "$work/rollout.yaml" <<YAML
# the integration test of the build (in production: an openqa: check of the openQA-in-openQA job group)
required:
  - name: openqa-in-openqa
    command: 'test -f $work/integration/passed'
waves:
  canary: [worker1]
  percentages: [100]
soak: 2s
health:
  commands:
    - name: worker-health
      command: '! grep -q "breaks isotovideo" "\$TIDEMARK_ROOT/usr/share/demo/perl-Mojo-IOLoop-ReadWriteProcess/VERSION"'
on-failure: rollback
YAML
sleep 3   # the agents report first
show rollout create --policy "$work/rollout.yaml" --updates-from "file://$work/repo"
wait_rollout() { # ID PHASE-REGEX
  for _ in $(seq 240); do
    "$tidemark" rollout status "$1" --json | grep -Eq "\"phase\" : \"($2)\"" && return 0
    sleep 0.5
  done
  echo "rollout $1 did not reach $2"; "$tidemark" rollout log "$1"; exit 1
}
sleep 3
show rollout status 1
show waive openqa-in-openqa --rollout 1 --reason "integration job believed flaky" --expires 1h
wait_rollout 1 "rolled-back|halted|completed"
show rollout status 1
show rollout log 1
show where perl-Mojo-IOLoop-ReadWriteProcess
cleanup
echo
echo "demo database: $TIDEMARK_DB  (try: TIDEMARK_DB=$TIDEMARK_DB $tidemark show worker3 --json)"
