#!/usr/bin/env python3
"""Helpers for generate.sh (python3 stdlib only; openssl is called for x509 parsing).

Subcommands:
  freeport                              print a free 127.0.0.1 TCP port
  wait-http URL [SECONDS]               wait until URL answers 200
  wait-tcp PORT [SECONDS]               wait until 127.0.0.1:PORT accepts connections
  ed25519-pem DER_PKCS8 DER_SPKI OUT    write an unencrypted notary-format
                                        "ED25519 PRIVATE KEY" PEM (pub || seed || pub)
  event FILE JSON                       append one JSON event line (JSON given as text)
  command FILE EXIT STDIN LOG -- ARG... append a "command" event (argv display form)
  dump SERVER GUN ROLES OUTDIR STEPDIR  save every stored version of every role from the
                                        server (GET /v2/<gun>/_trust/tuf/<n>.<role>.json),
                                        print the (role, version) pairs new since last dump
  keys TRUSTDIR_KEYLIST SCENARIODIR OUT  build client-public-keys.json
  manifest ...                          build manifest.json (see build_manifest)
"""

import base64
import glob
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def wait_http(url, seconds=30):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return 0
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)
    print("timeout waiting for %s" % url, file=sys.stderr)
    return 1


def wait_tcp(port, seconds=30):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
                return 0
        except OSError:
            time.sleep(0.1)
    print("timeout waiting for tcp port %s" % port, file=sys.stderr)
    return 1


def ed25519_pem(der_pkcs8, der_spki, out):
    seed = open(der_pkcs8, "rb").read()
    pub = open(der_spki, "rb").read()
    # RFC 8410 PKCS#8 for Ed25519 is a fixed 48-byte structure ending in the 32-byte seed;
    # the SPKI is a fixed 44-byte structure ending in the 32-byte public key.
    if len(seed) != 48 or len(pub) != 44:
        raise SystemExit("unexpected Ed25519 DER lengths %d/%d" % (len(seed), len(pub)))
    seed, pub = seed[-32:], pub[-32:]
    b64 = base64.b64encode(pub + seed + pub).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    with open(out, "w") as f:
        f.write("-----BEGIN ED25519 PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END ED25519 PRIVATE KEY-----\n")


def append_event(path, obj):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False) + "\n")


def command_event(path, exit_code, stdin, log, argv):
    try:
        with open(log, "r", encoding="utf-8", errors="replace") as f:
            output = f.read()
    except FileNotFoundError:
        output = ""
    append_event(path, {"type": "command", "argv": argv, "stdin": stdin or None,
                        "exit_code": int(exit_code), "output": output})


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def dump(server, gun, roles, outdir, stepdir):
    """Save every stored version of every role; report the new ones."""
    new = []
    uploaded = {}
    for up in sorted(glob.glob(os.path.join(stepdir, "upload*"))):
        if not os.path.isdir(up):
            continue
        for root, _, files in os.walk(up):
            for fn in files:
                p = os.path.join(root, fn)
                role = os.path.relpath(p, up)[:-len(".json")]
                uploaded.setdefault(role, []).append(open(p, "rb").read())
    for role in roles:
        misses = 0
        n = 0
        # Versions need not start at 1 nor be contiguous (e.g. root starts at 2 when
        # a key rotation happened before the first publish): stop after 20 misses
        # past the highest version seen.
        while misses < 20:
            n += 1
            status, body = http_get("%s/v2/%s/_trust/tuf/%d.%s.json" % (server, gun, n, role))
            if status == 404:
                misses += 1
                continue
            if status != 200:
                raise SystemExit("GET %d.%s.json -> %d %r" % (n, role, status, body[:200]))
            misses = 0
            path = os.path.join(outdir, role, "%d.json" % n)
            if os.path.exists(path):
                if open(path, "rb").read() != body:
                    raise SystemExit("stored %s v%d changed between dumps" % (role, n))
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(body)
            source = "upload" if body in uploaded.get(role, []) else "server"
            if source == "server" and role not in ("snapshot", "timestamp"):
                raise SystemExit("server stored %s v%d that was not uploaded in this step" % (role, n))
            new.append({"role": role, "version": n, "source": source, "length": len(body),
                        "sha256": hashlib.sha256(body).hexdigest()})
    print(json.dumps(new))


# ---------------------------------------------------------------- keys

def key_id(keytype, public_b64):
    canon = '{"keytype":"%s","keyval":{"private":null,"public":"%s"}}' % (keytype, public_b64)
    return hashlib.sha256(canon.encode()).hexdigest()


def canonical_id(keytype, public_b64):
    if not keytype.endswith("-x509"):
        return key_id(keytype, public_b64)
    pem = base64.b64decode(public_b64)
    spki_pem = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=pem,
                              capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki_pem,
                         capture_output=True, check=True).stdout
    return key_id(keytype[:-len("-x509")], base64.b64encode(der).decode())


def metadata_keys(scenario_dir):
    """All keys in every stored root/targets/delegation file of a scenario."""
    found = {}
    for p in glob.glob(os.path.join(scenario_dir, "server", "**", "*.json"), recursive=True):
        doc = json.load(open(p, "rb"))
        signed = doc["signed"]
        keys = dict(signed.get("keys", {}))
        keys.update(signed.get("delegations", {}).get("keys", {}))
        for kid, k in keys.items():
            found[kid] = k
    return found


def client_keys(keylist_file, scenario_dir, out):
    rows = []
    for line in open(keylist_file, encoding="utf-8"):
        parts = line.split()
        if len(parts) < 3 or parts[0] in ("ROLE", "----"):
            continue
        if len(parts) == 3:  # ROLE KEYID LOCATION (no GUN)
            role, gun, kid = parts[0], "", parts[1]
        else:
            role, gun, kid = parts[0], parts[1], parts[2]
        rows.append({"role": role, "gun": gun, "canonical_key_id": kid})
    meta = metadata_keys(scenario_dir)
    by_canon = {}
    for kid, k in meta.items():
        by_canon.setdefault(canonical_id(k["keytype"], k["keyval"]["public"]), []).append((kid, k["keytype"]))
    for r in rows:
        matches = sorted(by_canon.get(r["canonical_key_id"], []))
        r["metadata_keys"] = [{"key_id": kid, "keytype": kt} for kid, kt in matches]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"note": "private keys held by the notary client at the end of the scenario "
                           "(`notary key list`); canonical_key_id is the ID of the plain public key "
                           "(for x509 keys: of the certificate's SubjectPublicKeyInfo), metadata_keys "
                           "are the IDs under which that key appears in the stored metadata",
                   "keys": rows}, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------- manifest

def read_json(path):
    with open(path, "rb") as f:
        return json.load(f)


def build_manifest(golden, events_files, started_at, generated_at, notary_version, global_notes_file):
    scenarios = []
    for ef in events_files:
        sc = None
        step = None
        for line in open(ef, encoding="utf-8"):
            ev = json.loads(line)
            t = ev["type"]
            if t == "scenario":
                sc = {k: v for k, v in ev.items() if k != "type"}
                sc.update({"steps": [], "refused": [], "notes": []})
                scenarios.append(sc)
            elif t == "step":
                step = {"dir": ev["dir"], "description": ev["description"], "expect": ev["expect"],
                        "commands": [], "uploads": [], "server_new": []}
                if ev.get("expected_error"):
                    step["expected_error"] = ev["expected_error"]
                sc["steps"].append(step)
            elif t == "command":
                cmd = {"argv": ev["argv"], "exit_code": ev["exit_code"]}
                if ev.get("stdin"):
                    cmd["stdin"] = ev["stdin"]
                if ev["exit_code"] != 0:
                    cmd["output"] = ev["output"]
                step["commands"].append(cmd)
            elif t == "step_end":
                step_dir = os.path.join(golden, sc["name"], "steps", step["dir"])
                k = 1
                while True:
                    sfx = "" if k == 1 else "-%d" % k
                    rp = os.path.join(step_dir, "response%s.json" % sfx)
                    if not os.path.exists(rp):
                        break
                    resp = read_json(rp)
                    parts = read_json(os.path.join(step_dir, "upload-parts%s.json" % sfx))
                    files = []
                    for role in parts["roles"]:
                        fp = os.path.join(step_dir, "upload" + sfx, role + ".json")
                        raw = open(fp, "rb").read()
                        files.append({"role": role, "path": os.path.relpath(fp, golden).replace(os.sep, "/"),
                                      "version": json.loads(raw)["signed"]["version"],
                                      "length": len(raw), "sha256": hashlib.sha256(raw).hexdigest()})
                    step["uploads"].append({"dir": "upload" + sfx, "roles": parts["roles"], "files": files,
                                            "response_status": resp["status"], "response_body": resp["body"]})
                    k += 1
                for n in ev["server_new"]:
                    n = dict(n)
                    n["path"] = "%s/server/%s/%d.json" % (sc["name"], n["role"], n["version"])
                    step["server_new"].append(n)
            elif t == "refused":
                sc["refused"].append({k: v for k, v in ev.items() if k != "type"})
            elif t == "note":
                sc["notes"].append(ev["text"])
            else:
                raise SystemExit("unknown event %r" % t)
    notes = [l.rstrip("\n") for l in open(global_notes_file, encoding="utf-8") if l.strip()]
    manifest = {
        "schema_version": 1,
        "generator": "tests/TrustServer.Tuf.Tests/TestData/golden/generate.sh",
        "generated_at": generated_at,
        "started_at": started_at,
        "clock_note": "pin the test clock to generated_at: every file was produced between started_at and "
                      "generated_at; server timestamps expire 14 days after they were signed, client "
                      "certificates become valid when they were created",
        "notary_version": notary_version,
        "notes": notes,
        "scenarios": scenarios,
    }
    with open(os.path.join(golden, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main(argv):
    cmd = argv[1]
    if cmd == "freeport":
        freeport()
    elif cmd == "wait-http":
        return wait_http(*argv[2:])
    elif cmd == "wait-tcp":
        return wait_tcp(*argv[2:])
    elif cmd == "ed25519-pem":
        ed25519_pem(*argv[2:5])
    elif cmd == "event":
        append_event(argv[2], json.loads(argv[3]))
    elif cmd == "command":
        assert argv[6] == "--"
        command_event(argv[2], argv[3], argv[4], argv[5], argv[7:])
    elif cmd == "refused":
        # refused FILE EXIT LOG DESCRIPTION -- ARGV...
        assert argv[6] == "--"
        output = open(argv[4], encoding="utf-8", errors="replace").read()
        append_event(argv[2], {"type": "refused", "description": argv[5], "argv": argv[7:],
                               "exit_code": int(argv[3]), "output": output})
    elif cmd == "canonical-id":
        # canonical-id KEYTYPE FILE.pem -> canonical key ID (what `notary key list`, `delegation
        # purge --key` use) of a PEM certificate or PEM "PUBLIC KEY" with plain keytype ecdsa/rsa
        pem = open(argv[3], "rb").read()
        if b"BEGIN CERTIFICATE" in pem:
            print(canonical_id(argv[2] + "-x509", base64.b64encode(pem).decode()))
        else:
            body = b"".join(l for l in pem.splitlines() if l and not l.startswith(b"-----"))
            print(key_id(argv[2], base64.b64encode(base64.b64decode(body)).decode()))
    elif cmd == "dump":
        dump(argv[2], argv[3], argv[4].split(","), argv[5], argv[6])
    elif cmd == "keys":
        client_keys(argv[2], argv[3], argv[4])
    elif cmd == "manifest":
        # manifest GOLDEN STARTED GENERATED VERSION NOTESFILE EVENTS...
        build_manifest(argv[2], argv[7:], argv[3], argv[4], argv[5], argv[6])
    else:
        raise SystemExit("unknown subcommand %s" % cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
