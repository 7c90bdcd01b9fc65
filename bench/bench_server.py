#!/usr/bin/env python
"""chime-mock serve against a hello-world WSGI app on the same waitress.

Run from the repository root (needs waitress; never part of the test suite)::

    python bench/bench_server.py            # 8 slices of 0.6 s per side and cell (about 2 minutes)
    python bench/bench_server.py --quick    # 3 slices of 0.4 s (about 30 s)
    python bench/bench_server.py --opcodes  # Python opcodes per request in a worker thread,
                                            # chime against hello (in-process, no sockets;
                                            # a count the machine's load does not move)

All three servers are ``python -m chime_mock serve --port 0`` processes: the
hello one runs the very same ``serve`` code (same waitress, threads, limits,
channel class and serving loop) with ``make_app`` replaced by a WSGI app
that answers ``200 hello`` to everything, the reference one with the
reference mock of bench/reference.py (a plain app that only makes the
GetMeeting and CreateAttendee answers; shown, no target).  All get the
same request bytes.

The load generator is one closed-loop client process (this one): C
keep-alive connections on one epoll selector, each sending a pre-built
request as soon as its previous answer (read by Content-Length) is complete.
It costs a few microseconds per request, so the servers are what is measured.
Cells run for 1, 8 and 32 connections, GetMeeting and CreateAttendee; in a
cell the three take turns in short slices (order reversed every other
slice), so the slices of one turn see the same machine; ratio = the median of
the per-turn ratios chime rps / hello rps (min-max shown), and the same for
the reference app.

Prints one table and exits 1 when a target is missed: chime at least 0.85 of
hello at 1 and 8 clients (32 is shown, no target).
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from opcount import Counts, count_opcodes   # bench/, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AMZ_DATE = "20250101T000000Z"
ACCOUNT = "123456789012"

class Hello:
    """The hello-world WSGI app the chime app is compared with."""

    in_flight = 0
    body = b"Hello, world!"
    headers = [("Content-Type", "text/plain"), ("Content-Length", "13")]

    def __call__(self, environ: object, start_response: Callable[..., object]) -> List[bytes]:
        start_response("200 OK", self.headers)
        return [self.body]


def launcher(module: str, app: str) -> str:
    """Code that runs ``chime-mock serve`` with ``make_app`` replaced by ``module.app()``
    (a module of bench/): the very same serving code around another WSGI app."""
    return f"""
import sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import chime_mock.doors.server.app as app_module
from chime_mock.doors.server import cli
from {module} import {app}

app_module.make_app = lambda service, **kwargs: {app}()
sys.exit(cli.main(["serve", *sys.argv[1:]]))
"""


HELLO_LAUNCHER = launcher("bench_server", "Hello")
#: The reference mock of bench/reference.py as the app.
REFERENCE_LAUNCHER = launcher("reference", "ReferenceApp")


def auth_header(region: str = "us-east-1") -> str:
    return (f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{AMZ_DATE[:8]}/{region}/chime/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}")


def build_request(method: str, host: str, path: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: {auth_header()}",
             f"X-Amz-Date: {AMZ_DATE}", "User-Agent: chime-mock-bench/2", "Accept-Encoding: identity"]
    if method in ("POST", "PUT") or body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- the load generator ----------------------------------------------------------------------
class Feed:
    """One client's request bytes, in order, remembered across slices (so no
    CreateAttendee repeats an ExternalUserId)."""

    def __init__(self, requests: Sequence[bytes]) -> None:
        self.requests = requests
        self.next = 0

    def take(self) -> bytes:
        request = self.requests[self.next % len(self.requests)]
        self.next += 1
        return request


class Conn:
    __slots__ = ("sock", "buf", "feed")

    def __init__(self, port: int, feed: Feed) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.feed = feed

    def send(self) -> None:
        self.sock.sendall(self.feed.take())   # small requests: the kernel buffer takes them whole

    def answered(self) -> bool:
        """Read what is there; True when one whole answer has arrived."""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
            if len(chunk) < 65536:
                break
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = self.buf[:end]
        if head[9:10] not in (b"2",):
            raise RuntimeError(f"HTTP answer {head[:200]!r} {self.buf[end:end + 300]!r}")
        start = head.lower().find(b"content-length:")
        length = int(head[start + 15:head.find(b"\r\n", start) if head.find(b"\r\n", start) > 0 else None])
        total = end + 4 + length
        if len(self.buf) < total:
            return False
        self.buf = self.buf[total:]
        return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux /proc; 0.0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of all the process's threads (Linux /proc; 0 elsewhere)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/status") as handle:
                for line in handle:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[-1])
        except OSError:   # a thread that ended meanwhile
            continue
    return total


def load(port: int, requests: List[Feed], seconds: float, warmup: float,
         pid: Optional[int] = None, cpu: Optional[List[float]] = None,
         switches: Optional[List[float]] = None) -> float:
    """Closed loop: requests per second over ``seconds`` after ``warmup``
    (and, with ``pid`` and ``cpu``, the server's CPU seconds per request
    appended to ``cpu``: a measure that other load on the machine hardly moves;
    with ``switches``, its threads' context switches per request)."""
    selector = selectors.EpollSelector() if hasattr(selectors, "EpollSelector") else selectors.DefaultSelector()
    conns = [Conn(port, reqs) for reqs in requests]
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        conn.send()
    count = 0
    t_warm = time.perf_counter() + warmup
    began: Optional[float] = None
    cpu_began = 0.0
    switches_began = 0
    deadline = t_warm + seconds
    try:
        while True:
            now = time.perf_counter()
            if began is None and now >= t_warm:
                began, count = now, 0
                cpu_began = cpu_seconds(pid) if pid else 0.0
                switches_began = context_switches(pid) if pid and switches is not None else 0
            if now >= deadline:
                break
            for key, _ in selector.select(1.0):
                conn = key.data
                if conn.answered():
                    count += 1
                    conn.send()
        if pid and cpu is not None and count:
            cpu.append((cpu_seconds(pid) - cpu_began) / count)
        if pid and switches is not None and count:
            switches.append((context_switches(pid) - switches_began) / count)
        return count / (time.perf_counter() - (began or t_warm))
    finally:
        for conn in conns:
            selector.unregister(conn.sock)
            conn.sock.close()
        selector.close()


# -- servers -----------------------------------------------------------------------------------
CHIME_LAUNCHER = r"""
import sys
from chime_mock.doors.server import cli
sys.exit(cli.main(["serve", *sys.argv[1:]]))
"""


def start(code: Optional[str], threads: Optional[int] = None,
          switch_interval: Optional[float] = None) -> Tuple[subprocess.Popen, int]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    argv = ["--port", "0", "--account-id", ACCOUNT] + (["--threads", str(threads)] if threads else [])
    if switch_interval is not None:   # the same interpreter setting in both servers
        code = f"import sys; sys.setswitchinterval({switch_interval!r})\n" + (code or CHIME_LAUNCHER)
    command = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "chime_mock", "serve", *argv]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if "listening on http://" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


def call(port: int, method: str, path: str, body: Optional[dict] = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Authorization": auth_header(), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else {}


def new_meetings(port: int, count: int) -> List[str]:
    return [call(port, "POST", "/meetings", {"ClientRequestToken": f"b-{time.time_ns()}-{i}",
                                             "ExternalMeetingId": f"bench-{i}", "MediaRegion": "us-east-1"})
            ["Meeting"]["MeetingId"] for i in range(count)]


def reset(port: int) -> None:
    call(port, "POST", "/_chime_mock/reset", {})


# -- opcodes per request (in-process) ---------------------------------------------------------
class _Channel:
    """What a waitress ``WSGITask`` uses of its channel and server, without sockets."""

    def __init__(self, application: object) -> None:
        from waitress.adjustments import Adjustments

        self.adj = Adjustments(ident="chime_mock")
        self.server = self
        self.application = application
        self.effective_port = 8080
        self.server_name = "localhost"
        self.addr = ("127.0.0.1", 50000)
        self.connected = True
        self.written: List[bytes] = []

    def write_soon(self, data: bytes) -> int:
        self.written.append(data)
        return len(data)

    def check_client_disconnected(self) -> bool:
        return False


def opcodes(calls: int) -> str:
    """Python opcodes a waitress worker thread runs per request (``WSGITask.service``:
    the environ, the app, start_response, the response head), chime against the
    ``Hello`` app, with the requests the load generator sends;
    and the chime app's functions by their share.  Counted with ``sys.settrace``
    opcode events, so the machine's load does not move it.  The I/O thread's
    part (parsing the request, sending the answer) is the same for both apps and
    left out; the request is parsed outside the count."""
    from waitress.adjustments import Adjustments
    from waitress.parser import HTTPRequestParser
    from waitress.task import WSGITask

    from chime_mock.doors.server import cli

    hello = Hello()
    # the service and app as ``serve`` makes them (journal and event limits, deliveries attached)
    parser = cli.build_parser()
    args = parser.parse_args(["serve", "--port", "0", "--account-id", ACCOUNT])
    service = cli._make_service(args, parser)
    chime = cli._make_app(service, args, parser)[0]
    deliveries = cli._start_deliveries(service, args)
    adj = Adjustments(ident="chime_mock")
    host = "127.0.0.1:8080"

    def task(application: object, request: bytes) -> Tuple[WSGITask, _Channel]:
        """A worker's task for ``request``, parsed as waitress's channel feeds it."""
        parser = HTTPRequestParser(adj)
        while request and not parser.completed:
            request = request[parser.received(request):]
        channel = _Channel(application)
        return WSGITask(channel, parser), channel

    def serve(application: object, request: bytes) -> bytes:
        work, channel = task(application, request)
        work.service()
        return b"".join(channel.written)

    def run(application: object, requests: List[bytes]) -> Counts:
        for request in requests[:2]:                  # warm: caches, the first Host
            serve(application, request)
        tasks = [task(application, request) for request in requests[2:]]
        counts: Counts = {}
        count_opcodes([work.service for work, _ in tasks], counts)
        for _, channel in tasks:
            answer = b"".join(channel.written)
            if answer[9:10] != b"2":
                raise SystemExit(f"--opcodes: {answer[:300]!r}")
        return counts

    def create_meeting() -> str:
        body = json.dumps({"ClientRequestToken": f"o-{time.time_ns()}", "ExternalMeetingId": "opcodes",
                           "MediaRegion": "us-east-1"}).encode()
        answer = serve(chime, build_request("POST", host, "/meetings", body))
        if answer[9:10] != b"2":
            raise SystemExit(f"--opcodes: CreateMeeting answered {answer[:400]!r}")
        return str(json.loads(answer.split(b"\r\n\r\n", 1)[1])["Meeting"]["MeetingId"])

    pkg = os.path.join(ROOT, "chime_mock") + os.sep
    cases = {"GetMeeting": lambda mid: [build_request("GET", host, f"/meetings/{mid}")] * (calls + 2),
             "CreateAttendee": lambda mid: [build_request("POST", host, f"/meetings/{mid}/attendees",
                                                           json.dumps({"ExternalUserId": f"u-{k}"}).encode())
                                            for k in range(calls + 2)]}
    out = [f"\nPython opcodes per request in a waitress worker thread ({calls} requests each; "
           f"WSGITask.service, request parsed outside the count):\n",
           "| operation | hello | chime | chime - hello | of which chime_mock/doors/server | "
           "chime_mock elsewhere |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    tops = []
    for name, make in cases.items():
        requests = make(create_meeting())
        hello_counts = run(hello, requests)
        h = sum(hello_counts.values()) / calls
        chime_counts = run(chime, requests)
        c = sum(chime_counts.values()) / calls
        server = sum(n for (f, _), n in chime_counts.items() if f.startswith(pkg + "doors" + os.sep + "server"))
        own = sum(n for (f, _), n in chime_counts.items() if f.startswith(pkg))
        out.append(f"| {name} | {h:,.0f} | {c:,.0f} | {c - h:,.0f} | {server / calls:,.0f} | "
                   f"{(own - server) / calls:,.0f} |")
        tops.append((name, chime_counts, hello_counts))
    for name, chime_counts, hello_counts in tops:
        out.append(f"\n{name}: functions by opcodes per request, chime side minus hello side\n")
        diff = {key: n - hello_counts.get(key, 0) for key, n in chime_counts.items()}
        for (filename, func), n in sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:30]:
            if not n:
                break
            shown = os.path.relpath(filename, ROOT) if filename.startswith(ROOT) else \
                "/".join(filename.split(os.sep)[-2:])
            out.append(f"    {n / calls:8.1f}  {shown} {func}")
    deliveries.close(timeout=0)
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 slices of 0.4 s per side and cell")
    parser.add_argument("--seconds", type=float, help="timed seconds per slice (default 0.6, --quick 0.4)")
    parser.add_argument("--rounds", type=int, help="slices per side and cell (default 8, --quick 3)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--ops", nargs="+", default=["GetMeeting", "CreateAttendee"], choices=["GetMeeting", "CreateAttendee"])
    parser.add_argument("--threads", type=int, help="worker threads of both servers (serve --threads; default 8)")
    parser.add_argument("--switch-interval", type=float, metavar="S",
                        help="sys.setswitchinterval(S) in both servers (Python's default 0.005), to study the GIL")
    parser.add_argument("--opcodes", action="store_true",
                        help="print Python opcodes per request in a worker thread, chime against hello "
                             "(in-process, no servers), and stop")
    parser.add_argument("--calls", type=int, default=200, help="requests counted by --opcodes (default 200)")
    args = parser.parse_args(argv)
    if args.opcodes:
        print(opcodes(args.calls))
        return 0
    seconds = args.seconds or (0.4 if args.quick else 0.6)
    rounds = args.rounds or (3 if args.quick else 8)
    warmup = 0.15

    procs: Dict[str, "subprocess.Popen[str]"] = {}
    ports: Dict[str, int] = {}
    pids: Dict[str, int] = {}
    results: Dict[Tuple[str, int, str], List[float]] = {}
    cpu: Dict[Tuple[str, int, str], List[float]] = {}
    switches: Dict[Tuple[str, int, str], List[float]] = {}
    t0 = time.perf_counter()
    try:
        for side, code in (("chime", None), ("hello", HELLO_LAUNCHER), ("reference", REFERENCE_LAUNCHER)):
            procs[side], ports[side] = start(code, args.threads, args.switch_interval)
            pids[side] = procs[side].pid
        chime_port = ports["chime"]
        host = f"127.0.0.1:{chime_port}"
        for clients in args.clients:
            for op in args.ops:
                reset(chime_port)
                if op == "GetMeeting":
                    mid = new_meetings(chime_port, 1)[0]
                    request = build_request("GET", host, f"/meetings/{mid}")
                    feeds = [Feed([request]) for _ in range(clients)]
                else:
                    # Enough distinct attendees for every slice of the cell (<= 240 per meeting).
                    need = int(6000 * (seconds + warmup) * rounds) + 1000
                    per_client = -(-need // clients)
                    pool = new_meetings(chime_port, -(-(per_client * clients) // 240))
                    feeds = [Feed([build_request("POST", host, f"/meetings/{pool[(c * per_client + k) // 240]}"
                                                 "/attendees", json.dumps({"ExternalUserId": f"u-{c}-{k}"}).encode())
                                   for k in range(per_client)]) for c in range(clients)]
                side_feeds = {"chime": feeds, "reference": [Feed(f.requests) for f in feeds]}
                # Slices: the three servers take turns, the order reversed every other slice.
                for slice_no in range(rounds):
                    order = ["chime", "hello", "reference"]
                    if slice_no % 2:
                        order.reverse()
                    for side in order:
                        results.setdefault((op, clients, side), []).append(
                            load(ports[side], side_feeds.get(side) or [Feed([f.requests[0]]) for f in feeds],
                                 seconds, warmup, pids[side], cpu.setdefault((op, clients, side), []),
                                 switches.setdefault((op, clients, side), [])))
            print(f"{clients} client(s) done", file=sys.stderr)
    finally:
        for proc in procs.values():
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    fails: List[str] = []
    print(f"## chime-mock serve vs hello-world WSGI on the same waitress\n\n{os.cpu_count()} CPUs, {rounds} "
          f"slice(s) of {seconds:g} s per side and cell, one closed-loop epoll client process; rps = median over slices"
          + (f"; --threads {args.threads}" if args.threads else "")
          + (f"; switch interval {args.switch_interval:g} s" if args.switch_interval is not None else "") + ".\n")
    print("| measure | chime rps | hello rps | measured (ratio, min-max) | target | result | reference mock / hello "
          "(info) | server CPU us/request chime / hello / reference | context switches/request chime / hello |")
    print("| --- | ---: | ---: | --- | --- | --- | --- | --- | --- |")
    for op in args.ops:
        for clients in args.clients:
            c, h = results[(op, clients, "chime")], results[(op, clients, "hello")]
            ratios = [x / y for x, y in zip(c, h)]
            r = statistics.median(ratios)
            target = clients in (1, 8)
            verdict = ("PASS" if r >= 0.85 else "FAIL") if target else ""
            if verdict == "FAIL":
                fails.append(f"{op} at {clients} clients")
            ref = statistics.median([x / y for x, y in zip(results[(op, clients, "reference")], h)])
            cc, hc, rc = (cpu.get((op, clients, side)) or [0.0] for side in ("chime", "hello", "reference"))
            print(f"| {op}, {clients} client(s) | {statistics.median(c):,.0f} | {statistics.median(h):,.0f} | "
                  f"{r:.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {'>= 0.85' if target else '(info)'} | {verdict} | "
                  f"{ref:.2f} | "
                  f"{statistics.median(cc) * 1e6:.0f} / {statistics.median(hc) * 1e6:.0f} / "
                  f"{statistics.median(rc) * 1e6:.0f} | "
                  f"{statistics.median(switches.get((op, clients, 'chime')) or [0.0]):.1f} / "
                  f"{statistics.median(switches.get((op, clients, 'hello')) or [0.0]):.1f} |")
    print(f"\nTotal {time.perf_counter() - t0:.0f} s.  Targets: "
          f"{'all met' if not fails else 'missed: ' + '; '.join(fails)}.")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
