#!/usr/bin/env bash
# A legitimate device's latency idle and under a wrong-password flood, side by side in one run (issue 15).
#
# Usage: bench/abuse/password-flood.sh [connections (64)] [seconds per phase (20)] [extra silo settings...]
#
# Builds the silo (Release), starts one embedded silo with its production defaults (100,000 PBKDF2 iterations, the
# default failed-login budgets and hashing gate), registers one account, then measures its device's GET /v1/devices
# for the given seconds idle, and again while the given number of connections loop wrong passwords for that same
# device. Prints p50/p99/max of both phases and what the flood was answered. Run it on a quiet machine.
#
# Environment: LOADTEST_NO_BUILD=1 uses the existing Release build of the silo.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly repo_root
readonly silo_dll="$repo_root/src/Cluster.Silo/bin/Release/net10.0/Cluster.Silo.dll"
connections="${1:-64}"
seconds="${2:-20}"
shift $(($# > 2 ? 2 : $#))

log() { printf 'password-flood.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=bench/free-port.sh
source "$repo_root/bench/free-port.sh"

dir="$(mktemp -d "${TMPDIR:-/tmp}/password-flood-XXXXXX")"
pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

if [[ "${LOADTEST_NO_BUILD:-}" != 1 ]]; then
    log "building the silo (Release)"
    dotnet build -c Release --nologo -v quiet "$repo_root/src/Cluster.Silo" >&2 || die "the build failed"
fi

http="$(free_port 18480)"
(cd "$repo_root/src/Cluster.Silo" && exec setsid dotnet "$silo_dll" \
    --urls "http://127.0.0.1:$http" --Cluster:Storage=Sqlite --Cluster:DataPath="$dir/cluster.db" \
    --Cluster:SiloPort="$(free_port 21411)" "$@" \
    >"$dir/silo.log" 2>&1 </dev/null) &
pid=$!
deadline=$((SECONDS + 120))
until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$http/health/ready"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/silo.log" >&2; die "the silo exited while starting"; }
    ((SECONDS < deadline)) || die "the silo was not ready within 120 s"
    sleep 0.5
done

log "silo ready on http://127.0.0.1:$http; measuring $seconds s idle, then $seconds s under $connections flooding connections"
dotnet run -c Release --file "$repo_root/bench/abuse/password-flood.cs" -- "http://127.0.0.1:$http" "$connections" "$seconds"
log "silo peak RSS $(awk '/VmHWM/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null || echo '?')"
