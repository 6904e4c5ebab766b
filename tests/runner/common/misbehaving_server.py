"""A web server that serves a directory store and misbehaves on request, for the HTTP
store's fault tests. The first path segment picks the behaviour, the rest is the file:

  /ok/<file>          the file, as a static server sends it
  /wrong/<file>       content.md replaced by other bytes of the same length
  /short/<file>       content.md cut in half, with a Content-Length that says so
  /cut/<file>         content.md: headers promise the whole file, half is sent, then the
                      connection is closed
  /fail/<file>        500 for every request
  /flaky/<file>       500 for the first two requests of each path, then the file
  /busy/<file>        429 with Retry-After: 1 for the first request of each path
  /slow/<file>        the answer after 5 seconds
  /flip/<file>        the file while DIR/../failing does not exist, 500 once it does

usage: misbehaving_server.py DIR  (prints "port N" once listening; every request is
counted in DIR/../requests.log as "METHOD PATH STATUS")
"""
import http.server, os, sys, threading, time

root = os.path.abspath(sys.argv[1])
log_path = os.path.join(os.path.dirname(root), "requests.log")
seen = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status):
        with lock:
            with open(log_path, "a") as f:
                f.write(f"{self.command} {self.path} {status}\n")

    def reply(self, status, body=b"", headers=()):
        self.record(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_PUT(self):
        self.reply(405, b"read-only\n", [("Content-Type", "text/plain")])

    def do_GET(self):
        parts = self.path.lstrip("/").split("/", 1)
        mode, rest = (parts + [""])[:2]
        with lock:
            seen[self.path] = seen.get(self.path, 0) + 1
            count = seen[self.path]
        failing = mode == "flip" and os.path.exists(os.path.join(os.path.dirname(root), "failing"))
        if mode == "fail" or failing or (mode == "flaky" and count <= 2):
            return self.reply(500, b"{\"error\": {\"message\": \"the disk is on fire\"}}",
                              [("Content-Type", "application/json")])
        if mode == "busy" and count == 1:
            return self.reply(429, b"slow down\n", [("Retry-After", "1"), ("Content-Type", "text/plain")])
        if mode == "slow":
            time.sleep(5)
        path = os.path.normpath(os.path.join(root, rest))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return self.reply(404, b"not found\n", [("Content-Type", "text/plain")])
        with open(path, "rb") as f:
            body = f.read()
        content = rest.endswith("/content.md")
        if content and mode == "wrong":
            body = bytes(b ^ 0x20 for b in body) if body else body
        if content and mode == "short":
            body = body[: len(body) // 2]
        if content and mode == "cut":
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            self.close_connection = True
            return
        self.reply(200, body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
