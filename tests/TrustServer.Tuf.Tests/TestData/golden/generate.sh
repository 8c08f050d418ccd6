#!/usr/bin/env bash
# Regenerates the golden TUF metadata under this directory with the REAL notary 0.7.0
# binaries (Debian package `notary`: /usr/bin/notary, notary-server, notary-signer).
#
# For every scenario a fresh notary-signer (memory storage, TLS with a throw-away CA) and a
# fresh notary-server (memory storage, plain HTTP, trust_service remote -> that signer) are
# started on free 127.0.0.1 ports, with tools/recording_proxy.py in front of the server.
# The real `notary` client is driven through the scenario's steps; the proxy stores every
# multipart upload byte-for-byte, and after every step all stored versions of every role are
# fetched from the server by version.
#
# Output (the scenario directories and manifest.json are deleted and rebuilt; generate.sh,
# tools/, README.md and .gitattributes are kept):
#   manifest.json
#   <scenario>/steps/NN-<label>/upload/<role>.json     raw multipart parts ("targets/x" -> upload/targets/x.json)
#   <scenario>/steps/NN-<label>/upload-parts.json      role names in multipart order
#   <scenario>/steps/NN-<label>/response.json          status + body of the POST
#   <scenario>/steps/NN-<label>/http-log.jsonl         every request of the step (method, path, status)
#   <scenario>/steps/NN-<label>/client-output.txt      client stdout/stderr (temp paths replaced)
#   <scenario>/server/<role>/<version>.json            every stored file, exact bytes
#   <scenario>/client-public-keys.json                 keys the client holds (`notary key list`)
#
# Requirements: notary, notary-server, notary-signer (0.7.0), python3 (stdlib), openssl.
# No network access besides 127.0.0.1. No private key or trust directory is written here.
set -euo pipefail

GOLDEN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$GOLDEN/tools"
PY="${PYTHON:-python3}"
SCENARIOS=(ecdsa rsa ed25519)

for bin in notary notary-server notary-signer openssl "$PY"; do
  command -v "$bin" >/dev/null || { echo "missing required program: $bin" >&2; exit 1; }
done

WORK="$(mktemp -d /tmp/golden-gen.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "generate.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
now_rfc3339() { "$PY" -c 'import datetime;print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))'; }

export LC_ALL=C.UTF-8
export HOME="$WORK/home"              # isolates the client from any ~/.notary/config.json
mkdir -p "$HOME"
export NOTARY_ROOT_PASSPHRASE="golden-root-passphrase"
export NOTARY_TARGETS_PASSPHRASE="golden-targets-passphrase"
export NOTARY_SNAPSHOT_PASSPHRASE="golden-snapshot-passphrase"
export NOTARY_DELEGATION_PASSPHRASE="golden-delegation-passphrase"

STARTED_AT="$(now_rfc3339)"
NOTARY_VERSION="notary 0.7.0 ($(dpkg-query -W -f='Debian package ${Package} ${Version}' notary 2>/dev/null || echo 'unknown package'); $(notary version 2>/dev/null | sed -n 's/^ *Go version: *//p'))"

# ------------------------------------------------------------------ key material (temp only)
KEYS="$WORK/keys"
mkdir -p "$KEYS"
(
  cd "$KEYS"
  q() { "$@" >/dev/null 2>&1 || { echo "openssl failed: $*" >&2; exit 1; }; }
  # TLS between notary-server and notary-signer
  q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 2 \
    -keyout tls-ca.key -out tls-ca.crt -subj "/CN=golden throw-away CA"
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout signer.key -out signer.csr -subj "/CN=localhost"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > signer.ext
  q openssl x509 -req -in signer.csr -CA tls-ca.crt -CAkey tls-ca.key -CAcreateserial \
    -days 2 -sha256 -extfile signer.ext -out signer.crt

  ec_cert() { # name CN -> name.pem (PKCS#8 key), name.crt (self-signed, SHA-256)
    q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
      -keyout "$1.pem" -out "$1.crt" -subj "/CN=$2"
  }
  rsa_cert() {
    q openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout "$1.pem" -out "$1.crt" -subj "/CN=$2"
  }
  ec_cert releases-ecdsa "golden releases ecdsa"
  rsa_cert releases-rsa "golden releases rsa"
  ec_cert releases2-ecdsa "golden releases ecdsa 2"
  ec_cert releases3-ecdsa "golden releases ecdsa 3"
  # plain (non-certificate) public keys
  q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out beta-ecdsa.pem
  q openssl pkey -in beta-ecdsa.pem -pubout -out beta-ecdsa.pub
  q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out plain-rsa.pem
  q openssl pkey -in plain-rsa.pem -pubout -out plain-rsa.pub
  # RSA keys for base roles; root keys must be encrypted files (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA1
  # is the only PKCS#8 encryption notary 0.7.0 can read)
  for k in root-rsa root2-rsa; do
    q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k.plain.pem"
    q openssl pkcs8 -topk8 -in "$k.plain.pem" -v2 aes-256-cbc -v2prf hmacWithSHA1 \
      -passout "pass:$NOTARY_ROOT_PASSPHRASE" -out "$k.enc.pem"
  done
  q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out targets-rsa.pkcs8.pem
  q openssl rsa -in targets-rsa.pkcs8.pem -traditional -out targets-rsa.pem   # "RSA PRIVATE KEY" (PKCS#1)
  q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out snapshot-rsa.pem  # "PRIVATE KEY" (PKCS#8)
  # Ed25519 keys in notary's own PEM format ("ED25519 PRIVATE KEY" = pub || seed || pub)
  for k in targets-ed25519 snapshot-ed25519 root-ed25519 releases-ed25519; do
    q openssl genpkey -algorithm ed25519 -outform DER -out "$k.der"
    q openssl pkey -inform DER -in "$k.der" -pubout -outform DER -out "$k.pub.der"
    "$PY" "$TOOLS/golden.py" ed25519-pem "$k.der" "$k.pub.der" "$k.pem"
    q openssl pkey -inform DER -in "$k.der" -pubout -out "$k.pub"
  done
)

# target payloads (only their hashes/lengths end up in metadata)
PAY="$WORK/payload"
mkdir -p "$PAY"
printf 'hello golden\n' > "$PAY/hello.txt"
printf 'release v1\n' > "$PAY/release.txt"
printf '' > "$PAY/empty.bin"
# --custom payloads: the client copies the file compacted (whitespace removed) but NOT key-sorted and
# with <,>,& HTML-escaped into the bytes it signs, so only already-canonical JSON without <,>,& and
# with integer numbers produces a valid signature (see the expected-failure steps of scenario ecdsa)
printf '{ "a": [true, null, "s", 2],\n  "k": "\xc3\xa9\xe2\x82\xac",\n  "nested": {"b": false, "z": 1} }\n' > "$PAY/custom.json"
printf '{"b": 1, "a": "unsorted"}\n' > "$PAY/custom-unsorted.json"
printf '{"a": "x<y>&z"}\n' > "$PAY/custom-html.json"
printf '{"a": 1.5}\n' > "$PAY/custom-float.json"

# ------------------------------------------------------------------ process management
start_stack() { # key_algorithm
  local alg="$1" sdir="$WORK/stack-$SCEN"
  mkdir -p "$sdir"
  SIGNER_PORT="$("$PY" "$TOOLS/golden.py" freeport)"
  SERVER_PORT="$("$PY" "$TOOLS/golden.py" freeport)"
  cat > "$sdir/signer.json" <<EOF
{"server":{"grpc_addr":"127.0.0.1:$SIGNER_PORT","tls_cert_file":"$KEYS/signer.crt","tls_key_file":"$KEYS/signer.key"},
 "logging":{"level":"info"},"storage":{"backend":"memory"}}
EOF
  cat > "$sdir/server.json" <<EOF
{"server":{"http_addr":"127.0.0.1:$SERVER_PORT"},
 "trust_service":{"type":"remote","hostname":"127.0.0.1","port":"$SIGNER_PORT","tls_ca_file":"$KEYS/tls-ca.crt","key_algorithm":"$alg"},
 "logging":{"level":"info"},"storage":{"backend":"memory"}}
EOF
  notary-signer -config="$sdir/signer.json" >"$sdir/signer.log" 2>&1 &
  SIGNER_PID=$!; PIDS+=("$SIGNER_PID")
  "$PY" "$TOOLS/golden.py" wait-tcp "$SIGNER_PORT" 30 || { cat "$sdir/signer.log" >&2; die "signer did not start"; }
  notary-server -config="$sdir/server.json" >"$sdir/server.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  SERVER_URL="http://127.0.0.1:$SERVER_PORT"
  "$PY" "$TOOLS/golden.py" wait-http "$SERVER_URL/_notary_server/health" 30 || { cat "$sdir/server.log" >&2; die "server did not start"; }
  STEPFILE="$sdir/current-step"
  : > "$STEPFILE"
  rm -f "$sdir/proxy.port"
  "$PY" "$TOOLS/recording_proxy.py" --upstream "127.0.0.1:$SERVER_PORT" --step-file "$STEPFILE" \
    --port-file "$sdir/proxy.port" >"$sdir/proxy.log" 2>&1 &
  PROXY_PID=$!; PIDS+=("$PROXY_PID")
  local i
  for i in $(seq 1 100); do [[ -s "$sdir/proxy.port" ]] && break; sleep 0.1; done
  [[ -s "$sdir/proxy.port" ]] || { cat "$sdir/proxy.log" >&2; die "proxy did not start"; }
  PROXY_URL="http://127.0.0.1:$(cat "$sdir/proxy.port")"
  "$PY" "$TOOLS/golden.py" wait-http "$PROXY_URL/v2/" 30 || die "proxy not answering"
}

stop_stack() {
  local pid
  for pid in "$PROXY_PID" "$SERVER_PID" "$SIGNER_PID"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# ------------------------------------------------------------------ scenario / step bookkeeping
SCEN=""; STEP_DIR=""; STEP_OPEN=0; STEP_EXPECT=success

ev() { "$PY" "$TOOLS/golden.py" event "$EVENTS" "$1"; }

begin_scenario() { # name gun key_algorithm client_tz roles_csv description
  SCEN="$1"; GUN="$2"; local alg="$3"; CLIENT_TZ="$4"; ROLES="$5"; local desc="$6"
  SCEN_DIR="$GOLDEN/$SCEN"
  EVENTS="$WORK/events-$SCEN.jsonl"
  TRUST="$WORK/trust-$SCEN"
  STEP_NO=0; STEP_OPEN=0
  rm -rf "$SCEN_DIR"
  mkdir -p "$SCEN_DIR/steps" "$SCEN_DIR/server" "$TRUST"
  log "scenario $SCEN ($GUN, server key algorithm $alg, client TZ $CLIENT_TZ)"
  start_stack "$alg"
  "$PY" - "$EVENTS" "$SCEN" "$GUN" "$alg" "$CLIENT_TZ" "$ROLES" "$desc" <<'EOF'
import json, sys
f, name, gun, alg, tz, roles, desc = sys.argv[1:]
with open(f, "a", encoding="utf-8") as out:
    out.write(json.dumps({"type": "scenario", "name": name, "gun": gun, "description": desc,
        "server": {"storage": "memory", "trust_service": "remote (notary-signer, memory storage)",
                   "key_algorithm": alg},
        "client_tz": tz, "roles": roles.split(",")}, ensure_ascii=False) + "\n")
EOF
}

end_step() {
  [[ $STEP_OPEN == 1 ]] || return 0
  : > "$STEPFILE"
  local new
  new="$("$PY" "$TOOLS/golden.py" dump "$SERVER_URL" "$GUN" "$ROLES" "$SCEN_DIR/server" "$STEP_DIR")"
  ev "{\"type\":\"step_end\",\"server_new\":$new}"
  # every POST of a step meant to succeed must have been accepted; a step meant to fail must
  # contain exactly one upload, rejected with the expected status and error text
  "$PY" - "$STEP_DIR" "$STEP_EXPECT" "$STEP_EXPECTED_STATUS" "$STEP_EXPECTED_ERROR" "$new" <<'EOF' \
    || die "$SCEN/$STEP_LABEL: unexpected upload result"
import glob, json, sys
d, expect, status, err, new = sys.argv[1:]
resps = [json.load(open(p)) for p in sorted(glob.glob(d + "/response*.json"))]
if expect == "success":
    bad = [r for r in resps if not 200 <= r["status"] < 300]
    if bad:
        sys.exit("upload rejected: %r" % bad)
else:
    if len(resps) != 1 or resps[0]["status"] != int(status) or err not in resps[0]["body"]:
        sys.exit("expected one upload failing with %s %r, got %r" % (status, err, resps))
    if json.loads(new):
        sys.exit("server stored files in a failed step: %s" % new)
EOF
  STEP_OPEN=0
}

end_scenario() {
  end_step
  notary -d "$TRUST" key list >"$WORK/keylist-$SCEN.txt" 2>&1 </dev/null || die "key list failed"
  "$PY" "$TOOLS/golden.py" keys "$WORK/keylist-$SCEN.txt" "$SCEN_DIR" "$SCEN_DIR/client-public-keys.json"
  stop_stack
}

note() { "$PY" "$TOOLS/golden.py" event "$EVENTS" "$("$PY" -c 'import json,sys;print(json.dumps({"type":"note","text":sys.argv[1]},ensure_ascii=False))' "$1")"; }

step() { # label description [expected_http_status expected_error_substring]
  end_step
  STEP_NO=$((STEP_NO + 1))
  STEP_LABEL="$(printf '%02d-%s' "$STEP_NO" "$1")"
  STEP_DIR="$SCEN_DIR/steps/$STEP_LABEL"
  STEP_EXPECT=success; STEP_EXPECTED_STATUS=""; STEP_EXPECTED_ERROR=""
  if [[ $# -ge 4 ]]; then STEP_EXPECT=failure; STEP_EXPECTED_STATUS="$3"; STEP_EXPECTED_ERROR="$4"; fi
  mkdir -p "$STEP_DIR"
  echo "$STEP_DIR" > "$STEPFILE"
  STEP_OPEN=1
  log "  step $STEP_LABEL"
  "$PY" -c 'import json,sys
d={"type":"step","dir":sys.argv[1],"description":sys.argv[2],"expect":sys.argv[3]}
if sys.argv[4]: d["expected_error"]={"http_status":int(sys.argv[4]),"body_contains":sys.argv[5]}
print(json.dumps(d,ensure_ascii=False))' "$STEP_LABEL" "$2" "$STEP_EXPECT" "$STEP_EXPECTED_STATUS" "$STEP_EXPECTED_ERROR" >> "$EVENTS"
}

# display form of a client command line: no ports, no temp paths
display_argv() {
  DISP=(notary -s "http://127.0.0.1:<proxy-port>" -d "<trust-dir>")
  local a
  for a in "$@"; do
    a="${a//$KEYS/<keys>}"; a="${a//$PAY/<payload>}"; a="${a//$WORK/<work>}"
    DISP+=("$a")
  done
}

sanitize() { sed -e "s|$KEYS|<keys>|g" -e "s|$PAY|<payload>|g" -e "s|$WORK|<work>|g" \
                 -e "s|127\.0\.0\.1:[0-9][0-9]*|127.0.0.1:<port>|g"; }

# run_client STDIN ARGS... : one client command inside the current step
run_client() {
  local stdin="$1"; shift
  [[ $STEP_OPEN == 1 ]] || die "client command outside a step: $*"
  local out="$WORK/client.out" rc=0
  if [[ -n $stdin ]]; then
    printf '%s\n' "$stdin" | TZ="$CLIENT_TZ" timeout 180 notary -s "$PROXY_URL" -d "$TRUST" "$@" >"$out" 2>&1 || rc=$?
  else
    TZ="$CLIENT_TZ" timeout 180 notary -s "$PROXY_URL" -d "$TRUST" "$@" </dev/null >"$out" 2>&1 || rc=$?
  fi
  display_argv "$@"
  sanitize <"$out" >"$out.s"
  {
    printf '$ %s\n' "${DISP[*]}"
    [[ -n $stdin ]] && printf '(stdin: %s)\n' "$stdin"
    cat "$out.s"
    printf '(exit code %d)\n\n' "$rc"
  } >> "$STEP_DIR/client-output.txt"
  "$PY" "$TOOLS/golden.py" command "$EVENTS" "$rc" "$stdin" "$out.s" -- "${DISP[@]}"
  if [[ $rc -ne 0 && $STEP_EXPECT == success ]]; then
    cat "$out" >&2
    die "$SCEN/$STEP_LABEL: client command failed (exit $rc): ${DISP[*]}"
  fi
}
nc() { run_client "" "$@"; }
nc_yes() { run_client "yes" "$@"; }

# refuse DESCRIPTION TRUSTDIR ARGS... : a client command that is expected to be refused by the
# client itself (recorded under "refused"; never inside a step, so nothing is recorded by the proxy)
refuse() {
  local desc="$1" tdir="$2"; shift 2
  end_step
  local out="$WORK/client.out" rc=0
  TZ="$CLIENT_TZ" timeout 180 notary -s "$PROXY_URL" -d "$tdir" "$@" </dev/null >"$out" 2>&1 || rc=$?
  [[ $rc -ne 0 ]] || { cat "$out" >&2; die "$SCEN: expected the client to refuse: $*"; }
  display_argv "$@"
  [[ $tdir == "$TRUST" ]] || DISP[4]="<scratch-trust-dir>"
  sanitize <"$out" >"$out.s"
  "$PY" "$TOOLS/golden.py" refused "$EVENTS" "$rc" "$out.s" "$desc" -- "${DISP[@]}"
}

canon_id() { "$PY" "$TOOLS/golden.py" canonical-id "$1" "$2"; }

# ------------------------------------------------------------------ clean old output
for s in "${SCENARIOS[@]}"; do rm -rf "${GOLDEN:?}/$s"; done
rm -f "$GOLDEN/manifest.json"

AMP_NAME='a<b>&c/é€'                                   # HTML-escape quirk (tuf-metadata.md §8.4)
SEP_NAME=$'ls\xe2\x80\xa8ps\xe2\x80\xa9 "quote" back\\slash'  # U+2028/U+2029, quote, backslash

# ================================================================== scenario: ecdsa
begin_scenario ecdsa example.com/golden/ecdsa ecdsa UTC \
  root,targets,snapshot,timestamp,targets/releases,targets/releases/beta \
  "ECDSA everywhere (client keys generated by notary, delegation keys made by openssl); client-managed snapshot until step 11, then server-managed snapshot; delegations incl. a nested one"

step init-publish "notary init --publish: first upload of root v1, targets, snapshot (client-managed snapshot)"
nc init "$GUN" --publish

step add-publish "two targets staged (one with --custom JSON: sorted keys, whitespace, non-ASCII, nested) then one publish"
nc add "$GUN" hello "$PAY/hello.txt"
nc add "$GUN" with-custom "$PAY/hello.txt" --custom "$PAY/custom.json"
nc publish "$GUN"

step custom-unsorted-keys "EXPECTED FAILURE: --custom JSON with unsorted keys; the client signs the unsorted bytes, so the signature does not verify over the canonical form" \
  400 "valid signatures did not meet threshold for targets"
nc add "$GUN" custom-unsorted "$PAY/hello.txt" --custom "$PAY/custom-unsorted.json"
nc publish "$GUN"
nc reset "$GUN" --all

step custom-html-chars "EXPECTED FAILURE: --custom JSON containing < > &; the client signs them HTML-escaped (\\u003c...), canonical form has them raw" \
  400 "valid signatures did not meet threshold for targets"
nc add "$GUN" custom-html "$PAY/hello.txt" --custom "$PAY/custom-html.json"
nc publish "$GUN"
nc reset "$GUN" --all

step custom-float "EXPECTED FAILURE: --custom JSON with a non-integral number; canonical JSON cannot encode it" \
  400 "unsupported value: 1.5"
nc add "$GUN" custom-float "$PAY/hello.txt" --custom "$PAY/custom-float.json"
nc publish "$GUN"
nc reset "$GUN" --all

step add-escaped-names "targets whose names need HTML escaping (<, >, &), contain non-ASCII, U+2028/U+2029, a quote and a backslash"
nc add "$GUN" "$AMP_NAME" "$PAY/hello.txt"
nc add "$GUN" "$SEP_NAME" "$PAY/empty.bin"
nc publish "$GUN"

step delegation-add-releases "import an openssl ECDSA P-256 key for targets/releases, add the delegation (x509 cert, --all-paths) and publish"
nc key import "$KEYS/releases-ecdsa.pem" --role targets/releases
nc delegation add "$GUN" targets/releases "$KEYS/releases-ecdsa.crt" --all-paths -p

step add-to-releases "publish a target into targets/releases"
nc add "$GUN" releases/v1 "$PAY/release.txt" --roles targets/releases -p

step delegation-add-nested-beta "nested delegation targets/releases/beta (plain ECDSA public key, --paths beta/), signed into targets/releases"
nc key import "$KEYS/beta-ecdsa.pem" --role targets/releases/beta
nc delegation add "$GUN" targets/releases/beta "$KEYS/beta-ecdsa.pub" --paths beta/ -p

step add-to-beta "publish a target into the nested delegation"
nc add "$GUN" beta/b1 "$PAY/release.txt" --roles targets/releases/beta -p

step witness-releases "notary witness: re-sign targets/releases without content change"
nc witness "$GUN" targets/releases -p

step rotate-targets "key rotate targets (new client ECDSA key; root, targets and snapshot re-signed)"
nc key rotate "$GUN" targets

step rotate-root "key rotate root (new ECDSA root cert; root signed by old and new key)"
nc_yes key rotate "$GUN" root

step rotate-snapshot-server "key rotate snapshot -r: snapshot key moves to the server (root uploaded, server signs snapshot)"
nc key rotate "$GUN" snapshot -r

step add-server-snapshot "add + publish with a server-managed snapshot (only targets uploaded)"
nc add "$GUN" after-server-snapshot "$PAY/hello.txt" -p

step rotate-timestamp "key rotate timestamp -r (new server timestamp key; root uploaded)"
nc key rotate "$GUN" timestamp -r

step remove-target "remove a target and publish"
nc remove "$GUN" hello -p

step delegation-purge-beta-key "delegation purge --key <beta key>: removes the key from every delegation (targets/releases re-signed)"
nc delegation purge "$GUN" --key "$(canon_id ecdsa "$KEYS/beta-ecdsa.pub")" -p

step delegation-remove-beta "delegation remove targets/releases/beta -y: delete the nested role"
nc delegation remove "$GUN" targets/releases/beta -y -p

refuse "timestamp keys can only be server-managed" "$TRUST" key rotate "$GUN" timestamp
refuse "targets keys cannot be server-managed" "$TRUST" key rotate "$GUN" targets -r
refuse "delegation roles cannot be rotated with key rotate" "$TRUST" key rotate "$GUN" targets/releases
note "Every key is ECDSA P-256: root keys are ecdsa-x509 certificates made by the client, targets/snapshot keys plain ecdsa, targets/releases an openssl-made ecdsa-x509 certificate, targets/releases/beta a plain ecdsa PUBLIC KEY; server timestamp and snapshot keys come from notary-signer (ecdsa)."
note "Steps 03-05 are expected failures (400 INVALID_UPDATE, ErrBadTargets) caused by --custom JSON that is not already canonical; their uploads carry targets/snapshot version 4, which step 06 then uses successfully."
note "After step 18 (purge) targets/releases lists targets/releases/beta with \"keyids\":null; after step 19 (remove) it has \"roles\":null."
end_scenario

# ================================================================== scenario: rsa
begin_scenario rsa example.com/golden/rsa ecdsa Asia/Kolkata \
  root,targets,snapshot,timestamp,targets/releases,targets/plain \
  "RSA wherever the client allows it: RSA root (rsa-x509 cert made by the client from an imported encrypted key), RSA targets and snapshot keys (plain rsa), a delegation with an RSA cert plus an ECDSA cert (two signatures), a delegation with a plain RSA public key; server timestamp key ECDSA; client clock in Asia/Kolkata (+05:30 expiry offsets)"

refuse "notary key generate only accepts ECDSA" "$TRUST" key generate rsa
refuse "--rootkey must be an encrypted private key file" "$WORK/scratch-rsa" init "$GUN" --rootkey "$KEYS/root-rsa.plain.pem"

note "RSA works for root (init --rootkey / key rotate root -k with an encrypted RSA PKCS#8 key: the client wraps it in an rsa-x509 certificate), for targets and snapshot (key rotate -k, plain rsa keys), and for delegations (RSA certificate -> rsa-x509, RSA PUBLIC KEY -> rsa). Signatures use method rsapss. Only key generation refuses RSA."
note "notary 0.7.0 reads encrypted PKCS#8 only with PBES2 + PBKDF2-HMAC-SHA1 + AES-256-CBC (openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA1)."

step init-rsa-root "init --rootkey <encrypted RSA PKCS#8 key> --publish: root key is an rsa-x509 certificate generated by the client (method rsapss); targets and snapshot keys generated ECDSA"
nc init "$GUN" --rootkey "$KEYS/root-rsa.enc.pem" --publish

step rotate-targets-rsa "key rotate targets -k <RSA PKCS#1 PEM>: targets key becomes a plain rsa key"
nc key rotate "$GUN" targets -k "$KEYS/targets-rsa.pem"

step rotate-snapshot-rsa "key rotate snapshot -k <RSA PKCS#8 PEM>: client-managed RSA snapshot key"
nc key rotate "$GUN" snapshot -k "$KEYS/snapshot-rsa.pem"

HELLO_SHA256="$(openssl dgst -sha256 -r "$PAY/hello.txt" | cut -d' ' -f1)"
HELLO_SHA512="$(openssl dgst -sha512 -r "$PAY/hello.txt" | cut -d' ' -f1)"
HELLO_LEN="$(wc -c <"$PAY/hello.txt" | tr -d ' ')"
step add-publish "add a file target plus two addhash targets with only a sha256 / only a sha512 hash, then publish"
nc add "$GUN" hello "$PAY/hello.txt"
nc addhash "$GUN" only-sha256 "$HELLO_LEN" --sha256 "$HELLO_SHA256"
nc addhash "$GUN" only-sha512 "$HELLO_LEN" --sha512 "$HELLO_SHA512"
nc publish "$GUN"

step delegation-add-two-certs "delegation targets/releases with two keys (RSA cert + ECDSA cert, threshold 1); both private keys imported"
nc key import "$KEYS/releases-rsa.pem" "$KEYS/releases2-ecdsa.pem" --role targets/releases
nc delegation add "$GUN" targets/releases "$KEYS/releases-rsa.crt" "$KEYS/releases2-ecdsa.crt" --all-paths -p

step add-to-releases "publish into targets/releases: signed by both delegation keys (rsapss + ecdsa)"
nc add "$GUN" releases/v1 "$PAY/release.txt" --roles targets/releases -p

step delegation-add-rsa-pubkey "delegation targets/plain with a plain RSA public key (keytype rsa) and two path prefixes"
nc key import "$KEYS/plain-rsa.pem" --role targets/plain
nc delegation add "$GUN" targets/plain "$KEYS/plain-rsa.pub" --paths plain/ --paths other/ -p

step add-to-plain "publish into targets/plain"
nc add "$GUN" plain/p1 "$PAY/release.txt" --roles targets/plain -p

step rotate-root-rsa "key rotate root -k <second encrypted RSA key>: new rsa-x509 root, root signed by both RSA keys"
nc_yes key rotate "$GUN" root -k "$KEYS/root2-rsa.enc.pem"

step rotate-timestamp "key rotate timestamp -r (new ECDSA server timestamp key)"
nc key rotate "$GUN" timestamp -r
end_scenario

# ================================================================== scenario: ed25519
begin_scenario ed25519 example.com/golden/ed25519 ed25519 America/New_York \
  root,targets,snapshot,timestamp,targets/releases \
  "notary-signer with key_algorithm ed25519 (server timestamp/snapshot keys Ed25519, method eddsa); client-side Ed25519 targets and snapshot keys (imported with key rotate -k); root stays ECDSA (the client refuses Ed25519 roots); server-managed snapshot from the first upload, later moved back to the client; an empty publish; client clock in America/New_York"

refuse "notary key generate only accepts ECDSA" "$TRUST" key generate ed25519
SCRATCH="$WORK/scratch-ed25519"
mkdir -p "$SCRATCH"
TZ="$CLIENT_TZ" notary -d "$SCRATCH" key import "$KEYS/root-ed25519.pem" --role root </dev/null >/dev/null 2>&1 \
  || die "could not import the Ed25519 root key into the scratch trust dir"
refuse "Ed25519 root key (imported beforehand with: notary key import <keys>/root-ed25519.pem --role root): the client cannot make the x509 root certificate" \
  "$SCRATCH" init example.com/golden/ed25519-refused --publish
refuse "delegation keys must be certificates or PUBLIC KEY PEMs of ECDSA/RSA keys; Ed25519 public keys are rejected" \
  "$TRUST" delegation add "$GUN" targets/releases "$KEYS/releases-ed25519.pub" --all-paths

note "Ed25519 works client-side only for targets and snapshot keys, via key rotate -k with a notary-format PEM (type ED25519 PRIVATE KEY, 96 bytes = public || seed || public); key generate, root keys and delegation keys refuse Ed25519. Server keys are Ed25519 because notary-signer runs with key_algorithm ed25519 (method eddsa)."

step init-server-snapshot "init without publishing, then key rotate snapshot -r before the first publish: the first upload is root (version 2, rotated locally) + targets; the server generates snapshot v1 with its Ed25519 key"
nc init "$GUN"
nc key rotate "$GUN" snapshot -r

step rotate-targets-ed25519 "key rotate targets -k <notary ED25519 PRIVATE KEY PEM>: targets signed with eddsa by the client"
nc key rotate "$GUN" targets -k "$KEYS/targets-ed25519.pem"

step add-publish "add + publish (only targets uploaded, server snapshot)"
nc add "$GUN" hello "$PAY/hello.txt" -p

step delegation-add-releases "delegation targets/releases with an openssl ECDSA cert"
nc key import "$KEYS/releases3-ecdsa.pem" --role targets/releases
nc delegation add "$GUN" targets/releases "$KEYS/releases3-ecdsa.crt" --all-paths -p

step add-to-releases "publish into targets/releases"
nc add "$GUN" releases/v1 "$PAY/release.txt" --roles targets/releases -p

step publish-no-changes "notary publish with nothing staged: a multipart POST without any part"
nc publish "$GUN"

step rotate-snapshot-client-ed25519 "key rotate snapshot -k <Ed25519 key>: snapshot goes back from the server to a client-held Ed25519 key"
nc key rotate "$GUN" snapshot -k "$KEYS/snapshot-ed25519.pem"

step add-client-snapshot "add + publish with the client-managed Ed25519 snapshot (targets + snapshot uploaded)"
nc add "$GUN" after-client-snapshot "$PAY/release.txt" -p

step rotate-root "key rotate root (new ECDSA root cert, signed by old and new root keys)"
nc_yes key rotate "$GUN" root

step rotate-timestamp "key rotate timestamp -r (new Ed25519 server timestamp key)"
nc key rotate "$GUN" timestamp -r
end_scenario

# ================================================================== manifest
GENERATED_AT="$(now_rfc3339)"
NOTES="$WORK/notes.txt"
cat > "$NOTES" <<'NOTES_EOF'
Servers: notary-server 0.7.0 with storage memory and plain HTTP, trust_service remote = a notary-signer 0.7.0 (memory storage, TLS with a throw-away CA) per scenario. trust_service type local was not used: it always signs with Ed25519 and ignores key_algorithm (cmd/notary-server/config.go), so it cannot produce ECDSA server keys.
Uploads are stored exactly as the multipart parts were received (upload/<role>.json, the part filename is the role name); server/<role>/<n>.json are the exact bytes of GET /v2/<gun>/_trust/tuf/<n>.<role>.json, fetched after every step.
server_new lists, per step, the (role, version) files that appeared on the server; source "upload" means byte-identical to a part uploaded in that step, "server" means generated by the server (timestamp always, snapshot when the server holds the snapshot key).
The multipart part order is not fixed by the client (e.g. ["snapshot","targets"] or ["snapshot","root","targets"]); uploads[].roles gives the real order.
Versions do not always start at 1 and may have gaps: scenario ed25519 uploads root version 2 first (rotated locally before the first publish); snapshot and timestamp versions continue across the switch between client-held and server-held snapshot keys.
Root rotation while the client holds the snapshot key uploads root + snapshot; with a server-held snapshot key only root is uploaded. Targets key rotation uploads root, targets and snapshot.
notary publish with nothing staged still POSTs a multipart body without parts (scenario ed25519 step publish-no-changes); the server answers 200 and stores a new snapshot (it holds the snapshot key there) and a new timestamp.
--custom target data: the client compacts the file but neither sorts object keys nor keeps < > & raw, and signs those bytes, so only JSON that is already canonical (sorted keys, integers only, no < > &) yields a valid signature; the three expected-failure steps of scenario ecdsa show the server rejecting the other cases (400 INVALID_UPDATE, ErrBadTargets). The client then resets its staged changes (notary reset --all), so those versions are re-used by the next successful step.
Go nil slices are written as null: after delegation purge removed the only key of targets/releases/beta its role entry has "keyids":null (scenario ecdsa targets/releases v4), and after delegation remove deleted the last delegated role the file has "delegations":{"keys":{},"roles":null} (targets/releases v5). Parsers must accept both.
Stored files escape < > & U+2028 U+2029 as \u003c \u003e \u0026 \u2028 \u2029 while the signatures cover the raw characters (scenario ecdsa step add-escaped-names); other non-ASCII stays raw UTF-8.
Client-produced expires values use the client's local zone (ecdsa: UTC, rsa: Asia/Kolkata +05:30, ed25519: America/New_York) with up to 9 fractional digits; server-produced values are UTC.
Command lines use placeholders: <proxy-port> (the recording proxy in front of notary-server), <trust-dir> (a fresh client trust directory per scenario), <scratch-trust-dir>, <keys> (openssl-made key/cert files), <payload> (target files). Passphrases came from NOTARY_ROOT_PASSPHRASE, NOTARY_TARGETS_PASSPHRASE, NOTARY_SNAPSHOT_PASSPHRASE and NOTARY_DELEGATION_PASSPHRASE. Private keys and trust directories are not kept.
NOTES_EOF
EVENT_FILES=()
for s in "${SCENARIOS[@]}"; do EVENT_FILES+=("$WORK/events-$s.jsonl"); done
"$PY" "$TOOLS/golden.py" manifest "$GOLDEN" "$STARTED_AT" "$GENERATED_AT" "$NOTARY_VERSION" "$NOTES" "${EVENT_FILES[@]}"
log "verifying layout, key IDs, signatures and snapshot/timestamp hashes (tools/verify.py)"
"$PY" "$TOOLS/verify.py" "$GOLDEN" || die "verification of the generated files failed"
log "done: $GOLDEN/manifest.json (generated_at $GENERATED_AT)"
