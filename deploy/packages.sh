#!/usr/bin/env bash
# Packs the installable projects and checks the packages: bash deploy/packages.sh [OUTPUT_DIR]
#
#   Cluster.Signal, Cluster.Client   libraries (.nupkg + .snupkg symbols)
#   Cluster.Cli                      .NET tool, command `cluster`
#   Cluster.LoadTest                 .NET tool, command `cluster-load`
#
# Writes them to OUTPUT_DIR (default artifacts/packages), then checks each package carries its README,
# license expression and symbols, installs both tools from that directory into a temporary tool path
# and runs `cluster --help` and `cluster-load --help`. Exits non-zero on the first failed check.
# .ci/run runs it before the tests.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-$repo_root/artifacts/packages}")"
fail() { printf 'deploy/packages.sh: FAILED: %s\n' "$*" >&2; exit 1; }
note() { printf 'deploy/packages.sh: %s\n' "$*" >&2; }

rm -rf "$out"
mkdir -p "$out"
for project in Cluster.Signal Cluster.Client Cluster.Cli Cluster.LoadTest; do
    dotnet pack "$repo_root/src/$project/$project.csproj" -c Release --nologo -v quiet -o "$out" >&2
done

version="$(sed -nE 's:.*<VersionPrefix>([^<]+)</VersionPrefix>.*:\1:p' "$repo_root/Directory.Build.props")"
[[ -n "$version" ]] || fail "no VersionPrefix in Directory.Build.props"
for id in Cluster.Signal Cluster.Client Cluster.Cli Cluster.LoadTest; do
    package="$out/$id.$version.nupkg"
    [[ -f "$package" ]] || fail "$package was not made"
    [[ -f "$out/$id.$version.snupkg" ]] || fail "no symbols package for $id"
    nuspec="$(unzip -p "$package" "$id.nuspec")" || fail "$id: no $id.nuspec"
    grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || fail "$id: no license expression"
    grep -q '<readme>README.md</readme>' <<<"$nuspec" || fail "$id: no readme"
    grep -q '<description>..*</description>' <<<"$nuspec" || fail "$id: no description"
    unzip -l "$package" README.md >/dev/null || fail "$id: README.md not in the package"
done
unzip -p "$out/Cluster.Client.$version.nupkg" Cluster.Client.nuspec | grep -q 'id="Cluster.Signal"' \
    || fail "Cluster.Client does not depend on Cluster.Signal"

tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
# The tools carry their dependencies inside; the local directory is the only source they need.
cat >"$tools/NuGet.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /><add key="local" value="$out" /></packageSources></configuration>
CONFIG
for id in Cluster.Cli Cluster.LoadTest; do
    dotnet tool install "$id" --version "$version" --tool-path "$tools/bin" --configfile "$tools/NuGet.config" >&2 \
        || fail "dotnet tool install $id"
done
"$tools/bin/cluster" --help | grep -q '^Usage: cluster provision' || fail "cluster --help"
"$tools/bin/cluster-load" --help | grep -q '^Usage: cluster-load <scenario>' || fail "cluster-load --help"
note "OK: $(cd "$out" && ls -- *.nupkg | tr '\n' ' ')in $out; tools cluster and cluster-load install and run"
