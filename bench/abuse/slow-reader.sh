#!/usr/bin/env bash
# A slow reader against an embedded silo this script starts: one device opens its socket and reads nothing while
# another sends it online messages of 60 KiB; prints the silo's RSS before, during (highest seen) and 15 s after,
# and whether the silo dropped the slow socket by itself. Measure on a quiet machine (docs/benchmarks.md).
#
# Usage: bench/abuse/slow-reader.sh [messages, default 3000] [parallel sends, default 8] [slow (default) | offline]
#   offline: the control run, the same sends to a device with no socket (what the sends alone cost the silo)
#
# Environment:
#   SLOW_READER_SILO_ARGS  extra silo settings, e.g. --Sockets:MaxOutboundBytes=1048576
#   SLOW_READER_NO_BUILD=1 use the existing Release build of the silo
#   SLOW_READER_KEEP=1     keep the silo's directory (database, log)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly repo_root
readonly silo_dll="$repo_root/src/Cluster.Silo/bin/Release/net10.0/Cluster.Silo.dll"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

log() { printf 'slow-reader.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=bench/free-port.sh
source "$repo_root/bench/free-port.sh"
# One sender floods one device: the per-sender limits would refuse most of it (docs/security.md).
# shellcheck source=bench/lift-limits.sh
source "$repo_root/bench/lift-limits.sh"

dir="$(mktemp -d "${TMPDIR:-/tmp}/slow-reader-XXXXXX")"
pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [[ "${SLOW_READER_KEEP:-}" == 1 ]]; then log "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

if [[ "${SLOW_READER_NO_BUILD:-}" != 1 ]]; then
    log "building the silo (Release)"
    dotnet build -c Release --nologo -v quiet "$repo_root/src/Cluster.Silo" >&2 || die "the build failed"
fi

http="$(free_port 18480)"
log "starting an embedded silo on http://127.0.0.1:$http (data and log in $dir)"
# shellcheck disable=SC2086 # SLOW_READER_SILO_ARGS is a list of arguments on purpose.
(cd "$repo_root/src/Cluster.Silo" && exec dotnet "$silo_dll" \
    --urls "http://127.0.0.1:$http" --Cluster:Storage=Sqlite --Cluster:DataPath="$dir/cluster.db" \
    --Cluster:SiloPort="$(free_port 21411)" ${SLOW_READER_SILO_ARGS:-} \
    >"$dir/silo.log" 2>&1 </dev/null) &
pid=$!
deadline=$((SECONDS + 120))
until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$http/health/ready"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/silo.log" >&2; die "the silo exited while starting"; }
    ((SECONDS < deadline)) || { tail -n 20 "$dir/silo.log" >&2; die "the silo was not ready within 120 s"; }
    sleep 0.5
done

# The client is a file-based C# program on the test helpers (raw socket, valid registrations).
(cd "$repo_root/bench/abuse" && dotnet run -c Release SlowReader.cs -- "http://127.0.0.1:$http" "$pid" "${1:-3000}" "${2:-8}" "${3:-slow}")
