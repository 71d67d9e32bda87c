#!/usr/bin/env bash
# The cost of scale, measured with Cluster.LoadTest (docs/benchmarks.md, "Load tests"):
#   1. fanout as devices per account go through DEVICES (default 1 2 3 5), at FIXED_ACCOUNTS accounts;
#   2. fanout as accounts go through ACCOUNTS (default 100 1000 10000), at FIXED_DEVICES devices each;
#   3. connect-storm at IDLE_DEVICES connected devices (default 1000 10000): memory per idle device.
# Each fanout point is a closed loop of CONCURRENCY callers (default 16) for DURATION (default 30s)
# after a 5 s warm-up: it measures what the server sustains and its latency at that load.
#
# Usage: bench/loadtest-scale.sh embedded|cluster [extra Cluster.LoadTest options...]
#
# embedded: a fresh embedded silo per point (bench/loadtest.sh embedded); cluster: one local cluster
# for all points (brought up and down here, unless it already ran). Reports go to
# loadtest-reports/scale-<time>/, and the Markdown tables are printed at the end.
#
# Environment: DEVICES, ACCOUNTS, FIXED_ACCOUNTS (1000), FIXED_DEVICES (2), IDLE_DEVICES, CONCURRENCY,
# DURATION, STEPS (default "devices accounts memory": which parts to run), and bench/loadtest.sh's.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root
readonly loadtest="$repo_root/bench/loadtest.sh"
readonly cluster_sh="$repo_root/deploy/local/cluster.sh"

[[ $# -ge 1 && "$1" =~ ^(embedded|cluster)$ ]] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
where="$1"
shift

out="$repo_root/loadtest-reports/scale-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
log() { printf 'loadtest-scale.sh: %s\n' "$*" >&2; }

started_cluster=0
keep_db=()
if [[ "$where" == cluster ]] && ! bash "$cluster_sh" status >/dev/null 2>&1; then
    if bash "$repo_root/deploy/local/postgres.sh" status >/dev/null 2>&1; then keep_db=(--keep-db); fi
    bash "$cluster_sh" up "${LOADTEST_SILOS:-3}" >/dev/null
    started_cluster=1
fi
# shellcheck disable=SC2317 # called by the EXIT trap
finish() {
    if ((started_cluster == 1)) && [[ "${LOADTEST_KEEP:-}" != 1 ]]; then bash "$cluster_sh" down "${keep_db[@]}" >&2 || true; fi
}
trap finish EXIT

failed=0
point() {
    local name="$1"
    shift
    log "$name: $*"
    LOADTEST_NO_BUILD="${built:-}" bash "$loadtest" "$where" "$@" --report "$out/$name.json" --no-live "${extra[@]}" \
        >"$out/$name.txt" 2>"$out/$name.log" || failed=1
    grep -E '^(throughput|lost|duplicated|connect storm|server memory|result)' "$out/$name.txt" >&2 || true
    built=1
}

extra=("$@")
built=""
steps="${STEPS:-devices accounts memory}"
load=(--concurrency "${CONCURRENCY:-16}" --duration "${DURATION:-30s}" --warmup 5s)

if [[ " $steps " == *" devices "* ]]; then
    for d in ${DEVICES:-1 2 3 5}; do
        point "fanout-devices-$d" fanout --accounts "${FIXED_ACCOUNTS:-1000}" --devices "$d" "${load[@]}"
    done
fi

if [[ " $steps " == *" accounts "* ]]; then
    for a in ${ACCOUNTS:-100 1000 10000}; do
        point "fanout-accounts-$a" fanout --accounts "$a" --devices "${FIXED_DEVICES:-2}" "${load[@]}"
    done
fi

if [[ " $steps " == *" memory "* ]]; then
    for n in ${IDLE_DEVICES:-1000 10000}; do
        point "connect-storm-$n" connect-storm --accounts "$n" --devices 1 --idle 15s
    done
fi

(cd "$repo_root" && dotnet src/Cluster.LoadTest/bin/Release/net10.0/Cluster.LoadTest.dll table "$out"/*.json)
log "reports in $out"
exit "$failed"
