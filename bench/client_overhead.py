"""Per-call overhead of PowensClient over a bare requests.Session.

Starts a threaded HTTP server on 127.0.0.1 that answers GET /2.0/connectors with a
fixed JSON list, then times N calls made (a) with a bare ``requests.Session`` and
``.json()`` and (b) with ``PowensClient.list_connectors``. Prints the median and p95 per
call and the overhead ratio. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from powens_django.client import PowensClient

BODY = json.dumps(
    {"connectors": [{"id": i, "uuid": f"uuid-{i}", "name": f"Bank {i}"} for i in range(50)]}
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per keep-alive call

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


def timed(call, n: int) -> list[float]:
    for _ in range(min(50, n)):  # warm the connection pool
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def describe(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[18]
    print(f"{name:<28} median {median:8.1f} us   p95 {p95:8.1f} us   ({len(samples)} calls)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}/2.0/"
    try:
        session = requests.Session()
        bare = timed(lambda: session.get(root + "connectors", timeout=5).json(), args.calls)
        client = PowensClient(root)
        ours = timed(client.list_connectors, args.calls)
    finally:
        server.shutdown()

    base = describe("requests.Session + .json()", bare)
    mine = describe("PowensClient.list_connectors", ours)
    print(f"overhead: {mine - base:+.1f} us per call ({mine / base:.2f}x the bare call)")


if __name__ == "__main__":
    main()
