#!/usr/bin/env bash
# Device grain placement, Socket against Default, with the load test's fanout scenario on 3-silo clusters
# (deploy/local/cluster.sh): an open loop at a fixed rate (delivery latency) and a closed loop (throughput),
# devices spread over the three silos, and what crossed between silos counted from the silos' /metrics.
#
# Usage: bench/placement/compare.sh alternate [MODE...]   one cluster at a time, restarted with each mode in
#                                                          turn (default: Socket Default Socket Default)
#        bench/placement/compare.sh together [ROUNDS]      both clusters up at once, the same load offered to
#                                                          both at the same time, ROUNDS times (default 3), so
#                                                          that both see the same noise from the rest of the machine
#
# Each mode's cluster has its own PostgreSQL server (port 55490 for Socket, 55491 for Default; one server for six
# silos runs out of connections), state directory, cluster id and ports (HTTP 18081.. for Socket, 19081.. for
# Default), so that it meets no other local cluster.
# Environment: RATE (open loop, sends/s; default 50), CONCURRENCY (closed loop; default 16), DURATION
# (default 60s), ACCOUNTS (default 90), DEVICES (per account; default 3), OUT (reports; default
# /tmp/placement-reports). Prints one line per load run; the JSON reports stay in OUT
# (`dotnet src/Cluster.LoadTest/bin/Release/net10.0/Cluster.LoadTest.dll table OUT/*.json`).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

# Passwords are hashed with 1000 rather than 100000 iterations, so that registering the devices does not dominate
# the silos' CPU time (a silo verifies a device's password once and then remembers it).
export Auth__PasswordHashIterations="${Auth__PasswordHashIterations:-1000}"

RATE="${RATE:-50}"
CONCURRENCY="${CONCURRENCY:-16}"
DURATION="${DURATION:-60s}"
ACCOUNTS="${ACCOUNTS:-90}"
DEVICES="${DEVICES:-3}"
OUT="${OUT:-/tmp/placement-reports}"

cluster=deploy/local/cluster.sh
loadtest=src/Cluster.LoadTest/bin/Release/net10.0/Cluster.LoadTest.dll
mkdir -p "$OUT"
# shellcheck source=bench/lift-limits.sh
source bench/lift-limits.sh

# Runs a command in MODE's cluster environment. Ports stay below the ephemeral range (32768-), where tests take
# free ports.
in_cluster() {
    local mode="$1" k=0
    shift
    [[ "$mode" == Default ]] && k=1000
    CLUSTER_PG_DIR="/tmp/placement-pg-$mode-$(id -u)" CLUSTER_PG_PORT=$((55490 + k / 1000)) \
        CLUSTER_STATE_DIR="/tmp/placement-$mode-$(id -u)" CLUSTER_HTTP_BASE=$((18080 + k)) CLUSTER_SILO_BASE=$((21110 + k)) \
        CLUSTER_GATEWAY_BASE=$((23110 + k)) Cluster__ClusterId="placement-$mode" Cluster__DevicePlacement="$mode" "$@"
}

up() { in_cluster "$1" env CLUSTER_NO_BUILD=1 bash "$cluster" up 3 >/dev/null; }
down() { in_cluster "$1" bash "$cluster" down --keep-db >/dev/null 2>&1 || true; }
stop() { in_cluster "$1" bash "$cluster" down >/dev/null 2>&1 || true; } # PostgreSQL too
urls() { in_cluster "$1" bash "$cluster" urls; }

# Sums over MODE's silos: messages and bytes sent silo-to-silo, messages delivered locally, envelopes pushed,
# device grains moved, and the silo processes' CPU time in clock ticks (user + system, from /proc).
scrape() {
    local mode="$1" url pid ticks=0
    for pid in $(cat "/tmp/placement-$mode-$(id -u)"/silo-*.pid); do
        ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    for url in $(urls "$mode"); do curl -s "$url/metrics"; done | awk -v ticks="$ticks" '
        /^orleans_messaging_sent_messages_size_bytes_count\{.*SiloToSilo/ { remote += $NF }
        /^orleans_messaging_sent_messages_size_bytes_sum\{.*SiloToSilo/ { bytes += $NF }
        /^orleans_messaging_sent_local_total/ { local += $NF }
        /^cluster_envelopes_delivered_total/ { delivered += $NF }
        /^cluster_device_grains_moved_total/ { moved += $NF }
        END { printf "%d %d %d %d %d %d\n", remote, bytes, local, delivered, moved, ticks }'
}

# One load run (open or closed loop) against MODE's cluster; prints its line.
run() {
    local mode="$1" kind="$2" label="$3" name before after
    name="$OUT/$label-$mode-$kind"
    local load=(--rate "$RATE")
    [[ "$kind" == closed ]] && load=(--concurrency "$CONCURRENCY")
    before="$(scrape "$mode")"
    dotnet "$loadtest" fanout --targets "$(urls "$mode" | paste -sd,)" --accounts "$ACCOUNTS" --devices "$DEVICES" \
        "${load[@]}" --duration "$DURATION" --warmup 10s --no-live --report "$name.json" >"$name.txt" 2>&1 || true
    after="$(scrape "$mode")"
    read -r r0 b0 l0 d0 m0 t0 <<<"$before"
    read -r r1 b1 l1 d1 m1 t1 <<<"$after"
    local delivered=$((d1 - d0)) hz
    hz="$(getconf CLK_TCK)"
    printf '%s %-7s %-6s %s | silo-to-silo msgs %d (%.2f per envelope), bytes %d (%.0f per envelope), local msgs %d, grains moved %d | silo CPU %.1f s (%.0f us per envelope) | load %s\n' \
        "$label" "$mode" "$kind" "$(grep -E '^(throughput|  deliver |lost|duplicated)' "$name.txt" | tr -s ' ' | paste -sd';')" \
        $((r1 - r0)) "$(awk -v a=$((r1 - r0)) -v d="$delivered" 'BEGIN { print (d ? a / d : 0) }')" \
        $((b1 - b0)) "$(awk -v a=$((b1 - b0)) -v d="$delivered" 'BEGIN { print (d ? a / d : 0) }')" \
        $((l1 - l0)) $((m1 - m0)) \
        "$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { print t / hz }')" \
        "$(awk -v t=$((t1 - t0)) -v hz="$hz" -v d="$delivered" 'BEGIN { print (d ? t / hz / d * 1e6 : 0) }')" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}

command="${1:-alternate}"
shift || true
dotnet build -c Release --nologo -v quiet src/Cluster.Silo >&2
dotnet build -c Release --nologo -v quiet src/Cluster.LoadTest >&2
trap 'stop Socket; stop Default' EXIT

case "$command" in
    alternate)
        modes=("$@")
        ((${#modes[@]} > 0)) || modes=(Socket Default Socket Default)
        index=0
        for mode in "${modes[@]}"; do
            index=$((index + 1))
            down "$mode"
            up "$mode"
            run "$mode" open "$index"
            run "$mode" closed "$index"
            down "$mode"
        done
        ;;
    together)
        up Socket
        up Default
        for ((round = 1; round <= ${1:-3}; round++)); do
            for kind in open closed; do
                run Socket "$kind" "t$round" >"$OUT/t$round-Socket-$kind.line" &
                run Default "$kind" "t$round" >"$OUT/t$round-Default-$kind.line" &
                wait
                cat "$OUT/t$round-Socket-$kind.line" "$OUT/t$round-Default-$kind.line"
            done
        done
        ;;
    *)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
