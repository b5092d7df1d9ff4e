#!/usr/bin/env python3
"""A misbehaving file server for the fetch tests, bound to 127.0.0.1 only.

Usage: http_server.py ROOT [--lifetime SECONDS] [--ignore-stdin]

Prints "PORT <n>" on stdout once it listens, then serves the files in ROOT under routes that each
simulate one situation a download can meet:

  /good/NAME       the file as is
  /truncated/NAME  the first half, with a Content-Length that matches (the server's copy is short)
  /cut/NAME        a Content-Length for the whole file, then half of it and a closed connection
  /corrupt/NAME    the right length, one byte in the middle flipped
  /flaky/NAME      HTTP 500 on the first request for NAME, the file afterwards
  /missing/NAME    HTTP 404
  /stall/NAME      headers and a few bytes, then nothing until the client gives up

It exits when its stdin closes (the test process died or finished) or after --lifetime seconds
(default 120), so it never outlives a test run. Shell scripts, whose background jobs get an already
closed stdin, pass --ignore-stdin and kill it from a trap.
"""
import argparse
import http.server
import os
import sys
import threading
import time


def make_handler(root, lifetime):
    flaky_seen = set()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def send_body(self, body, length=None):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            parts = self.path.lstrip("/").split("/")
            if len(parts) != 2 or not parts[1] or parts[1].startswith("."):
                return self.send_error(400)
            route, name = parts
            path = os.path.join(root, name)
            if route == "missing" or not os.path.isfile(path):
                return self.send_error(404)
            with open(path, "rb") as f:
                data = f.read()
            if route == "good":
                self.send_body(data)
            elif route == "truncated":
                self.send_body(data[: len(data) // 2])
            elif route == "cut":
                self.send_body(data[: len(data) // 2], length=len(data))
                self.close_connection = True
            elif route == "corrupt":
                mid = len(data) // 2
                self.send_body(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:])
            elif route == "flaky":
                with lock:
                    first = name not in flaky_seen
                    flaky_seen.add(name)
                if first:
                    self.send_error(500, "simulated failure")
                else:
                    self.send_body(data)
            elif route == "stall":
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:4])
                self.wfile.flush()
                time.sleep(lifetime)
            else:
                self.send_error(404)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="directory whose files are served")
    parser.add_argument("--lifetime", type=float, default=120.0, help="exit after this many seconds")
    parser.add_argument("--ignore-stdin", action="store_true", help="do not exit when stdin closes")
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.root, args.lifetime))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)

    # Wait for stdin to close or the lifetime to pass, whichever comes first.
    watcher = threading.Thread(target=(lambda: time.sleep(args.lifetime)) if args.ignore_stdin else sys.stdin.read,
                               daemon=True)
    watcher.start()
    watcher.join(args.lifetime)
    os._exit(0)  # daemon threads may be mid-request (stall); do not wait for them


if __name__ == "__main__":
    main()
