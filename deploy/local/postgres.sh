#!/usr/bin/env bash
# A project-owned PostgreSQL for development and tests, without Docker and without touching the
# distribution's own cluster. Uses Debian's `postgresql` package (installs it when missing and
# this runs as root or with passwordless sudo).
#
# Usage: deploy/local/postgres.sh start|stop|status|url|psql [psql args...]
#
#   start   initialise (first time) and start the server; does nothing if it already runs.
#           Waits until it accepts connections, then prints the connection string on stdout
#           (progress goes to stderr), e.g.
#           Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres
#   stop    stop the server (fast shutdown); does nothing if it is not running.
#   status  print whether it runs; exit 0 if it accepts connections, 3 if it is not running,
#           1 if it runs but does not answer.
#   url     print the connection string (Npgsql format).
#   psql    open psql on it; extra arguments go to psql.
#
# Environment:
#   CLUSTER_PG_DIR            base directory (default /tmp/cluster-pg-<uid>): data/ holds the
#                             cluster, the unix socket and postgres.log sit beside it.
#   CLUSTER_PG_PORT           TCP port on 127.0.0.1 (default 55432).
#   CLUSTER_PG_START_TIMEOUT  seconds to wait for the server to accept connections (default 60).
#
# Exit codes: 0 ok; 1 error; 3 (status) not running; 69 PostgreSQL is not installed and this
# script cannot install it (tests/run.sh then runs without PostgreSQL).
set -euo pipefail

readonly EX_UNAVAILABLE=69

PG_BASE="${CLUSTER_PG_DIR:-/tmp/cluster-pg-$(id -u)}"
PG_PORT="${CLUSTER_PG_PORT:-55432}"
PG_TIMEOUT="${CLUSTER_PG_START_TIMEOUT:-60}"
PG_DATA="$PG_BASE/data"
PG_LOG="$PG_BASE/postgres.log"
PG_HOST=127.0.0.1
PG_USER=postgres
PG_DB=postgres

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# The newest PostgreSQL installed under /usr/lib/postgresql/<ver>/bin (Debian's layout); else
# whatever pg_ctl is on PATH. Prints the bin directory, or nothing.
find_bindir() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/pg_ctl" && -x "$dir/initdb" && -x "$dir/postgres" ]] || continue
        best+="$dir"$'\n'
    done
    if [[ -n "$best" ]]; then
        printf '%s' "$best" | sort -t/ -k5,5V | tail -n 1
        return 0
    fi
    local pg_ctl_path
    if pg_ctl_path="$(command -v pg_ctl 2>/dev/null)"; then
        dir="$(dirname "$(readlink -f "$pg_ctl_path")")"
        [[ -x "$dir/initdb" && -x "$dir/postgres" ]] && printf '%s\n' "$dir"
    fi
    return 0
}

install_postgres() {
    local sudo=()
    if ! is_root; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
            sudo=(sudo -n)
        else
            log "PostgreSQL server binaries (pg_ctl, initdb, postgres) were not found, and this"
            log "script can install them only as root or with passwordless sudo."
            log "Install them first, e.g. on Debian/Ubuntu:  sudo apt-get install -y postgresql"
            exit "$EX_UNAVAILABLE"
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "PostgreSQL server binaries were not found and apt-get is not available."
        log "Install PostgreSQL (server and client) and put pg_ctl on PATH."
        exit "$EX_UNAVAILABLE"
    fi
    log "PostgreSQL not found: installing Debian's postgresql package"
    # The package may create (and, where an init system runs, start) the distribution's own
    # cluster on port 5432; this script never uses it.
    if ! "${sudo[@]}" apt-get update -q >&2 \
        || ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends postgresql >&2; then
        log "could not install the postgresql package; install it by hand: apt-get install -y postgresql"
        exit "$EX_UNAVAILABLE"
    fi
}

BIN=""
require_bin() {
    BIN="$(find_bindir)"
    if [[ -z "$BIN" ]]; then
        install_postgres
        BIN="$(find_bindir)"
        [[ -n "$BIN" ]] || { log "postgresql installed, but pg_ctl was not found"; exit "$EX_UNAVAILABLE"; }
    fi
}

# initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user, from a
# directory that user can enter.
as_owner() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

prepare_base_dir() {
    if is_root; then
        getent passwd postgres >/dev/null \
            || die "the 'postgres' OS user does not exist (it comes with Debian's postgresql package)"
        mkdir -p "$PG_BASE"
        chown -R postgres: "$PG_BASE"
        chmod 700 "$PG_BASE"
        as_owner test -w "$PG_BASE" -a -x "$PG_BASE" \
            || die "the 'postgres' OS user cannot write to $PG_BASE (is a parent directory private?); set CLUSTER_PG_DIR elsewhere, e.g. under /tmp"
    else
        mkdir -p "$PG_BASE"
        [[ -O "$PG_BASE" ]] || die "$PG_BASE belongs to another user; set CLUSTER_PG_DIR to a directory of yours"
        chmod 700 "$PG_BASE"
    fi
}

bin_major() { "$BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/'; }

init_cluster() {
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        local have want
        have="$(cat "$PG_DATA/PG_VERSION")"
        want="$(bin_major)"
        [[ "$have" == "$want" ]] \
            || die "$PG_DATA was created by PostgreSQL $have but $BIN is PostgreSQL $want; remove $PG_BASE to re-create it"
        return 0
    fi
    if [[ -e "$PG_DATA" ]] && [[ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]]; then
        die "$PG_DATA exists but holds no cluster (a failed initdb?); remove $PG_BASE and retry"
    fi
    log "initialising a new cluster in $PG_DATA (PostgreSQL $(bin_major))"
    as_owner "$BIN/initdb" -D "$PG_DATA" -U "$PG_USER" -E UTF8 --no-locale \
        --auth-local=trust --auth-host=trust >"$PG_BASE/initdb.log" 2>&1 \
        || { cat "$PG_BASE/initdb.log" >&2; die "initdb failed (log above, also in $PG_BASE/initdb.log)"; }

    # Trust, but for loopback only (the server listens on 127.0.0.1 and on its own socket only).
    as_owner tee "$PG_DATA/pg_hba.conf" >/dev/null <<'EOF'
# Managed by deploy/local/postgres.sh: a development/test server, trust for loopback only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
    as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null <<'EOF'

# Added by deploy/local/postgres.sh: listen address, port and socket are rewritten at each start.
include_if_exists = 'cluster-local.conf'
EOF
}

# Rewritten at every start so that CLUSTER_PG_PORT / CLUSTER_PG_DIR changes take effect.
write_local_conf() {
    as_owner tee "$PG_DATA/cluster-local.conf" >/dev/null <<EOF
# Written by deploy/local/postgres.sh at each start; edits are lost.
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_BASE'
unix_socket_permissions = 0777
# Many test silos connect at once.
max_connections = 300
# Test-friendly: durable (fsync stays on), but less background work on a small machine.
max_parallel_workers_per_gather = 0
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# Whether PID is a live (not zombie) postgres process. A killed postmaster whose parent does not
# reap it (PID 1 in a container) lingers as a zombie: it answers kill -0 but is dead. A PID reused
# by another program after a crash or a reboot is no postgres.
is_live_postgres() {
    local pid="$1" comm state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ -r "/proc/$pid/stat" ]] || return 0 # no /proc: trust kill -0
    state="$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z && "$state" != X ]] || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    [[ "$comm" == postgres* || "$comm" == postmaster* ]]
}

# PID of the postmaster if one runs for our data directory; nothing otherwise (no or a stale
# postmaster.pid).
running_pid() {
    local pidfile="$PG_DATA/postmaster.pid" pid
    [[ -r "$pidfile" ]] || return 0
    pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
    if is_live_postgres "$pid"; then printf '%s\n' "$pid"; fi
}

# Lock files left by a server that did not shut down cleanly: postmaster.pid, and the socket's
# lock file (postgres trusts the PID in it, which may now be a zombie or another program).
remove_stale_locks() {
    local lock pid
    for lock in "$PG_DATA/postmaster.pid" "$PG_BASE/.s.PGSQL.$PG_PORT.lock"; do
        [[ -e "$lock" ]] || continue
        pid="$(head -n 1 "$lock" 2>/dev/null || true)"
        pid="${pid#-}" # the socket lock holds -PID
        if ! is_live_postgres "$pid"; then
            log "removing stale $lock (the previous server did not shut down cleanly)"
            rm -f "$lock"
        fi
    done
}

# The port the running server uses (4th line of postmaster.pid), else the configured one.
current_port() {
    local port=""
    if [[ -n "$(running_pid)" ]]; then
        port="$(sed -n '4p' "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    fi
    [[ "$port" =~ ^[0-9]+$ ]] && printf '%s\n' "$port" || printf '%s\n' "$PG_PORT"
}

conn_string() {
    printf 'Host=%s;Port=%s;Username=%s;Database=%s\n' "$PG_HOST" "$(current_port)" "$PG_USER" "$PG_DB"
}

pg_tool() {
    local tool="$1"
    if [[ -n "$BIN" && -x "$BIN/$tool" ]]; then
        printf '%s\n' "$BIN/$tool"
    else
        command -v "$tool" 2>/dev/null || true
    fi
}

is_ready() {
    local isready
    isready="$(pg_tool pg_isready)"
    [[ -n "$isready" ]] || die "pg_isready not found"
    "$isready" -q -h "$PG_HOST" -p "$(current_port)" -U "$PG_USER" -d "$PG_DB" -t 2
}

wait_ready() {
    local deadline=$((SECONDS + PG_TIMEOUT))
    until is_ready; do
        if ((SECONDS >= deadline)); then
            tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
            die "the server did not accept connections within ${PG_TIMEOUT}s (log: $PG_LOG)"
        fi
        sleep 0.5
    done
}

cmd_start() {
    require_bin
    if [[ -n "$(running_pid)" ]]; then
        wait_ready
        log "already running (pid $(running_pid), data $PG_DATA)"
        conn_string
        return 0
    fi
    prepare_base_dir
    init_cluster
    remove_stale_locks
    write_local_conf
    : >>"$PG_LOG"
    if is_root; then chown postgres: "$PG_LOG"; fi

    log "starting PostgreSQL on $PG_HOST:$PG_PORT (data $PG_DATA, log $PG_LOG)"
    # After a crash (kill -9) the old backends may still hold the shared memory for a moment:
    # postgres then refuses to start, so retry a few times.
    local attempt out
    for attempt in 1 2 3 4 5; do
        if out="$(as_owner "$BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_TIMEOUT" -s 2>&1)"; then
            break
        fi
        if [[ -n "$(running_pid)" ]]; then
            break # started, but slow to become ready (crash recovery?): wait_ready decides
        fi
        if ((attempt == 5)); then
            printf '%s\n' "$out" >&2
            tail -n 20 "$PG_LOG" >&2 || true
            die "could not start PostgreSQL (log: $PG_LOG)"
        fi
        log "start failed (attempt $attempt, $(grep -E 'FATAL' "$PG_LOG" | tail -n 1 | sed -E 's/.*FATAL: +//')), retrying"
        sleep 2
        remove_stale_locks
    done
    wait_ready
    log "running (pid $(running_pid))"
    conn_string
}

cmd_stop() {
    if [[ -z "$(running_pid)" ]]; then
        log "not running"
        return 0
    fi
    require_bin
    as_owner "$BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t "$PG_TIMEOUT" -s
    log "stopped"
}

cmd_status() {
    local pid
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        echo "stopped (data $PG_DATA)"
        return 3
    fi
    BIN="$(find_bindir)"
    if is_ready 2>/dev/null; then
        echo "running (pid $pid, $PG_HOST:$(current_port), data $PG_DATA): $(conn_string)"
    else
        echo "starting or not responding (pid $pid, $PG_HOST:$(current_port), data $PG_DATA; log $PG_LOG)"
        return 1
    fi
}

cmd_psql() {
    BIN="$(find_bindir)"
    local psql
    psql="$(pg_tool psql)"
    [[ -n "$psql" ]] || die "psql not found: install postgresql-client"
    [[ -n "$(running_pid)" ]] || die "the server is not running: run '$0 start' first"
    exec "$psql" -h "$PG_HOST" -p "$(current_port)" -U "$PG_USER" -d "$PG_DB" "$@"
}

main() {
    [[ $# -ge 1 ]] || usage
    local cmd="$1"
    shift
    case "$cmd" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        url) conn_string ;;
        psql) cmd_psql "$@" ;;
        -h | --help | help) usage 0 ;;
        *) log "unknown command: $cmd"; usage ;;
    esac
}

main "$@"
