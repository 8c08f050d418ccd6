#!/usr/bin/env bash
# The test command of the README: installs missing prerequisites where it can, then runs every test.
#
#   scripts/test.sh [extra `dotnet test` arguments, e.g. --filter FullyQualifiedName~Postgres]
#
# Prerequisites:
#   - .NET SDK (see global.json)                          -> must already be installed
#   - PostgreSQL server binaries (initdb, pg_ctl)         -> apt package `postgresql`, unless
#       TRUSTSERVER_TEST_POSTGRES names an existing server or a Docker engine answers
#   - the real notary 0.7.0 client and notary-server      -> apt package `notary`
#   - MariaDB server binaries (mariadbd, mariadb-install-db) -> apt package `mariadb-server`
#   - a headless browser for the Swagger UI test          -> apt package `chromium`
#   - SoftHSM2 and OpenSC's pkcs11-tool (PKCS#11 tests)   -> apt packages `softhsm2` and `opensc`
#       (the tests make their own token directory in a temp dir; the system's token directory is never used)
#   - Docker Distribution 2.8 and the Docker CLI (Docker Hub layout tests: docker login and docker trust against
#     TrustServer's issuer; no Docker engine is used) -> apt packages `docker-registry` and `docker.io`
#   - Compose v1 (`docker-compose config` of docker-compose.yml) -> apt package `docker-compose` (without recommends:
#       no Docker engine is needed or installed)
#   - nginx (the compose proxy's nginx.conf in front of a server, forwarded-header tests) -> apt package `nginx`
#       (the tests run their own nginx on a free loopback port; the package's service is not used)
#   - kubectl with kustomize v5 (renders deploy/k8s; create-secrets.sh) -> not in Debian: install it yourself
#       (https://kubernetes.io/docs/tasks/tools/); the Deploy tests that need it fail and say so without it
# Installing needs root or sudo and apt-get (Debian/Ubuntu).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh

have_postgres_binaries() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

docker_reachable() {
  command -v docker >/dev/null 2>&1 || return 1
  if command -v timeout >/dev/null 2>&1; then
    timeout 5 docker info >/dev/null 2>&1
  else
    docker info >/dev/null 2>&1
  fi
}

# PostgreSQL: the tests take TRUSTSERVER_TEST_POSTGRES, then Docker, then the installed binaries
# (tests/TrustServer.Testing/PostgresServer.cs); install the binaries only when neither of the first two is there.
if [ -n "${TRUSTSERVER_TEST_POSTGRES:-}" ]; then
  log "PostgreSQL: using the server from TRUSTSERVER_TEST_POSTGRES"
elif have_postgres_binaries; then
  log "PostgreSQL: server binaries found, the tests start a private cluster"
elif docker_reachable; then
  log "PostgreSQL: no server binaries, but Docker answers; the tests use Testcontainers"
else
  apt_install postgresql
  have_postgres_binaries || die "postgresql was installed but initdb is still not found on PATH or in /usr/lib/postgresql/*/bin"
fi

# The real notary client and notary-server (compatibility tests and test machinery).
if ! command -v notary >/dev/null 2>&1 || ! command -v notary-server >/dev/null 2>&1; then
  apt_install notary
  command -v notary >/dev/null 2>&1 || die "package notary was installed but 'notary' is still not on PATH"
fi

# MariaDB: the import tests run notary-server on MySQL/MariaDB; each test class starts a private mariadbd
# (tests/TrustServer.Testing/LocalMariaDbServer.cs), so the package's own service is not used.
if ! command -v mariadb-install-db >/dev/null 2>&1 || { ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; }; then
  apt_install mariadb-server
  [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 \
    || die "package mariadb-server was installed but 'mariadbd' is still not found on PATH or in /usr/sbin"
fi

# Headless Chromium renders the Swagger UI in the compat tests.
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
  command -v chromium >/dev/null 2>&1 || die "package chromium was installed but 'chromium' is still not on PATH"
fi

# SoftHSM2 (the PKCS#11 key backend's tests) and pkcs11-tool (an independent look at the token's objects).
softhsm_module() { compgen -G '/usr/lib/softhsm/libsofthsm2.so' >/dev/null || compgen -G '/usr/lib/*/softhsm/libsofthsm2.so' >/dev/null; }
if ! command -v softhsm2-util >/dev/null 2>&1 || ! softhsm_module || ! command -v pkcs11-tool >/dev/null 2>&1; then
  apt_install softhsm2 opensc
  softhsm_module || die "softhsm2 was installed but libsofthsm2.so is still not found"
  command -v pkcs11-tool >/dev/null 2>&1 || die "opensc was installed but 'pkcs11-tool' is still not on PATH"
fi

# docker-registry (Distribution 2.8) and the Docker CLI with `docker trust` (CLI 29 moved it to a plugin): the tests
# start a private registry and run the CLI against a socket that does not exist, so no engine is ever started.
if ! command -v docker-registry >/dev/null 2>&1 && [ ! -x /usr/bin/docker-registry ]; then
  apt_install docker-registry
  [ -x /usr/bin/docker-registry ] || die "package docker-registry was installed but /usr/bin/docker-registry is missing"
fi
if ! command -v docker >/dev/null 2>&1 || ! docker trust --help >/dev/null 2>&1; then
  apt_install docker.io
  /usr/bin/docker trust --help >/dev/null 2>&1 || die "package docker.io was installed but '/usr/bin/docker trust' does not work"
fi
# Compose v1 validates docker-compose.yml (Deploy tests); nginx fronts a server as in compose (Compat tests).
if ! command -v docker-compose >/dev/null 2>&1; then
  apt_install --no-install-recommends docker-compose
  command -v docker-compose >/dev/null 2>&1 || die "package docker-compose was installed but 'docker-compose' is still not on PATH"
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx
  [ -x /usr/sbin/nginx ] || die "package nginx was installed but /usr/sbin/nginx is missing"
fi
command -v kubectl >/dev/null 2>&1 \
  || log "WARNING: kubectl not found; the Deploy tests that render deploy/k8s fail (install kubectl with kustomize v5)"

command -v dotnet >/dev/null 2>&1 \
  || die "dotnet not found: install the .NET 10 SDK (https://dot.net; see global.json), then re-run."

log "dotnet $(dotnet --version); running all tests"
exec dotnet test TrustServer.sln -c Release --logger "console;verbosity=normal" "$@"
