#!/usr/bin/env python
"""chime_mock server benchmark: requests per second and p50/p99 latency of
``chime-mock serve`` against ``moto_server``, side by side in one run.

Run from the repository root (needs ``pip install "moto[server]"`` and the
server extra)::

    python bench/bench_server.py                 # 3 rounds of 3 s per cell
    python bench/bench_server.py --seconds 1 --rounds 1   # a quick look

What runs
* chime_mock: ``python -m chime_mock serve --port 0`` (its own process).
* moto: ``moto_server -H 127.0.0.1 -p PORT`` (its own process).
* Both bind loopback only; the clients talk to nothing else.

What is compared: Chime SDK Meetings has no moto backend, so the moto side
uses the rest-json service whose calls have the same HTTP shape: AWS IoT.
- read:  chime ``GetMeeting`` (GET /meetings/{MeetingId}) against moto IoT
  ``DescribeThing`` (GET /things/{thingName}): a GET of one stored record by
  a path parameter, no body, a small JSON answer.
- write: chime ``CreateAttendee`` (POST /meetings/{MeetingId}/attendees,
  JSON body) against moto IoT ``CreateThing`` (POST /things/{thingName},
  JSON body): both store a new record with generated IDs/ARN and answer it.
  Attendees are spread over a pool of meetings so no meeting reaches its
  250-attendee limit; every answer must be a 2xx or the run stops.
(moto's ``ivs`` GetChannel/CreateChannel, used by bench.py, is rest-json too
but reads by POSTing a JSON body; IoT's DescribeThing is the closer read.)

The clients: 1 and 8 concurrent clients, each a separate process (no GIL
shared between clients) holding one keep-alive HTTP/1.1 connection and
sending prebuilt request bytes carrying a fake SigV4 ``Authorization``
header (neither server checks signatures; both read the credential scope),
then reading the answer by its Content-Length.  A client costs a few
microseconds per request, so the servers, not the clients, are measured.
Each cell runs a warm-up then ``--seconds`` of timed requests (bounded by
``--max-requests`` per client too); cells alternate chime_mock/moto so both
see the same machine.  Throughput is the median over the rounds; latency
percentiles pool every request of every round.

Targets (issue 9): chime_mock at least 2x moto_server's throughput at both
concurrencies, and p99 under 5 ms at 8 clients, on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from array import array
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AMZ_DATE = "20250101T000000Z"
FAKE_SIGNATURE = "0" * 64
CHIME_ACCOUNT = "123456789012"


def auth_header(service: str, region: str = "us-east-1") -> str:
    return (f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{AMZ_DATE[:8]}/{region}/{service}/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={FAKE_SIGNATURE}")


def build_request(method: str, host: str, path: str, service: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: {auth_header(service)}",
             f"X-Amz-Date: {AMZ_DATE}", "User-Agent: chime-mock-bench/1", "Accept-Encoding: identity"]
    if method in ("POST", "PUT") or body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection: send bytes, read one answer."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: Optional[socket.socket] = None
        self.connects = 0
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(self.address, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.connects += 1

    def round_trip(self, request: bytes) -> Tuple[int, bytes]:
        if self.sock is None:  # the server closed the last one (moto_server: "Connection: close")
            self._connect()
        assert self.sock is not None
        self.sock.sendall(request)
        buffer = self.buffer
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            buffer += chunk
        head = buffer[:end].decode("latin-1")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise ConnectionError("chunked answers are not expected here")
        start = end + 4
        while len(buffer) < start + length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection mid-answer")
            buffer += chunk
        body = buffer[start:start + length]
        self.buffer = buffer[start + length:]
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# -- the workloads: a function (client index, request number) -> request bytes ----------------
Workload = Callable[[int, int], bytes]


def chime_get(host: str, meeting_id: str) -> Workload:
    request = build_request("GET", host, f"/meetings/{meeting_id}", "chime")
    return lambda client, n: request


def chime_create_attendee(host: str, pools: Sequence[Sequence[str]]) -> Workload:
    def make(client: int, n: int) -> bytes:
        meetings = pools[client]
        body = json.dumps({"ExternalUserId": f"bench-{client}-{n}"}).encode()
        return build_request("POST", host, f"/meetings/{meetings[n % len(meetings)]}/attendees", "chime", body)
    return make


def moto_get(host: str, thing: str) -> Workload:
    request = build_request("GET", host, f"/things/{thing}", "iot")
    return lambda client, n: request


def moto_create(host: str, tag: str) -> Workload:
    def make(client: int, n: int) -> bytes:
        body = json.dumps({"attributePayload": {"attributes": {"bench": "1"}}}).encode()
        return build_request("POST", host, f"/things/bench-{tag}-{client}-{n}", "iot", body)
    return make


def client_process(port: int, workload: Workload, client: int, warmup: float, seconds: float,
                   max_requests: int, start: "mp.synchronize.Event", out: "mp.Queue") -> None:
    try:
        conn = Connection("127.0.0.1", port)
        latencies = array("d")
        n = 0
        start.wait(30)
        t_end_warm = time.perf_counter() + warmup
        while time.perf_counter() < t_end_warm and n < max_requests:
            status, body = conn.round_trip(workload(client, n))
            if status >= 300:
                raise RuntimeError(f"HTTP {status} during warm-up: {body[:300]!r}")
            n += 1
        began = time.perf_counter()
        deadline = began + seconds
        perf = time.perf_counter
        while n < max_requests:
            request = workload(client, n)
            t0 = perf()
            status, body = conn.round_trip(request)
            t1 = perf()
            if status >= 300:
                raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
            latencies.append(t1 - t0)
            n += 1
            if t1 >= deadline:
                break
        elapsed = perf() - began
        conn.close()
        out.put((client, elapsed, latencies.tobytes(), None))
    except BaseException as exc:  # report, never hang the parent
        out.put((client, 0.0, b"", f"{type(exc).__name__}: {exc}"))


def run_cell(port: int, workload: Workload, clients: int, warmup: float, seconds: float,
             max_requests: int) -> Tuple[float, array]:
    """Requests per second (all clients together) and every latency (seconds)."""
    ctx = mp.get_context("fork")
    start = ctx.Event()
    out: "mp.Queue" = ctx.Queue()
    procs = [ctx.Process(target=client_process, args=(port, workload, i, warmup, seconds, max_requests, start, out))
             for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(0.2)
    start.set()
    results = [out.get(timeout=warmup + seconds + 60) for _ in procs]
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
    errors = [r[3] for r in results if r[3]]
    if errors:
        raise SystemExit(f"benchmark client failed: {errors[0]}")
    latencies = array("d")
    rps = 0.0
    for _, elapsed, raw, _ in results:
        mine = array("d")
        mine.frombytes(raw)
        latencies.extend(mine)
        rps += len(mine) / elapsed
    return rps, latencies


# -- the servers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chime(extra: Sequence[str] = ()) -> Tuple[subprocess.Popen, int]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-m", "chime_mock", "serve", "--port", "0",
                             "--account-id", CHIME_ACCOUNT, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    prefix = "chime_mock listening on http://"
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"chime-mock serve did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def start_moto() -> Tuple[subprocess.Popen, int]:
    exe = shutil.which("moto_server")
    if exe is None:
        raise SystemExit("moto_server not found: pip install 'moto[server]'")
    port = free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("moto_server exited at start")
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("moto_server did not answer within 60 s")


def call(port: int, method: str, path: str, service: str, body: Optional[dict] = None) -> dict:
    conn = Connection("127.0.0.1", port)
    data = json.dumps(body).encode() if body is not None else b""
    status, answer = conn.round_trip(build_request(method, f"127.0.0.1:{port}", path, service, data))
    conn.close()
    if status >= 300:
        raise SystemExit(f"setup call {method} {path} failed: HTTP {status} {answer[:300]!r}")
    return json.loads(answer) if answer else {}


def chime_meetings(port: int, count: int) -> List[str]:
    ids = []
    for i in range(count):
        answer = call(port, "POST", "/meetings", "chime", {
            "ClientRequestToken": f"bench-{time.time_ns()}-{i}", "ExternalMeetingId": f"bench-{i}",
            "MediaRegion": "us-east-1"})
        ids.append(answer["Meeting"]["MeetingId"])
    return ids


def chime_reset(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_chime_mock/reset", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[index]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per cell (default 3)")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per cell (default 0.5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every cell (default 3)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="concurrencies (default 1 8)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="cap per client per cell")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--serve-args", default="", help="extra arguments for chime-mock serve, e.g. '--threads 4'")
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 60 and 0 <= args.warmup <= 10 and 1 <= args.rounds <= 10):
        parser.error("--seconds 0-60, --warmup 0-10, --rounds 1-10")

    chime_proc, chime_port = start_chime(args.serve_args.split())
    moto_proc, moto_port = start_moto()
    try:
        chime_host, moto_host = f"127.0.0.1:{chime_port}", f"127.0.0.1:{moto_port}"
        target = chime_meetings(chime_port, 1)[0]
        call(moto_port, "POST", "/things/bench-target", "iot", {"attributePayload": {"attributes": {"a": "b"}}})
        per_client_cap = args.max_requests

        results: Dict[Tuple[str, int, str], Dict[str, List]] = {}

        def record(key, rps, lat):
            slot = results.setdefault(key, {"rps": [], "lat": array("d")})
            slot["rps"].append(rps)
            slot["lat"].extend(lat)

        for round_no in range(args.rounds):
            for clients in args.clients:
                order = ["chime", "moto"] if round_no % 2 == 0 else ["moto", "chime"]
                for side in order:
                    if side == "chime":
                        record(("read", clients, "chime"),
                               *run_cell(chime_port, chime_get(chime_host, target), clients, args.warmup,
                                         args.seconds, per_client_cap))
                    else:
                        record(("read", clients, "moto"),
                               *run_cell(moto_port, moto_get(moto_host, "bench-target"), clients, args.warmup,
                                         args.seconds, per_client_cap))
                for side in order:
                    if side == "chime":
                        chime_reset(chime_port)
                        target = chime_meetings(chime_port, 1)[0]
                        # Enough meetings that nobody reaches 250 attendees within the cap.
                        per_client = max(1, min(400 // clients, -(-per_client_cap // 240)))
                        pool = chime_meetings(chime_port, per_client * clients)
                        pools = [pool[i::clients] for i in range(clients)]
                        cap = min(per_client_cap, per_client * 240)
                        record(("write", clients, "chime"),
                               *run_cell(chime_port, chime_create_attendee(chime_host, pools), clients,
                                         args.warmup, args.seconds, cap))
                    else:
                        record(("write", clients, "moto"),
                               *run_cell(moto_port, moto_create(moto_host, f"r{round_no}"), clients,
                                         args.warmup, args.seconds, per_client_cap))
                print(f"round {round_no + 1}/{args.rounds}, {clients} client(s) done", file=sys.stderr)
    finally:
        for proc in (chime_proc, moto_proc):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    names = {"read": ("GetMeeting", "DescribeThing"), "write": ("CreateAttendee", "CreateThing")}
    rows = []
    for kind in ("read", "write"):
        for clients in args.clients:
            cell = {}
            for side in ("chime", "moto"):
                slot = results[(kind, clients, side)]
                lat = sorted(slot["lat"])
                cell[side] = {"rps": statistics.median(slot["rps"]), "p50_ms": percentile(lat, 0.50) * 1e3,
                              "p99_ms": percentile(lat, 0.99) * 1e3, "requests": len(lat)}
            rows.append({"operation": names[kind][0], "moto_operation": names[kind][1], "clients": clients,
                         "chime": cell["chime"], "moto": cell["moto"],
                         "ratio": cell["chime"]["rps"] / cell["moto"]["rps"]})

    print(f"\nchime-mock serve vs moto_server, loopback, {os.cpu_count()} CPUs, "
          f"{args.rounds} round(s) x {args.seconds:g} s per cell; throughput = median over rounds\n")
    header = (f"| {'operation (moto: IoT)':<34} | clients | chime_mock req/s | p50 ms | p99 ms "
              f"| moto req/s | p50 ms | p99 ms | ratio |")
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for r in rows:
        c, m = r["chime"], r["moto"]
        label = f"{r['operation']} ({r['moto_operation']})"
        print(f"| {label:<34} | {r['clients']:>7} | {c['rps']:>16,.0f} | {c['p50_ms']:>6.2f} | {c['p99_ms']:>6.2f} "
              f"| {m['rps']:>10,.0f} | {m['p50_ms']:>6.2f} | {m['p99_ms']:>6.2f} | {r['ratio']:>4.1f}x |")
    worst_ratio = min(r["ratio"] for r in rows)
    p99_8 = [r["chime"]["p99_ms"] for r in rows if r["clients"] == 8]
    print(f"\ntargets: throughput >= 2x moto_server at every concurrency: "
          f"{'met' if worst_ratio >= 2 else 'NOT met'} (lowest {worst_ratio:.1f}x)", end="")
    if p99_8:
        print(f"; p99 < 5 ms at 8 clients: {'met' if max(p99_8) < 5 else 'NOT met'} "
              f"(highest {max(p99_8):.2f} ms)")
    else:
        print()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
