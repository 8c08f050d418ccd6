#!/usr/bin/env bash
# The benchmark of issues 7 and 19: TrustServer vs the reference notary-server 0.7.0 vs a bare Kestrel endpoint (C0).
# Without --only, one full run: every row (GET, trust queries, publishes, large uploads, import, re-signer) in one report.
#
#   bench/run.sh [--quick] [--duration <s>] [--publish-duration <s>] [--connections 16,64] [--read-runs 3] [--only <part>] [--help]
#   (--only resign: the background re-signer's throughput, TrustServer only)
#   (--only verify: the trust query rows, GET /api/trust/v1/targets?name= and POST verify, TrustServer only)
#   (--only scale: cold GETs and publishes on a small and a bulk-loaded big database, query plans; TrustServer only)
#   (--only startup: the published server's start-up time and RSS, --startup-runs 5; also part of a full run)
#
# Installs what is missing (wrk, notary, PostgreSQL server binaries; apt, needs root or sudo), builds Release,
# then runs bench/TrustServer.Bench. Results (raw wrk output, server logs, summary.md, summary.json) go to
# bench/results/<timestamp>/ (gitignored). Targets are reported as PASS/FAIL; they never fail the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh

command -v dotnet >/dev/null 2>&1 || die "the .NET SDK is not installed (see global.json)."
command -v wrk >/dev/null 2>&1 || apt_install wrk
{ command -v notary-server >/dev/null 2>&1 && command -v notary-signer >/dev/null 2>&1 && command -v notary >/dev/null 2>&1; } || apt_install notary
if [ -z "${TRUSTSERVER_TEST_POSTGRES:-}" ] && ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  apt_install postgresql
fi

# Builds the bench tool and, through its project references, TrustServer.Server and TrustServer.Signer.
log "dotnet build -c Release"
dotnet build bench/TrustServer.Bench/TrustServer.Bench.csproj -c Release -nologo -v quiet -clp:ErrorsOnly

exec dotnet bench/TrustServer.Bench/bin/Release/net10.0/TrustServer.Bench.dll "$@"
