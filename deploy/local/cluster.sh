#!/usr/bin/env bash
# A local test cluster on one machine, without Docker: the project's PostgreSQL
# (deploy/local/postgres.sh), the schema (`Cluster.Silo migrate`), and N silos as separate
# processes on distinct HTTP and silo ports. Load tests and fault drills run against it.
#
# Usage: deploy/local/cluster.sh up [N] | status | down [--keep-db] | kill I | freeze I | thaw I | stop I | start I | restart I | urls | logs I
#
#   up [N]     start PostgreSQL, build the silo (Release) once, migrate, start silos 1..N (default
#              3) and wait until each answers /health/ready; prints the silos' base URLs.
#              Silos already running are left alone, so `up 5` after `up 3` adds silos 4 and 5.
#   status     one line per silo: index, pid, ports, running/ready; exit 0 when all are ready.
#   down       SIGTERM every silo (graceful: readiness off, sockets closed with 1001, the silo
#              leaves the cluster), wait for them to exit, then stop PostgreSQL (--keep-db: leave
#              it running).
#   kill I     SIGKILL silo I (a crash: its ports close, and the others declare it dead within a second).
#   freeze I   SIGSTOP silo I (a long GC pause, a starved machine: alive, ports open, answering nothing).
#   thaw I     SIGCONT silo I (a frozen silo runs again; one frozen for less than ~12 s is not declared dead).
#   stop I     SIGTERM silo I and wait for it to exit.
#   start I    start silo I again on its ports and wait until it is ready.
#   restart I  stop I, then start I (one step of a rolling restart).
#   urls       the base URLs of the running silos, one a line.
#   logs I     the path of silo I's log file.
#
# Silo I listens on HTTP 127.0.0.1:(CLUSTER_HTTP_BASE+I) and silo port (CLUSTER_SILO_BASE+I); no
# Orleans gateway (nothing uses one: clients speak HTTP).
#
# Environment:
#   CLUSTER_STATE_DIR     pid files and logs (default /tmp/cluster-local-<uid>)
#   CLUSTER_HTTP_BASE     default 8080 (silo 1 on 8081)
#   CLUSTER_SILO_BASE     default 11110 (silo 1 on 11111)
#   CLUSTER_READY_TIMEOUT seconds to wait for a silo to become ready (default 120)
#   CLUSTER_STOP_TIMEOUT  seconds to wait for a silo to exit after SIGTERM (default 60)
#   CLUSTER_NO_BUILD=1    use the existing Release build
#   Cluster__*            any silo setting, passed through (e.g. Cluster__ShutdownDrainSeconds=5,
#                         Cluster__Membership__ProbeTimeoutSeconds=1); see README.md.
#   CLUSTER_PG_DIR, CLUSTER_PG_PORT  passed to deploy/local/postgres.sh.
#
# Exit codes: 0 ok; 1 error; 2 usage; 3 (status) not every silo is ready; 69 PostgreSQL is not
# installed and cannot be installed here.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly repo_root
readonly pg_script="$repo_root/deploy/local/postgres.sh"
readonly silo_project="$repo_root/src/Cluster.Silo"
readonly silo_dll="$silo_project/bin/Release/net10.0/Cluster.Silo.dll"

STATE_DIR="${CLUSTER_STATE_DIR:-/tmp/cluster-local-$(id -u)}"
HTTP_BASE="${CLUSTER_HTTP_BASE:-8080}"
SILO_BASE="${CLUSTER_SILO_BASE:-11110}"
READY_TIMEOUT="${CLUSTER_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${CLUSTER_STOP_TIMEOUT:-60}"

export DOTNET_NOLOGO=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '6,23p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

http_port() { printf '%s\n' $((HTTP_BASE + $1)); }
silo_port() { printf '%s\n' $((SILO_BASE + $1)); }
base_url() { printf 'http://127.0.0.1:%s\n' "$(http_port "$1")"; }
pid_file() { printf '%s/silo-%s.pid\n' "$STATE_DIR" "$1"; }
log_file() { printf '%s/silo-%s.log\n' "$STATE_DIR" "$1"; }

check_index() {
    [[ "${1:-}" =~ ^[1-9][0-9]?$ ]] || { log "a silo index is 1..99, got '${1:-}'"; usage; }
}

# The connection string, from postgres.sh (which knows the port of the running server).
connection_string() { bash "$pg_script" url; }

# PID of silo I if it runs (a live dotnet process started by this script), else nothing.
silo_pid() {
    local file pid
    file="$(pid_file "$1")"
    [[ -r "$file" ]] || return 0
    pid="$(cat "$file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'Cluster.Silo.dll'; then
        return 0 # a reused pid
    fi
    printf '%s\n' "$pid"
}

# Indexes with a pid file, ascending.
known_indexes() {
    local file name
    for file in "$STATE_DIR"/silo-*.pid; do
        [[ -e "$file" ]] || continue
        name="${file##*/silo-}"
        printf '%s\n' "${name%.pid}"
    done | sort -n
}

is_ready() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$(base_url "$1")/health/ready" 2>/dev/null || true)"
    [[ "$code" == 200 ]]
}

wait_ready() {
    local i="$1" pid="$2" deadline=$((SECONDS + READY_TIMEOUT))
    until is_ready "$i"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$(log_file "$i")" >&2 || true
            die "silo $i exited while starting (log: $(log_file "$i"))"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$(log_file "$i")" >&2 || true
            die "silo $i was not ready within ${READY_TIMEOUT}s (log: $(log_file "$i"))"
        fi
        sleep 0.5
    done
}

build() {
    if [[ "${CLUSTER_NO_BUILD:-}" == 1 ]]; then
        [[ -f "$silo_dll" ]] || die "CLUSTER_NO_BUILD=1 but $silo_dll does not exist"
        return 0
    fi
    log "building src/Cluster.Silo (Release)"
    dotnet build -c Release --nologo -v quiet "$silo_project" >&2 || die "the build failed"
}

ensure_postgres() {
    local rc=0
    bash "$pg_script" start >/dev/null || rc=$?
    ((rc == 0)) || exit "$rc"
}

migrate() {
    log "migrating the schema"
    (cd "$silo_project" && dotnet "$silo_dll" migrate \
        --Cluster:Storage=PostgreSql --Cluster:ConnectionString="$(connection_string)") >&2 \
        || die "migrate failed"
}

start_silo() {
    local i="$1" pid
    if [[ -n "$(silo_pid "$i")" ]]; then
        log "silo $i already runs (pid $(silo_pid "$i"))"
        return 0
    fi
    mkdir -p "$STATE_DIR"
    : >>"$(log_file "$i")"
    log "starting silo $i: http $(http_port "$i"), silo $(silo_port "$i") (log $(log_file "$i"))"
    # setsid: the silo must not get the terminal's SIGINT meant for this script; it is stopped by pid.
    (
        cd "$silo_project"
        exec setsid dotnet "$silo_dll" \
            --urls "$(base_url "$i")" \
            --Cluster:Storage=PostgreSql \
            --Cluster:ConnectionString="$(connection_string)" \
            --Cluster:SiloPort="$(silo_port "$i")" \
            --Cluster:AdvertisedAddress=127.0.0.1 \
            --VerificationSender:AllowDevelopmentInCluster=true \
            >>"$(log_file "$i")" 2>&1 </dev/null
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$(pid_file "$i")"
    wait_ready "$i" "$pid"
    log "silo $i ready (pid $pid)"
}

stop_silo() {
    local i="$1" pid deadline
    pid="$(silo_pid "$i")"
    if [[ -z "$pid" ]]; then
        log "silo $i is not running"
        return 0
    fi
    log "stopping silo $i (pid $pid, SIGTERM)"
    kill -TERM "$pid"
    deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "silo $i did not exit within ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    log "silo $i stopped"
}

kill_silo() {
    local i="$1" pid
    pid="$(silo_pid "$i")"
    [[ -n "$pid" ]] || die "silo $i is not running"
    kill -KILL "$pid"
    log "silo $i killed (pid $pid, SIGKILL)"
}

signal_silo() {
    local i="$1" signal="$2" what="$3" pid
    pid="$(silo_pid "$i")"
    [[ -n "$pid" ]] || die "silo $i is not running"
    kill "-$signal" "$pid"
    log "silo $i $what (pid $pid, SIG$signal)"
}

cmd_up() {
    local n="${1:-3}" i
    [[ "$n" =~ ^[1-9][0-9]?$ ]] || { log "N is 1..99, got '$n'"; usage; }
    ensure_postgres
    build
    migrate
    for ((i = 1; i <= n; i++)); do
        start_silo "$i"
    done
    cmd_urls
}

cmd_status() {
    local i pid all_ready=0 any=0 state
    for i in $(known_indexes); do
        any=1
        pid="$(silo_pid "$i")"
        if [[ -z "$pid" ]]; then
            state=stopped
            all_ready=3
        elif is_ready "$i"; then
            state=ready
        else
            state="running, not ready"
            all_ready=3
        fi
        printf 'silo %s  pid %-7s http %s  silo %s  %s\n' \
            "$i" "${pid:--}" "$(http_port "$i")" "$(silo_port "$i")" "$state"
    done
    ((any == 1)) || { echo "no silos (state $STATE_DIR)"; all_ready=3; }
    bash "$pg_script" status || true
    return "$all_ready"
}

cmd_down() {
    local keep_db=0 i
    [[ "${1:-}" == --keep-db ]] && keep_db=1
    local pid
    # SIGTERM all first, so the silos drain in parallel; then wait for each.
    for i in $(known_indexes); do
        pid="$(silo_pid "$i")"
        if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for i in $(known_indexes); do
        stop_silo "$i"
        rm -f "$(pid_file "$i")"
    done
    if ((keep_db == 0)); then
        bash "$pg_script" stop
    fi
}

cmd_urls() {
    local i
    for i in $(known_indexes); do
        if [[ -n "$(silo_pid "$i")" ]]; then base_url "$i"; fi
    done
}

main() {
    [[ $# -ge 1 ]] || usage
    local cmd="$1"
    shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        status) cmd_status ;;
        down) cmd_down "$@" ;;
        kill) check_index "${1:-}"; kill_silo "$1" ;;
        freeze) check_index "${1:-}"; signal_silo "$1" STOP frozen ;;
        thaw) check_index "${1:-}"; signal_silo "$1" CONT thawed ;;
        stop) check_index "${1:-}"; stop_silo "$1" ;;
        start) check_index "${1:-}"; CLUSTER_NO_BUILD=1; ensure_postgres; start_silo "$1" ;;
        restart) check_index "${1:-}"; ensure_postgres; stop_silo "$1"; start_silo "$1" ;;
        urls) cmd_urls ;;
        logs) check_index "${1:-}"; log_file "$1" ;;
        -h | --help | help) usage 0 ;;
        *) log "unknown command: $cmd"; usage ;;
    esac
}

main "$@"
