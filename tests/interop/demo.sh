#!/usr/bin/env bash
# The one-command demo: bash tests/interop/demo.sh [SERVER_URL]   (default http://127.0.0.1:8080)
#
# Runs demo.mjs (real libsignal clients telling the product's story) against a server started on this machine with
# `dotnet run --project src/Cluster.Silo` (its development verification sender writes the codes the demo reads).
# Installs the pinned node modules (npm ci) the first time. Needs Node.js 20.19 or later.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null 2>&1 || { echo "demo: needs Node.js 20.19+ (Debian: apt-get install nodejs npm)" >&2; exit 1; }
if [[ ! -f "$here/node_modules/@signalapp/libsignal-client/package.json" || ! -f "$here/node_modules/ws/package.json" ]]; then
    echo "demo: installing the pinned node modules (npm ci in tests/interop)" >&2
    npm ci --prefix "$here" --no-audit --no-fund >&2
fi
exec node "$here/demo.mjs" "${1:-http://127.0.0.1:8080}"
