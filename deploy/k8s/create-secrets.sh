#!/usr/bin/env bash
# Creates (or updates) the six Secrets deploy/k8s needs, with generated values, in one go:
#
#   POSTGRES_HOST=db.example.internal deploy/k8s/create-secrets.sh [state-directory]
#
#   trustserver-server-db             ConnectionStrings__Metadata (database notaryserver, user server)
#   trustserver-signer-db             ConnectionStrings__Keys (database notarysigner, user signer)
#   trustserver-signer-passphrases    NOTARY_SIGNER_PASSPHRASE_1
#   trustserver-signer-tls            tls.crt, tls.key, client-ca.crt   (throw-away CA, deploy/compose/gen-certs.sh)
#   trustserver-server-signer-client  tls.crt, tls.key, ca.crt
#   trustserver-server-auth           token-ca.crt, token.crt, token.key, admin-password-hash (deploy/compose/gen-auth.sh)
#
# Generated values are kept in the state directory (default ./trustserver-secrets, mode 0700; never commit it) and
# reused when the script runs again, so a re-run never changes a password or the signer passphrase behind your back:
# admin-password (log in as `admin`), server-db-password, signer-db-password, signer-passphrase, certs/, auth/.
#
# Environment: POSTGRES_HOST (required), POSTGRES_PORT (5432), DB_SSL_MODE (VerifyFull), SERVER_DB_PASSWORD,
# SIGNER_DB_PASSWORD and NOTARY_SIGNER_PASSPHRASE_1 (generated when unset and not in the state directory; create the
# database users with the passwords in the state directory, as deploy/compose/postgres-init.sh does), NAMESPACE
# (trustserver), KUBECTL (kubectl), DRY_RUN=1 prints the Secrets as YAML instead of applying them.
# Needs bash, OpenSSL 3 and kubectl.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${1:-./trustserver-secrets}"
namespace="${NAMESPACE:-trustserver}"
kubectl="${KUBECTL:-kubectl}"

log() { printf 'create-secrets: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

: "${POSTGRES_HOST:?set POSTGRES_HOST to the PostgreSQL host of both databases}"
command -v openssl >/dev/null 2>&1 || die "openssl not found"
command -v "$kubectl" >/dev/null 2>&1 || die "$kubectl not found"

umask 077
mkdir -p "$state"
chmod 0700 "$state"

# remember FILE VALUE-OR-EMPTY: the given value, else the stored one, else a new random one; stored either way.
remember() {
  local file="$state/$1" value="${2:-}"
  if [ -z "$value" ] && [ -s "$file" ]; then
    value="$(cat "$file")"
  fi
  if [ -z "$value" ]; then
    value="$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')"
  fi
  printf '%s' "$value" >"$file"
  printf '%s' "$value"
}

server_password="$(remember server-db-password "${SERVER_DB_PASSWORD:-}")"
signer_password="$(remember signer-db-password "${SIGNER_DB_PASSWORD:-}")"
passphrase="$(remember signer-passphrase "${NOTARY_SIGNER_PASSPHRASE_1:-}")"

SIGNER_SANS="trustserver-signer,trustserver-signer.$namespace.svc" DAYS="${DAYS:-365}" bash "$here/../compose/gen-certs.sh" "$state/certs"
DAYS="${DAYS:-365}" bash "$here/../compose/gen-auth.sh" "$state/auth"

db() { printf 'Host=%s;Port=%s;Database=%s;Username=%s;Password=%s;SSL Mode=%s' \
  "$POSTGRES_HOST" "${POSTGRES_PORT:-5432}" "$1" "$2" "$3" "${DB_SSL_MODE:-VerifyFull}"; }

secret() {
  local name="$1"
  shift
  "$kubectl" create secret generic "$name" --namespace "$namespace" "$@" --dry-run=client -o yaml
}

{
  secret trustserver-server-db --from-literal="ConnectionStrings__Metadata=$(db notaryserver server "$server_password")"
  echo ---
  secret trustserver-signer-db --from-literal="ConnectionStrings__Keys=$(db notarysigner signer "$signer_password")"
  echo ---
  secret trustserver-signer-passphrases --from-literal="NOTARY_SIGNER_PASSPHRASE_1=$passphrase"
  echo ---
  secret trustserver-signer-tls --from-file=tls.crt="$state/certs/signer.crt" --from-file=tls.key="$state/certs/signer.key" \
    --from-file=client-ca.crt="$state/certs/ca.crt"
  echo ---
  secret trustserver-server-signer-client --from-file=tls.crt="$state/certs/server-client.crt" \
    --from-file=tls.key="$state/certs/server-client.key" --from-file=ca.crt="$state/certs/ca.crt"
  echo ---
  secret trustserver-server-auth --from-file=token-ca.crt="$state/auth/token-ca.crt" --from-file=token.crt="$state/auth/token.crt" \
    --from-file=token.key="$state/auth/token.key" \
    --from-file=admin-password-hash="$state/auth/settings/Auth__Issuer__Users__admin__PasswordHash"
} >"$state/secrets.yaml"

if [ "${DRY_RUN:-0}" = 1 ]; then
  cat "$state/secrets.yaml"
else
  "$kubectl" create namespace "$namespace" --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
  "$kubectl" apply -f "$state/secrets.yaml"
fi
rm -f "$state/secrets.yaml"

log "done. Log in as admin with the password in $state/auth/admin-password; create the database users with the passwords"
log "in $state/server-db-password and $state/signer-db-password (see deploy/README.md). Keep $state safe, or delete it."
