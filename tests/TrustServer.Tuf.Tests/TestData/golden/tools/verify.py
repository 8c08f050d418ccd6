#!/usr/bin/env python3
"""Independent sanity check of the golden files (python3 stdlib + openssl CLI).

For every stored server file and every uploaded part:
  * the file layout is exactly {"signed":<html-escaped canonical body>,"signatures":[...]}
    (tuf-metadata.md §1, §8.4);
  * every key (root keys, delegation keys) has key ID = sha256(canonical key JSON) (§10);
  * every signature verifies over the re-canonicalized body (§8.1, §11) with openssl, and
    at least one valid signature comes from a key that some version of the parent metadata
    lists for the role;
  * every snapshot/timestamp meta entry matches the length/sha256/sha512 of a stored file.
Uploads of steps marked "expect": "failure" must fail at least one of these checks.

Usage: verify.py GOLDEN_DIR      exit 0 when everything holds; prints a summary.
"""

import base64
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile


# ---------------------------------------------------------------- canonical JSON

def canon(v):
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return b"{" + b",".join(canon_str(k) + b":" + canon(x) for k, x in items) + b"}"
    if isinstance(v, list):
        return b"[" + b",".join(canon(x) for x in v) + b"]"
    if isinstance(v, str):
        return canon_str(v)
    if v is True:
        return b"true"
    if v is False:
        return b"false"
    if v is None:
        return b"null"
    if isinstance(v, (int, float)):
        f = float(v)  # Go decodes every number into a float64
        if f != f or f in (float("inf"), float("-inf")) or f != int(f):
            raise ValueError("json: unsupported value: %r" % v)
        return str(int(f)).encode()
    raise TypeError(type(v))


def canon_str(s):
    return b'"' + s.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8") + b'"'


def html_escape(b):
    return (b.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
            .replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029"))


def key_id(key):
    return hashlib.sha256(canon({"keytype": key["keytype"],
                                 "keyval": {"private": None, "public": key["keyval"]["public"]}})).hexdigest()


# ---------------------------------------------------------------- signatures via openssl

_tmp = tempfile.mkdtemp(prefix="golden-verify.")
_pem_cache = {}


def pubkey_pem(key):
    kid = key_id(key)
    if kid in _pem_cache:
        return _pem_cache[kid]
    kt = key["keytype"]
    raw = base64.b64decode(key["keyval"]["public"])
    if kt.endswith("-x509"):
        pem = subprocess.run(["openssl", "x509", "-pubkey", "-noout"], input=raw,
                             capture_output=True, check=True).stdout
    elif kt in ("ecdsa", "rsa"):
        pem = der_to_pem(raw)
    elif kt == "ed25519":
        if len(raw) != 32:
            raise ValueError("ed25519 key of %d bytes" % len(raw))
        pem = der_to_pem(bytes.fromhex("302a300506032b6570032100") + raw)
    else:
        raise ValueError("unknown keytype %s" % kt)
    path = os.path.join(_tmp, kid + ".pem")
    open(path, "wb").write(pem)
    _pem_cache[kid] = path
    return path


def der_to_pem(der):
    b = base64.b64encode(der).decode()
    return ("-----BEGIN PUBLIC KEY-----\n" + "\n".join(b[i:i + 64] for i in range(0, len(b), 64))
            + "\n-----END PUBLIC KEY-----\n").encode()


def der_int(b):
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + der_len(len(b)) + b


def der_len(n):
    if n < 128:
        return bytes([n])
    s = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(s)]) + s


def verify_sig(key, method, sig, msg):
    kt = key["keytype"]
    pem = pubkey_pem(key)
    mf = os.path.join(_tmp, "msg")
    sf = os.path.join(_tmp, "sig")
    open(mf, "wb").write(msg)
    if method == "ecdsa":
        if not kt.startswith("ecdsa") or len(sig) != 64:
            return False
        body = der_int(sig[:32]) + der_int(sig[32:])
        open(sf, "wb").write(b"\x30" + der_len(len(body)) + body)
        cmd = ["openssl", "dgst", "-sha256", "-verify", pem, "-signature", sf, mf]
    elif method == "rsapss":
        if not kt.startswith("rsa"):
            return False
        open(sf, "wb").write(sig)
        cmd = ["openssl", "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt",
               "rsa_pss_saltlen:32", "-verify", pem, "-signature", sf, mf]
    elif method == "eddsa":
        if kt != "ed25519":
            return False
        open(sf, "wb").write(sig)
        cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", mf, "-sigfile", sf]
    else:
        return False
    return subprocess.run(cmd, capture_output=True).returncode == 0


# ---------------------------------------------------------------- checks

class Problems(list):
    def add(self, where, what):
        self.append("%s: %s" % (where, what))


def check_file(path, raw, keys, problems, stats):
    """Layout, canonical form and signatures of one file; returns (doc, valid signer key IDs)."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        problems.add(path, "not JSON: %s" % e)
        return None, set()
    try:
        body = canon(doc["signed"])
    except ValueError as e:
        problems.add(path, "cannot canonicalize: %s" % e)
        return doc, set()
    sigs = doc["signatures"]
    expected = (b'{"signed":' + html_escape(body) + b',"signatures":[' +
                b",".join(b'{"keyid":"%s","method":"%s","sig":"%s"}' % (s["keyid"].encode(), s["method"].encode(),
                                                                       s["sig"].encode()) for s in sigs) + b"]}")
    if raw != expected:
        problems.add(path, "bytes differ from {\"signed\":<html-escaped canonical>,\"signatures\":[...]}")
    signed = doc["signed"]
    for kid, k in list(signed.get("keys", {}).items()) + list(signed.get("delegations", {}).get("keys", {}).items()):
        if key_id(k) != kid:
            problems.add(path, "key ID %s does not match its key (%s)" % (kid, key_id(k)))
        keys[kid] = k
    valid = set()
    for s in sigs:
        k = keys.get(s["keyid"])
        if k is None:
            problems.add(path, "signature by unknown key %s" % s["keyid"])
            continue
        ok = verify_sig(k, s["method"].lower(), base64.b64decode(s["sig"]), body)
        stats[(s["method"], k["keytype"], ok)] = stats.get((s["method"], k["keytype"], ok), 0) + 1
        if ok:
            valid.add(s["keyid"])
        else:
            problems.add(path, "signature %s (%s) does not verify" % (s["keyid"][:12], s["method"]))
    return doc, valid


def main(golden):
    manifest = json.load(open(os.path.join(golden, "manifest.json"), encoding="utf-8"))
    stats = {}
    problems = Problems()
    nfiles = 0
    for sc in manifest["scenarios"]:
        sdir = os.path.join(golden, sc["name"])
        # all stored files, by role
        stored = {}
        for p in glob.glob(os.path.join(sdir, "server", "**", "*.json"), recursive=True):
            rel = os.path.relpath(p, os.path.join(sdir, "server"))
            role, ver = os.path.dirname(rel).replace(os.sep, "/"), int(os.path.basename(rel)[:-5])
            stored.setdefault(role, {})[ver] = open(p, "rb").read()
        # pass 1: collect every key (so signatures by keys introduced in later versions resolve)
        keys = {}
        for role in stored:
            for raw in stored[role].values():
                s = json.loads(raw)["signed"]
                keys.update(s.get("keys", {}))
                keys.update(s.get("delegations", {}).get("keys", {}))
        # which key IDs any version of the parent lists for a role
        allowed = {}
        for role, vers in stored.items():
            for raw in vers.values():
                s = json.loads(raw)["signed"]
                for rname, r in s.get("roles", {}).items() if isinstance(s.get("roles"), dict) else []:
                    allowed.setdefault(rname, set()).update(r["keyids"])
                for r in s.get("delegations", {}).get("roles") or []:  # may be null
                    allowed.setdefault(r["name"], set()).update(r["keyids"] or [])  # may be null
        # pass 2: stored files
        for role, vers in sorted(stored.items()):
            for ver, raw in sorted(vers.items()):
                where = "%s/server/%s/%d.json" % (sc["name"], role, ver)
                nfiles += 1
                doc, valid = check_file(where, raw, dict(keys), problems, stats)
                if doc is None:
                    continue
                if doc["signed"]["version"] != ver:
                    problems.add(where, "version field %s" % doc["signed"]["version"])
                if not valid & allowed.get(role, set()):
                    problems.add(where, "no valid signature from a key listed for %s" % role)
                for mrole, meta in doc["signed"].get("meta", {}).items():
                    hit = [v for v, b in stored.get(mrole, {}).items()
                           if len(b) == meta["length"]
                           and base64.b64decode(meta["hashes"]["sha256"]) == hashlib.sha256(b).digest()
                           and ("sha512" not in meta["hashes"]
                                or base64.b64decode(meta["hashes"]["sha512"]) == hashlib.sha512(b).digest())]
                    if not hit:
                        problems.add(where, "meta entry %s matches no stored file" % mrole)
        # pass 3: uploads
        for st in sc["steps"]:
            for up in st["uploads"]:
                for f in up["files"]:
                    raw = open(os.path.join(golden, f["path"]), "rb").read()
                    nfiles += 1
                    local = Problems()
                    check_file(f["path"], raw, dict(keys), local, {} if st["expect"] != "success" else stats)
                    if st["expect"] == "success":
                        problems.extend(local)
                    elif f["role"] == "targets" and not local:
                        problems.add(f["path"], "upload of an expected-failure step passed every check")
    for (method, kt, ok), n in sorted(stats.items()):
        print("  %-8s %-11s %-5s %d" % (method, kt, "ok" if ok else "BAD", n))
    print("%d files checked, %d problems" % (nfiles, len(problems)))
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
