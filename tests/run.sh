#!/usr/bin/env bash
# Runs the whole test suite: ./tests/run.sh [extra dotnet test arguments, e.g. --filter ...]
#
# 1. Ensures the project's local PostgreSQL (deploy/local/postgres.sh start) and exports its
#    connection string as CLUSTER_TEST_POSTGRES. If PostgreSQL is not installed and cannot be
#    installed here, it warns and goes on: the PostgreSQL tests then report themselves skipped.
#    CLUSTER_TEST_POSTGRES already set: that server is used and no local one is started.
#    CLUSTER_TEST_NO_POSTGRES=1: run without PostgreSQL.
# 2. Installs the node modules of tests/interop (npm ci) if they are missing. Without node/npm it
#    warns and goes on: the libsignal interop test then reports itself skipped.
# 3. dotnet test Cluster.sln -c Release, with a TRX file per test project in a fresh directory
#    TestResults/run-<time>-<pid>/.
# 4. Prints what the fault harness counted (tests/Cluster.Faults.Tests writes it to the file
#    CLUSTER_FAULTS_REPORT names, in the results directory).
# 5. Sums the <Counters/> of every TRX file and prints, as the LAST line,
#      tests: N passed, N failed[, N skipped]
#    A test run that was aborted (test host crashed or hung) without a failed test in its
#    counters counts as one failed test: the test that was running is not in the counters.
#
# Exit code: non-zero if dotnet test failed, a test failed, or no test ran at all.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

warn() { printf 'tests/run.sh: warning: %s\n' "$*" >&2; }
note() { printf 'tests/run.sh: %s\n' "$*" >&2; }

export DOTNET_NOLOGO="${DOTNET_NOLOGO:-1}"
export DOTNET_CLI_TELEMETRY_OPTOUT="${DOTNET_CLI_TELEMETRY_OPTOUT:-1}"

# --- PostgreSQL ------------------------------------------------------------------------------
if [[ -n "${CLUSTER_TEST_POSTGRES:-}" ]]; then
    note "using CLUSTER_TEST_POSTGRES from the environment"
elif [[ "${CLUSTER_TEST_NO_POSTGRES:-}" == 1 ]]; then
    warn "CLUSTER_TEST_NO_POSTGRES=1: running without PostgreSQL; the PostgreSQL tests will be skipped"
    unset CLUSTER_TEST_POSTGRES
else
    pg_rc=0
    pg_out="$(bash "$repo_root/deploy/local/postgres.sh" start)" || pg_rc=$?
    if ((pg_rc == 0)); then
        CLUSTER_TEST_POSTGRES="$(printf '%s\n' "$pg_out" | tail -n 1)"
        export CLUSTER_TEST_POSTGRES
        note "PostgreSQL: $CLUSTER_TEST_POSTGRES"
    elif ((pg_rc == 69)); then
        warn "PostgreSQL is not installed and could not be installed (see above)."
        warn "Running WITHOUT PostgreSQL: the PostgreSQL tests will be reported as skipped."
        unset CLUSTER_TEST_POSTGRES
    else
        printf 'tests/run.sh: error: deploy/local/postgres.sh start failed (exit %d); see above.\n' "$pg_rc" >&2
        printf 'tests/run.sh: set CLUSTER_TEST_NO_POSTGRES=1 to run without PostgreSQL.\n' >&2
        exit 1
    fi
fi

# --- Node.js modules of the libsignal interop test --------------------------------------------
# tests/interop needs `npm ci` once (.ci/run always does it). Without node/npm, or when the install
# fails, the interop test reports itself skipped.
if [[ ! -f tests/interop/node_modules/@signalapp/libsignal-client/package.json || ! -f tests/interop/node_modules/ws/package.json \
    || ! -f tests/interop/node_modules/openapi-fetch/package.json || ! -f tests/interop/node_modules/openapi-typescript/package.json ]]; then
    if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
        note "installing the node modules of tests/interop (npm ci)"
        if ! npm ci --prefix tests/interop --no-audit --no-fund >&2; then
            rm -rf tests/interop/node_modules
            warn "npm ci in tests/interop failed: the libsignal interop test will be reported as skipped"
        fi
    else
        warn "node/npm not found: the libsignal interop test will be reported as skipped"
    fi
fi

# --- dotnet test -----------------------------------------------------------------------------
results_dir="$repo_root/TestResults/run-$(date -u +%Y%m%d-%H%M%S)-$$"
mkdir -p "$results_dir"

# The fault harness (tests/Cluster.Faults.Tests) writes its counts here; they are printed below.
export CLUSTER_FAULTS_REPORT="$results_dir/faults-report.txt"

test_rc=0
dotnet test "$repo_root/Cluster.sln" -c Release --nologo \
    --logger "trx" --results-directory "$results_dir" "$@" || test_rc=$?

# --- summary ---------------------------------------------------------------------------------
# The value of attribute $1 in the element text $2 (0 when absent).
attr() {
    local value
    value="$(printf '%s' "$2" | grep -oE "[[:space:]]$1=\"[0-9]+\"" | head -n 1 | grep -oE '[0-9]+' || true)"
    printf '%s\n' "${value:-0}"
}

passed=0 failed=0 skipped=0 trx_files=0 aborted_runs=0
while IFS= read -r -d '' trx; do
    trx_files=$((trx_files + 1))
    # One line, so that an element broken over lines still matches.
    flat="$(tr '\r\n\t' '   ' <"$trx")"
    counters="$(printf '%s' "$flat" | grep -oE '<Counters[[:space:]][^>]*>' | head -n 1 || true)"
    outcome="$(printf '%s' "$flat" | grep -oE '<ResultSummary[[:space:]][^>]*outcome="[A-Za-z]+"' | head -n 1 \
        | sed -E 's/.*outcome="([A-Za-z]+)"/\1/' || true)"
    if [[ -z "$counters" ]]; then
        warn "no <Counters> in ${trx#"$repo_root"/} (incomplete TRX?)"
        aborted_runs=$((aborted_runs + 1))
        continue
    fi
    total=$(attr total "$counters")
    executed=$(attr executed "$counters")
    file_passed=$(attr passed "$counters")
    file_failed=$(($(attr failed "$counters") + $(attr error "$counters") + $(attr timeout "$counters")))
    # xunit's skipped tests are in total but not in executed (NotExecuted results); older
    # adapters count them in notExecuted instead.
    file_skipped=$((total - executed))
    not_executed=$(attr notExecuted "$counters")
    ((file_skipped >= not_executed)) || file_skipped=$not_executed
    ((file_skipped >= 0)) || file_skipped=0
    case "$outcome" in
        Failed | Error | Aborted | Timeout)
            if ((file_failed == 0)); then
                warn "test run aborted (test host crashed or hung): ${trx#"$repo_root"/}"
                aborted_runs=$((aborted_runs + 1))
            fi
            ;;
    esac
    passed=$((passed + file_passed))
    failed=$((failed + file_failed))
    skipped=$((skipped + file_skipped))
done < <(find "$results_dir" -type f -name '*.trx' -print0 | sort -z)
failed=$((failed + aborted_runs))

rc=0
if ((test_rc != 0)); then
    note "dotnet test exited with code $test_rc"
    rc=$test_rc
fi
if ((failed > 0)); then
    rc=1
fi
if ((passed + failed == 0)); then
    note "no test ran (TRX files found: $trx_files)"
    rc=1
fi
if [[ -z "${CLUSTER_TEST_POSTGRES:-}" ]]; then
    warn "ran without PostgreSQL (CLUSTER_TEST_POSTGRES unset): the PostgreSQL tests were skipped"
fi
note "TRX results: ${results_dir#"$repo_root"/}"

if [[ -s "$CLUSTER_FAULTS_REPORT" ]]; then
    printf '\n--- fault harness (tests/Cluster.Faults.Tests): what each fault test counted ---\n'
    cat "$CLUSTER_FAULTS_REPORT"
    printf -- '---\n\n'
fi

summary="tests: $passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
printf '%s\n' "$summary"
exit "$rc"
