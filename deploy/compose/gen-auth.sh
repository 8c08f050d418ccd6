#!/usr/bin/env bash
# Generates the secrets of TrustServer's built-in token issuer (docker-compose init service, deploy/k8s/create-secrets.sh,
# local tests):
#
#   token-ca.crt                       a private CA for token signing (EC P-256); its key is discarded. The server's
#                                      Auth:Token:RootCertBundle: only tokens signed by token.key verify.
#   token.crt / token.key              the issuer's signing certificate and key (Auth:Issuer:CertificateFile/SigningKeyFile)
#   settings/Auth__Issuer__Users__admin__PasswordHash
#                                      the admin user's password hash (ASP.NET Core Identity v3 format, PBKDF2-HMAC-SHA512,
#                                      100,000 iterations, what `TrustServer.Server hash-password` prints); a file of the
#                                      server's Server:SettingsDirectory
#   admin-password                     the admin user's password (random), mode 0600, owned by the invoking user only
#
#   gen-auth.sh [output-directory]     (default: $AUTH_DIR or /auth)
#
# Environment: DAYS (validity of the token certificates, default 365), CERT_OWNER (uid:gid given token.key, token.crt,
# token-ca.crt and settings/, e.g. 1654:1654 for the .NET images' `app` user; needs root), FORCE=1 regenerates the
# certificates, NEW_ADMIN_PASSWORD=1 a new admin password (the old one stops working at the server's next start).
# Idempotent: valid certificates (at least a day left) and an existing password are kept.
set -euo pipefail

dir="${1:-${AUTH_DIR:-/auth}}"
days="${DAYS:-365}"

log() { printf 'gen-auth: %s\n' "$*" >&2; }

command -v openssl >/dev/null 2>&1 || { log "openssl not found"; exit 1; }
mkdir -p "$dir/settings"
cd "$dir"
umask 077

certs_valid() {
  [ -s token-ca.crt ] && [ -s token.crt ] && [ -s token.key ] || return 1
  openssl x509 -checkend 86400 -noout -in token.crt >/dev/null 2>&1 || return 1
  openssl x509 -checkend 86400 -noout -in token-ca.crt >/dev/null 2>&1 || return 1
  openssl verify -CAfile token-ca.crt token.crt >/dev/null 2>&1
}

if [ "${FORCE:-0}" = 1 ] || ! certs_valid; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  log "generating the token signing CA and certificate in $dir (valid $days days)"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$days" -subj "/CN=TrustServer token CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out "$tmp/token-ca.crt"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/token.key" 2>/dev/null
  openssl req -new -key "$tmp/token.key" -subj "/CN=TrustServer token issuer" -out "$tmp/token.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$tmp/token.ext"
  openssl x509 -req -in "$tmp/token.csr" -CA "$tmp/token-ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial -sha256 \
    -days "$days" -extfile "$tmp/token.ext" -out "$tmp/token.crt" 2>/dev/null
  openssl verify -CAfile "$tmp/token-ca.crt" "$tmp/token.crt" >/dev/null
  install -m 0644 "$tmp/token-ca.crt" token-ca.crt
  install -m 0644 "$tmp/token.crt" token.crt
  install -m 0600 "$tmp/token.key" token.key
else
  log "token certificates in $dir are present and valid (FORCE=1 regenerates)"
fi

hash_file="settings/Auth__Issuer__Users__admin__PasswordHash"
if [ "${NEW_ADMIN_PASSWORD:-0}" = 1 ] || [ ! -s admin-password ] || [ ! -s "$hash_file" ]; then
  log "generating the admin user's password (read it from $dir/admin-password)"
  password="$(openssl rand -base64 24 | tr '+/' '-_' | tr -d '=\n')"
  salt="$(openssl rand -hex 16)"
  # PBKDF2-HMAC-SHA512, 100,000 iterations, 32 bytes: ASP.NET Core Identity's PasswordHasher v3. The password is given
  # as hex so that no shell or openssl option syntax can misread it.
  subkey="$(openssl kdf -keylen 32 -kdfopt digest:SHA512 -kdfopt "hexpass:$(printf '%s' "$password" | od -An -tx1 | tr -d ' \n')" \
    -kdfopt "hexsalt:$salt" -kdfopt iter:100000 PBKDF2 | tr -d ':\n' | tr 'A-F' 'a-f')"
  [ "${#subkey}" = 64 ] || { log "openssl kdf failed (needs OpenSSL 3)"; exit 1; }
  # 0x01 (format v3), PRF 2 (HMACSHA512), 100000 iterations, salt length 16, salt, subkey: big-endian uint32s.
  hex="0100000002000186a000000010$salt$subkey"
  # shellcheck disable=SC2059 # the format is the \xHH escapes of the hash (bash's printf writes NUL bytes too)
  printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" | openssl base64 -A >"$hash_file.tmp"
  mv "$hash_file.tmp" "$hash_file"
  printf '%s\n' "$password" >admin-password.tmp
  mv admin-password.tmp admin-password
else
  log "admin password present (NEW_ADMIN_PASSWORD=1 makes a new one)"
fi

chmod 0644 "$hash_file"
chmod 0755 settings
if [ -n "${CERT_OWNER:-}" ]; then
  # The server reads these; admin-password stays the invoking user's (root in the init container) only.
  chown "$CERT_OWNER" token-ca.crt token.crt token.key settings "$hash_file"
fi

log "done: token-ca.crt token.crt token.key $hash_file admin-password"
