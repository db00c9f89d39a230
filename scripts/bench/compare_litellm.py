#!/usr/bin/env python3
"""Runs the same chat workload through LiteLLM 1.110.2 and through llm-rs (the `workload` example: Client with
pricing and SQLite tracking on) against one local OpenAI-compatible server, and prints both latencies and the
ratio, measured in one run.

    python3 -m venv /tmp/venv-litellm && /tmp/venv-litellm/bin/pip install litellm==1.110.2   # never 1.107.0
    cargo build --release -p llm --example workload
    /tmp/venv-litellm/bin/python scripts/bench/compare_litellm.py [--calls 500] [--stream]

The server is a minimal keep-alive HTTP/1.1 server on 127.0.0.1 (TCP_NODELAY, one write per response) that
answers every POST with a fixed chat.completion (or a 10-chunk SSE stream). LiteLLM runs with
LITELLM_LOCAL_MODEL_COST_MAP=True, so nothing leaves the machine. It exits 2 when LiteLLM is not installed.
"""

import os

# Before anything imports litellm: use the bundled price file, never fetch it.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHAT = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help you today?"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
}).encode()

PIECES = ["Hello", "! ", "How ", "can ", "I ", "help ", "you ", "to", "day", "?"]


def sse_body():
    out = []
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    for p in PIECES:
        out.append(dict(base, choices=[{"index": 0, "delta": {"content": p}, "finish_reason": None}]))
    out.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    out.append(dict(base, choices=[], usage={"prompt_tokens": 21, "completion_tokens": 10, "total_tokens": 31}))
    return ("".join(f"data: {json.dumps(o)}\n\n" for o in out) + "data: [DONE]\n\n").encode()


SSE = sse_body()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n)
        stream = b'"stream": true' in body or b'"stream":true' in body
        payload, ctype = (SSE, "text/event-stream") if stream else (CHAT, "application/json")
        head = (f"HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {len(payload)}\r\n"
                "connection: keep-alive\r\n\r\n").encode()
        self.wfile.write(head + payload)

    def log_message(self, *args):
        pass


class RawServer:
    """The same replies as `Handler`, from a plain socket loop (a thread per connection, no http.server
    parsing): about a tenth of http.server's time per response, so both clients' figures are less the server's.
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.server_address = self.sock.getsockname()
        self.running = True

    def serve_forever(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def serve(conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, rest = buf.partition(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        n = int(value.strip())
                while len(rest) < n:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                body, buf = rest[:n], rest[n:]
                stream = b'"stream": true' in body or b'"stream":true' in body
                payload, ctype = (SSE, "text/event-stream") if stream else (CHAT, "application/json")
                conn.sendall((f"HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {len(payload)}\r\n"
                              "connection: keep-alive\r\n\r\n").encode() + payload)

    def shutdown(self):
        self.running = False
        self.sock.close()


def litellm_workload(base, calls, stream):
    import litellm  # noqa: E402  (imported late: it takes seconds)

    times = []
    for i in range(calls + 20):
        t = time.perf_counter()
        resp = litellm.completion(model="openai/gpt-4o-mini", api_base=base + "/v1", api_key="sk-bench",
                                  messages=[{"role": "user", "content": "Hello!"}], max_tokens=64, stream=stream)
        if stream:
            for _ in resp:
                pass
        else:
            litellm.completion_cost(completion_response=resp)
        if i >= 20:
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "mean_ms": statistics.mean(times),
            "p95_ms": times[len(times) * 95 // 100]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--workload", default="target/release/examples/workload")
    ap.add_argument("--server", choices=["raw", "stdlib"], default="raw",
                    help="raw: a plain socket loop (default); stdlib: http.server, about 10x slower per response")
    args = ap.parse_args()
    try:
        import litellm  # noqa: F401
    except ImportError:
        print("litellm is not installed in this Python: see the docstring", file=sys.stderr)
        return 2
    server = RawServer() if args.server == "raw" else ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cmd = [args.workload, "--api-base", base, "--calls", str(args.calls)] + (["--stream"] if args.stream else [])
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    theirs = litellm_workload(base, args.calls, args.stream)
    server.shutdown()
    print(json.dumps({"server": base, "server_kind": args.server, "calls": args.calls, "stream": args.stream, "llm_rs": ours,
                      "litellm": theirs, "litellm_over_llm_rs_median": theirs["median_ms"] / ours["median_ms"]},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
