#!/usr/bin/env bash
# Runs Cluster.LoadTest against a server this script starts (or finds running).
#
# Usage: bench/loadtest.sh embedded|cluster <scenario> [Cluster.LoadTest options...]
#
#   embedded   build the silo and the tool (Release), start one embedded silo (SQLite in a fresh temp
#              directory, free HTTP and silo ports), run the scenario against it, stop the silo.
#   cluster    deploy/local/cluster.sh up (PostgreSQL, migrate, LOADTEST_SILOS silos, default 3), run
#              the scenario against every silo's URL, then cluster.sh down -- unless the cluster was
#              already running before, or LOADTEST_KEEP=1: then it is left running.
#
# Examples:
#   bench/loadtest.sh cluster fanout --duration 60s          # the 60-second fanout of README.md
#   bench/loadtest.sh embedded calls --accounts 50 --devices 3 --rate 20/s
#   LOADTEST_SILO_ARGS='--Auth:PasswordHashIterations=1000' bench/loadtest.sh embedded connect-storm --accounts 1000 --devices 1
#
# Environment:
#   LOADTEST_SILOS       silos of the local cluster (default 3)
#   LOADTEST_KEEP=1      leave the embedded silo's directory (log, database) / the cluster running
#   LOADTEST_SILO_ARGS   extra settings for the embedded silo, e.g. --Auth:PasswordHashIterations=1000
#                        (for the cluster, export them as variables: Auth__PasswordHashIterations=1000)
#   LOADTEST_NOFILE      open-file limit to ask for (default 65536; sockets are files)
#   LOADTEST_NO_BUILD=1  use the existing Release builds
#   CLUSTER_*            passed to deploy/local/cluster.sh: e.g. CLUSTER_STATE_DIR, CLUSTER_HTTP_BASE,
#                        CLUSTER_PG_DIR and CLUSTER_PG_PORT for a cluster of its own beside another one
#                        (see docs/cluster.md); a PostgreSQL that already ran is left running.
#
# Reports go to loadtest-reports/ (the tool's default) unless --report is given. Exit code: the tool's
# (0 passed, 1 failed, 2 usage), or 1 when the server could not be started.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root
readonly tool_dll="$repo_root/src/Cluster.LoadTest/bin/Release/net10.0/Cluster.LoadTest.dll"
readonly silo_dll="$repo_root/src/Cluster.Silo/bin/Release/net10.0/Cluster.Silo.dll"
readonly cluster_sh="$repo_root/deploy/local/cluster.sh"

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

# shellcheck source=bench/lift-limits.sh
source "$repo_root/bench/lift-limits.sh"

log() { printf 'loadtest.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# A TCP port nothing listens on (checked, not reserved: good enough on a development machine).
# shellcheck source=bench/free-port.sh
source "$repo_root/bench/free-port.sh"

build() {
    [[ "${LOADTEST_NO_BUILD:-}" == 1 ]] && return 0
    local project
    for project in "$@"; do
        log "building $project (Release)"
        dotnet build -c Release --nologo -v quiet "$repo_root/$project" >&2 || die "the build of $project failed"
    done
}

raise_file_limit() {
    local want="${LOADTEST_NOFILE:-65536}"
    ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    log "open-file limit: $(ulimit -n)"
}

# shellcheck disable=SC2317 # called by the EXIT trap
stop_embedded() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [[ -z "$dir" ]]; then return 0; fi
    if [[ "${LOADTEST_KEEP:-}" == 1 ]]; then log "kept $dir"; else rm -rf "$dir"; fi
}

run_tool() {
    # The tool runs in the repository so that its report names the commit (git rev-parse HEAD).
    (cd "$repo_root" && dotnet "$tool_dll" "$@")
}

# The embedded silo's directory and pid, for the EXIT trap.
dir=""
pid=""

embedded() {
    build src/Cluster.Silo src/Cluster.LoadTest
    local http silo rc=0
    dir="$(mktemp -d "${TMPDIR:-/tmp}/loadtest-silo-XXXXXX")"
    http="$(free_port 18080)"
    silo="$(free_port 21111)"
    log "starting an embedded silo on http://127.0.0.1:$http (data and log in $dir)"
    # shellcheck disable=SC2086 # LOADTEST_SILO_ARGS is a list of arguments on purpose.
    (cd "$repo_root/src/Cluster.Silo" && exec setsid dotnet "$silo_dll" \
        --urls "http://127.0.0.1:$http" --Cluster:Storage=Sqlite --Cluster:DataPath="$dir/cluster.db" \
        --Cluster:SiloPort="$silo" ${LOADTEST_SILO_ARGS:-} \
        >"$dir/silo.log" 2>&1 </dev/null) &
    pid=$!
    trap stop_embedded EXIT
    local deadline=$((SECONDS + 120))
    until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$http/health/ready"; do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/silo.log" >&2; die "the silo exited while starting"; }
        ((SECONDS < deadline)) || { tail -n 20 "$dir/silo.log" >&2; die "the silo was not ready within 120 s"; }
        sleep 0.5
    done
    run_tool "$@" --targets "http://127.0.0.1:$http" || rc=$?
    log "silo: pid $pid, peak RSS $(awk '/VmHWM/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null || echo '?')"
    return "$rc"
}

cluster() {
    build src/Cluster.LoadTest
    local was_up=0 db_was_up=0 rc=0 urls
    if bash "$cluster_sh" status >/dev/null 2>&1; then
        was_up=1
        log "the local cluster already runs: using it as it is"
    else
        if bash "$repo_root/deploy/local/postgres.sh" status >/dev/null 2>&1; then db_was_up=1; fi
        bash "$cluster_sh" up "${LOADTEST_SILOS:-3}" >/dev/null
    fi
    urls="$(bash "$cluster_sh" urls | paste -sd, -)"
    [[ -n "$urls" ]] || die "the local cluster has no running silo"
    run_tool "$@" --targets "$urls" || rc=$?
    if ((was_up == 0)) && [[ "${LOADTEST_KEEP:-}" != 1 ]]; then
        if ((db_was_up == 1)); then bash "$cluster_sh" down --keep-db >&2; else bash "$cluster_sh" down >&2; fi
    fi
    return "$rc"
}

main() {
    [[ $# -ge 2 ]] || usage
    local where="$1"
    shift
    raise_file_limit
    case "$where" in
        embedded) embedded "$@" ;;
        cluster) cluster "$@" ;;
        *) log "unknown target '$where' (embedded or cluster)"; usage ;;
    esac
}

main "$@"
