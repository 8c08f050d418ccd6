#!/usr/bin/env python3
"""Recording reverse proxy used by generate.sh (python3 stdlib only).

Forwards every HTTP request unchanged to an upstream notary-server and, for each
multipart upload `POST /v2/<gun>/_trust/tuf/`, stores the raw bytes of every
part of field `files` under the current step directory:

    <step>/upload/<filename>.json      (filename = the part's raw filename,
                                        i.e. the role name, slashes kept)
    <step>/upload-parts.json           (role names in multipart order)
    <step>/response.json               (status + body of the POST)

A second upload within the same step goes to upload-2/, upload-parts-2.json,
response-2.json, and so on. Every request of the step is appended to
<step>/http-log.jsonl (method, path, status).

The current step directory is read, for every request, from the file given by
--step-file (absolute path, one line; empty = do not record).
"""

import argparse
import http.client
import http.server
import json
import os
import re
import sys
import threading

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade", "content-length",
}

UPLOAD_PATH = re.compile(r"^/v2/(.+)/_trust/tuf/$")

_lock = threading.Lock()


def current_step_dir(step_file):
    try:
        with open(step_file, "r", encoding="utf-8") as f:
            d = f.read().strip()
    except FileNotFoundError:
        return None
    return d or None


def parse_multipart(body, content_type):
    """Split a multipart/form-data body into (headers, raw content) pairs
    without decoding or re-encoding anything."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError("no multipart boundary in %r" % content_type)
    delim = b"--" + m.group(1).encode("latin-1")
    parts = []
    pos = body.find(delim)
    if pos < 0:
        raise ValueError("boundary not found in body")
    pos += len(delim)
    while True:
        if body[pos:pos + 2] == b"--":
            break  # closing delimiter
        if body[pos:pos + 2] != b"\r\n":
            raise ValueError("malformed delimiter line at %d" % pos)
        pos += 2
        hdr_end = body.find(b"\r\n\r\n", pos)
        if hdr_end < 0:
            raise ValueError("unterminated part headers")
        raw_headers = body[pos:hdr_end].decode("utf-8")
        content_start = hdr_end + 4
        nxt = body.find(b"\r\n" + delim, content_start)
        if nxt < 0:
            raise ValueError("unterminated part")
        headers = {}
        for line in raw_headers.split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        parts.append((headers, body[content_start:nxt]))
        pos = nxt + 2 + len(delim)
    return parts


def disposition_params(value):
    """Parse `form-data; name="files"; filename="targets/releases"` keeping the
    raw filename (Go's multipart writer only escapes `\\` and `"`)."""
    params = {}
    for m in re.finditer(r';\s*([A-Za-z0-9_*-]+)="((?:[^"\\]|\\.)*)"', value):
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", m.group(2))
    return params


def next_suffix(step_dir):
    n = 1
    while os.path.exists(os.path.join(step_dir, "response%s.json" % ("" if n == 1 else "-%d" % n))):
        n += 1
    return "" if n == 1 else "-%d" % n


def record_upload(step_dir, content_type, body, status, resp_body):
    suffix = next_suffix(step_dir)
    upload_dir = os.path.join(step_dir, "upload" + suffix)
    roles = []
    error = None
    try:
        for headers, content in parse_multipart(body, content_type):
            params = disposition_params(headers.get("content-disposition", ""))
            if params.get("name") != "files":
                continue
            role = params.get("filename", "")
            if not role or role.startswith("/") or ".." in role.split("/"):
                raise ValueError("refusing suspicious part filename %r" % role)
            path = os.path.join(upload_dir, role + ".json")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
            roles.append(role)
    except ValueError as e:
        error = str(e)
    with open(os.path.join(step_dir, "upload-parts%s.json" % suffix), "w", encoding="utf-8") as f:
        json.dump({"roles": roles, "parse_error": error}, f)
        f.write("\n")
    try:
        body_text = resp_body.decode("utf-8")
    except UnicodeDecodeError:
        body_text = resp_body.decode("latin-1")
    with open(os.path.join(step_dir, "response%s.json" % suffix), "w", encoding="utf-8") as f:
        json.dump({"status": status, "body": body_text}, f, ensure_ascii=False)
        f.write("\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    step_file = None

    def log_message(self, fmt, *args):  # quiet; requests are logged per step
        pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        body = self._read_body()
        host, port = self.upstream
        conn = http.client.HTTPConnection(host, port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body if body else None, headers=headers)
        resp = conn.getresponse()
        resp_body = resp.read()
        resp_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        status = resp.status
        conn.close()

        step_dir = current_step_dir(self.step_file)
        if step_dir:
            with _lock:
                os.makedirs(step_dir, exist_ok=True)
                with open(os.path.join(step_dir, "http-log.jsonl"), "a", encoding="utf-8") as f:
                    f.write(json.dumps({"method": self.command, "path": self.path, "status": status},
                                       ensure_ascii=False) + "\n")
                if self.command == "POST" and UPLOAD_PATH.match(self.path.split("?")[0]):
                    record_upload(step_dir, self.headers.get("Content-Type", ""), body, status, resp_body)

        self.send_response_only(status, resp.reason)
        for k, v in resp_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp_body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp_body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True, help="host:port of notary-server")
    ap.add_argument("--step-file", required=True)
    ap.add_argument("--port-file", required=True, help="written with the bound port once listening")
    a = ap.parse_args()
    host, _, port = a.upstream.rpartition(":")
    Handler.upstream = (host, int(port))
    Handler.step_file = a.step_file
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
