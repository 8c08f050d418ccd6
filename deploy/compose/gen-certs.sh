#!/usr/bin/env bash
# Generates throw-away certificates for TrustServer (docker-compose init service, local tests):
#
#   ca.crt                             a private CA (EC P-256), valid DAYS days; its key is discarded
#   signer.crt / signer.key            the signer's TLS server certificate (SAN signer, localhost; EKU serverAuth)
#   server-client.crt / .key           the server's client certificate for mutual TLS to the signer (EKU clientAuth)
#   server.crt / server.key            TLS server certificate for the public endpoint (SAN localhost, trustserver,
#                                      proxy; EKU serverAuth), optional: used by the compose proxy
#
#   gen-certs.sh [output-directory]    (default: $CERT_DIR or /certs)
#
# Environment: CERT_DIR, DAYS (default 30), SIGNER_SANS / SERVER_SANS (comma-separated DNS names that replace the
# defaults), CERT_OWNER (uid:gid to chown the files to, e.g. 1654:1654 for the .NET images' `app` user; needs root),
# FORCE=1 to regenerate when certificates already exist.
# Idempotent: when ca.crt exists and every certificate still verifies for at least a day, nothing is done.
set -euo pipefail

dir="${1:-${CERT_DIR:-/certs}}"
days="${DAYS:-30}"
signer_sans="${SIGNER_SANS:-signer,localhost}"
server_sans="${SERVER_SANS:-localhost,trustserver,proxy}"

log() { printf 'gen-certs: %s\n' "$*" >&2; }

command -v openssl >/dev/null 2>&1 || { log "openssl not found"; exit 1; }
mkdir -p "$dir"
cd "$dir"

all_valid() {
  local f
  [ -s ca.crt ] || return 1
  for f in ca signer server-client server; do
    [ -s "$f.crt" ] || return 1
    [ "$f" = ca ] || [ -s "$f.key" ] || return 1
    openssl x509 -checkend 86400 -noout -in "$f.crt" >/dev/null 2>&1 || return 1
  done
  openssl verify -CAfile ca.crt signer.crt server-client.crt server.crt >/dev/null 2>&1
}

if [ "${FORCE:-0}" != 1 ] && all_valid; then
  log "certificates in $dir are present and valid; nothing to do (FORCE=1 regenerates)"
  exit 0
fi

san_list() {
  # "a,b" -> "DNS:a,DNS:b" (plus IP:127.0.0.1 when localhost is among them)
  local out="" name
  IFS=',' read -r -a names <<<"$1"
  for name in "${names[@]}"; do
    out="${out:+$out,}DNS:$name"
    [ "$name" = localhost ] && out="$out,IP:127.0.0.1"
  done
  printf '%s' "$out"
}

umask 077
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

log "generating a throw-away CA and certificates in $dir (valid $days days)"
newkey "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$days" -subj "/CN=TrustServer throw-away CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out "$tmp/ca.crt"

# issue NAME CN EKU SANS
issue() {
  local name="$1" cn="$2" eku="$3" sans="$4"
  newkey "$tmp/$name.key"
  openssl req -new -key "$tmp/$name.key" -subj "/CN=$cn" -out "$tmp/$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    if [ -n "$sans" ]; then echo "subjectAltName=$sans"; fi
  } >"$tmp/$name.ext"
  openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
    -sha256 -days "$days" -extfile "$tmp/$name.ext" -out "$tmp/$name.crt" 2>/dev/null
}

issue signer "signer" serverAuth "$(san_list "$signer_sans")"
issue server-client "trustserver-server" clientAuth ""
issue server "trustserver" serverAuth "$(san_list "$server_sans")"

openssl verify -CAfile "$tmp/ca.crt" "$tmp/signer.crt" "$tmp/server-client.crt" "$tmp/server.crt" >/dev/null

# The CA key stays in the temporary directory (deleted on exit): nothing can issue further certificates later.
install -m 0644 "$tmp/ca.crt" ca.crt
for f in signer server-client server; do
  install -m 0644 "$tmp/$f.crt" "$f.crt"
  install -m 0600 "$tmp/$f.key" "$f.key"
done
rm -f ca.key

if [ -n "${CERT_OWNER:-}" ]; then
  chown "$CERT_OWNER" ./*.crt ./*.key
fi

log "done: $(cd "$dir" && echo *.crt)"
