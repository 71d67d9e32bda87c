#!/usr/bin/env bash
# Measures two commits (or this tree) side by side on one machine: builds each in Release, then alternates
# runs of one load-test scenario against each commit's own embedded silo (A, B, A, B, ...), and prints a
# table of deliveries/s, the silo's CPU over the measured window, server CPU per delivery and latency.
#
# Usage: bench/side-by-side.sh BASE [CANDIDATE] [-- <Cluster.LoadTest scenario and options>]
#
#   BASE, CANDIDATE  commits (any git revision), or "." for this working tree; CANDIDATE defaults to ".".
#   After "--": the scenario, default: fanout --accounts 100 --devices 3 --concurrency 32 --duration 45s
#
# Examples:
#   bench/side-by-side.sh 1e2ebaf                       # the issue-16 baseline against this tree
#   ROUNDS=3 bench/side-by-side.sh 1e2ebaf . -- fanout --accounts 1000 --devices 3 --duration 45s
#   A_ENV='DOTNET_TieredPGO=0' bench/side-by-side.sh . .   # one tree, two environments
#
# Environment:
#   ROUNDS        runs per side (default 2)
#   B_SCENARIO    another scenario for side B (words, as after "--"), e.g. to compare a group fan-out's
#                 cost per delivered copy with direct sends' on one commit: B_SCENARIO='group-fanout ...' . .
#   A_ENV, B_ENV  extra environment for side A's / side B's silo, e.g. 'DOTNET_gcServer=1 X=y'
#   SILO_ARGS     settings for both silos (default --Auth:PasswordHashIterations=1000, so that registering
#                 the load's accounts does not dominate the run; the default iterations are the product's)
#   WARMUP        seconds of the load phase left out of the measurement (default 15: JIT tiering settles)
#   WORK          where the commits are checked out and the reports go (default /tmp/side-by-side)
#   SERVER        embedded (default: one silo on SQLite) or cluster: the local cluster on PostgreSQL
#                 (bench/loadtest.sh cluster, started and stopped for each run)
#   A_SILOS, B_SILOS  with SERVER=cluster, the silos of side A's / side B's cluster (default 3), e.g.
#                 SERVER=cluster A_SILOS=1 B_SILOS=3 bench/side-by-side.sh . .   # the cost of scale-out
#
# Deliveries/s and server CPU are taken over one window: the load phase less its first WARMUP seconds and its
# last second, from the report's per-second delivery counts; server CPU is the silo process's utime + stime
# from /proc/PID/stat, sampled every 0.5 s. With SERVER=cluster: the sum over every silo process, PostgreSQL's
# processes apart (a PostgreSQL backend that exits mid-window takes its ticks along), a delivery's cost is the
# silos' and PostgreSQL's CPU together, and the table adds the Orleans messages the silos sent each other per
# delivered envelope (over the whole run, its setup included, from their /metrics). Latency percentiles are the
# whole run's. The load generator runs on the same machine: say so when you quote the numbers, with the machine
# and disk.
set -euo pipefail
shopt -s inherit_errexit

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root
readonly work="${WORK:-/tmp/side-by-side}"
readonly rounds="${ROUNDS:-2}"
readonly silo_args="${SILO_ARGS:---Auth:PasswordHashIterations=1000}"
readonly server="${SERVER:-embedded}"
[[ "$server" == embedded || "$server" == cluster ]] || { printf 'side-by-side.sh: SERVER must be embedded or cluster\n' >&2; exit 2; }

log() { printf 'side-by-side.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

base="${1:-}"
[[ -n "$base" && "$base" != "--" ]] || { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
shift
candidate="."
if [[ $# -gt 0 && "$1" != "--" ]]; then
    candidate="$1"
    shift
fi
[[ $# -gt 0 && "$1" == "--" ]] && shift
scenario=("$@")
[[ ${#scenario[@]} -gt 0 ]] || scenario=(fanout --accounts 100 --devices 3 --concurrency 32 --duration 45s)

mkdir -p "$work"
run_dir="$work/run-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run_dir"

# Checks a revision out beside this tree (once) and builds the silo and the load tool; prints its directory.
prepare() {
    local rev="$1" tree sha
    if [[ "$rev" == "." ]]; then
        tree="$repo_root"
    else
        sha="$(git -C "$repo_root" rev-parse --short=12 "$rev^{commit}")" || die "unknown revision $rev"
        tree="$work/tree-$sha"
        if [[ ! -d "$tree" ]]; then
            git -C "$repo_root" worktree add --detach "$tree" "$sha" >&2
        fi
    fi
    log "building $rev in $tree"
    dotnet build "$tree/src/Cluster.Silo" -c Release -nologo -v q >&2
    dotnet build "$tree/src/Cluster.LoadTest" -c Release -nologo -v q >&2
    printf '%s\n' "$tree"
}

describe() {
    local tree="$1" rev="$2"
    if [[ "$rev" == "." ]]; then
        local sha
        sha="$(git -C "$tree" rev-parse --short HEAD)"
        if [[ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]]; then
            sha="$sha+changes"
        fi
        printf '%s\n' "$sha"
    else
        git -C "$tree" rev-parse --short HEAD
    fi
}

tree_a="$(prepare "$base")"
tree_b="$(prepare "$candidate")"
name_a="$(describe "$tree_a" "$base")"
name_b="$(describe "$tree_b" "$candidate")"
[[ -n "${A_ENV:-}" ]] && name_a="$name_a ($A_ENV)"
[[ -n "${B_ENV:-}" ]] && name_b="$name_b ($B_ENV)"
[[ -n "${B_SCENARIO:-}" ]] && name_b="$name_b, ${B_SCENARIO%% *}"
if [[ "$server" == cluster ]]; then
    name_a="$name_a, ${A_SILOS:-3} silos"
    name_b="$name_b, ${B_SILOS:-3} silos"
fi

# Samples the CPU ticks of the silos started from TREE every 0.5 s, and of PostgreSQL's processes:
# "epoch-ms silo-ticks postgres-ticks" lines.
sample() {
    local tree="$1" out="$2" pid stat silo pg
    local dll="$tree/src/Cluster.Silo/bin/Release/net10.0/Cluster.Silo.dll"
    while true; do
        silo=0 pg=0
        for pid in $(pgrep -f -- "$dll" || true); do
            if { read -r -a stat < "/proc/$pid/stat"; } 2>/dev/null; then silo=$((silo + stat[13] + stat[14])); fi
        done
        for pid in $(pgrep -x postgres || true); do
            if { read -r -a stat < "/proc/$pid/stat"; } 2>/dev/null; then pg=$((pg + stat[13] + stat[14])); fi
        done
        ((silo > 0)) && printf '%s %s %s\n' "$(date +%s%3N)" "$silo" "$pg"
        sleep 0.5
    done > "$out"
}

# With SERVER=cluster: every 2 s, the silos' Orleans messages sent to other silos and the envelopes they delivered so
# far (their /metrics; the silos are fresh each run, so the last line is the run's totals, setup included):
# "silo-to-silo-messages silo-to-silo-bytes envelopes-delivered" lines.
scrape() {
    local silos="$1" out="$2" i
    while true; do
        for i in $(seq 1 "$silos"); do
            curl -s -m 2 "http://127.0.0.1:$((${CLUSTER_HTTP_BASE:-8080} + i))/metrics" || true
        done | awk '
            /^orleans_messaging_sent_messages_size_bytes_count\{.*SiloToSilo/ { remote += $NF }
            /^orleans_messaging_sent_messages_size_bytes_sum\{.*SiloToSilo/ { bytes += $NF }
            /^cluster_envelopes_delivered_total/ { delivered += $NF }
            END { if (delivered > 0) printf "%d %d %d\n", remote, bytes, delivered }'
        sleep 2
    done > "$out"
}

one_run() {
    local side="$1" tree="$2" extra_env="$3" round="$4"
    local -a args=("${scenario[@]}")
    if [[ "$side" == B && -n "${B_SCENARIO:-}" ]]; then
        read -r -a args <<< "$B_SCENARIO"
    fi
    local report="$run_dir/$side-$round.json" cpu="$run_dir/$side-$round.cpu" sampler scraper="" rc=0
    sample "$tree" "$cpu" &
    sampler=$!
    local silos="${A_SILOS:-3}"
    [[ "$side" == B ]] && silos="${B_SILOS:-3}"
    if [[ "$server" == cluster ]]; then
        scrape "$silos" "$run_dir/$side-$round.metrics" &
        scraper=$!
    fi
    log "round $round, side $side: ${args[*]}"
    if [[ "$server" == cluster ]]; then
        # The cluster's silos take settings from the environment: --Auth:X=y becomes Auth__X=y.
        local cluster_env="" arg
        for arg in $silo_args; do
            arg="${arg#--}"
            cluster_env="$cluster_env ${arg//:/__}"
        done
        # shellcheck disable=SC2086 # extra_env and cluster_env are lists of NAME=value words on purpose
        env $extra_env $cluster_env LOADTEST_NO_BUILD=1 CLUSTER_NO_BUILD=1 LOADTEST_SILOS="$silos" \
            bash "$tree/bench/loadtest.sh" cluster "${args[@]}" --report "$report" > "$run_dir/$side-$round.log" 2>&1 || rc=$?
    else
        # shellcheck disable=SC2086 # extra_env is a list of NAME=value words on purpose
        env $extra_env LOADTEST_NO_BUILD=1 LOADTEST_SILO_ARGS="$silo_args" \
            bash "$tree/bench/loadtest.sh" embedded "${args[@]}" --report "$report" > "$run_dir/$side-$round.log" 2>&1 || rc=$?
    fi
    kill "$sampler" $scraper 2>/dev/null || true
    wait "$sampler" $scraper 2>/dev/null || true
    [[ $rc -eq 0 ]] || log "round $round, side $side: the load tool exited $rc (see $run_dir/$side-$round.log)"
}

for round in $(seq 1 "$rounds"); do
    one_run A "$tree_a" "${A_ENV:-}" "$round"
    one_run B "$tree_b" "${B_ENV:-}" "$round"
done

SERVER="$server" WARMUP="${WARMUP:-15}" python3 - "$run_dir" "$rounds" "$name_a" "$name_b" <<'EOF'
import datetime, json, os, sys

run_dir, rounds, names = sys.argv[1], int(sys.argv[2]), {"A": sys.argv[3], "B": sys.argv[4]}
warmup = float(os.environ.get("WARMUP", "15"))
cluster = os.environ.get("SERVER") == "cluster"

def measure(side, rnd):
    path = os.path.join(run_dir, f"{side}-{rnd}.json")
    if not os.path.exists(path):
        return None
    report = json.load(open(path))
    r = report["results"]
    started = datetime.datetime.fromisoformat(report["startedAt"]).timestamp() * 1000
    samples = [tuple(map(int, line.split())) + (0,) for line in open(os.path.join(run_dir, f"{side}-{rnd}.cpu")) if len(line.split()) in (2, 3)]
    # The per-second delivery counts of the load phase, less its first WARMUP seconds (JIT tiering, caches filling)
    # and its last second (partial).
    seconds = [e for e in r.get("timeline", []) if e["operation"] == "deliver"]
    seconds = [e for e in seconds if e["seconds"] >= seconds[0]["seconds"] + warmup][:-1] if seconds else []
    if len(seconds) >= 5:
        start = started + (seconds[0]["seconds"] - 1) * 1000
        end = started + seconds[-1]["seconds"] * 1000
        rate = sum(e["count"] for e in seconds) / ((end - start) / 1000)
    else:
        # A load tool without a timeline (older commits): the whole run's rate, which is steady after the first
        # seconds, and the CPU of its measured window less the warm-up.
        finished = datetime.datetime.fromisoformat(report["finishedAt"]).timestamp() * 1000
        end = finished - r.get("drainSeconds", 0) * 1000 - 1000
        start = end - (r["measuredSeconds"] - 1 - warmup) * 1000
        rate = r["envelopesPerSecond"]
    if len(samples) < 2 or end - start < 5000:
        return None
    nearest = lambda t: min(samples, key=lambda s: abs(s[0] - t))
    a, b = nearest(start), nearest(end)
    window = (b[0] - a[0]) / 1000
    cpu = (b[1] - a[1]) / os.sysconf("SC_CLK_TCK")
    pg = (b[2] - a[2]) / os.sysconf("SC_CLK_TCK")
    hops = None
    metrics = os.path.join(run_dir, f"{side}-{rnd}.metrics")
    if os.path.exists(metrics):
        lines = [l.split() for l in open(metrics) if len(l.split()) == 3]
        if lines:
            remote, _, delivered = map(int, lines[-1])
            hops = remote / delivered
    deliver = r["latency"].get("deliver", {})
    env = r["envelopes"]
    return {
        "rate": rate, "cpu": cpu / window * 100 if window else 0, "pg": pg / window * 100 if window else 0,
        # With SERVER=cluster a delivery costs the silos and PostgreSQL both.
        "per": (cpu + (pg if cluster else 0)) / window / rate * 1e6 if window and rate else 0, "window": window,
        "p50": deliver.get("p50", 0), "p99": deliver.get("p99", 0),
        "lost": env.get("lost", 0), "dup": env.get("duplicated", 0), "hops": hops,
    }

pg_head, pg_rule = (" PostgreSQL CPU | silo-to-silo messages per delivery |", "---:|---:|") if cluster else ("", "")
per_head = "silos + PostgreSQL CPU per delivery" if cluster else "server CPU per delivery"
print(f"| round | side | deliveries/s | server CPU |{pg_head} {per_head} | deliver p50 / p99 ms (whole run) | lost | duplicated |")
print(f"|---|---|---:|---:|{pg_rule}---:|---:|---:|---:|")
totals = {"A": [], "B": []}
for rnd in range(1, rounds + 1):
    for side in "AB":
        m = measure(side, rnd)
        if m is None:
            print(f"| {rnd} | {names[side]} | (no report) | | | | | |")
            continue
        totals[side].append(m)
        hops_cell = f"{m['hops']:.2f}" if m["hops"] is not None else "(not scraped)"
        pg_cell = f" {m['pg']:.0f} % | {hops_cell} |" if cluster else ""
        print(f"| {rnd} | {names[side]} | {m['rate']:,.0f} | {m['cpu']:.0f} % |{pg_cell} {m['per']:.0f} µs | {m['p50']:.1f} / {m['p99']:.1f} | {m['lost']} | {m['dup']} |")
if totals["A"] and totals["B"]:
    mean = lambda side, key: sum(m[key] for m in totals[side]) / len(totals[side])
    print()
    print(f"B / A: deliveries/s x{mean('B', 'rate') / mean('A', 'rate'):.2f}, "
          f"deliveries per {'silos + PostgreSQL' if cluster else 'server'} CPU-second x{mean('A', 'per') / mean('B', 'per'):.2f} (means of {rounds} runs each)")
print(f"\nreports: {run_dir}")
EOF
