#!/usr/bin/env python
"""Soak test of ``chime-mock serve``: a long mixed load, then the figures.

Run from the repository root (needs the server extra and boto3)::

    python bench/soak.py                  # 10 minutes
    python bench/soak.py --seconds 180    # 3 minutes

What runs
* One server, ``python -m chime_mock serve --port 0`` bound to 127.0.0.1
  only, with ``--state`` in a temporary folder (periodic saving on) and the
  default journal limit.  Nothing else is contacted.
* 8 clients (threads), each looping over a mix of API calls through boto3
  (CreateMeeting, CreateAttendee x2, GetMeeting, ListAttendees,
  DeleteMeeting) and control calls (``GET state?limit=20``,
  ``GET journal?last=20``, inject and remove a fault, ``GET clock``,
  ``GET health``); one meeting in a thousand is kept, so the saved state
  holds something.  Every answer must be the expected one: anything else
  is an error.
* 1 slow sender: sends a CreateMeeting request a few bytes at a time (a
  request takes about 3 s to send), over and over; its answers must be 200.
* 1 slow reader: pipelines journal reads and reads the answers a little at
  a time (1 KB every 50 ms).

It stops by itself: after ``--seconds`` or when every client did
``--max-requests`` calls.  The server's RSS, open file descriptors and
threads are sampled from /proc (Linux) after a warm-up (the journal
fills up to its limit first) and at the end.  Then the server is stopped
(SIGTERM, so it saves its state) and a new server loads the saved state:
the meetings must be the same.

Exit code 0 when there were no errors, RSS grew less than 10% after the
warm-up and the state loaded again; else 1.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from chime_mock.doors.server.client import ChimeMockClient, ServerProcess  # noqa: E402


def proc_figures(pid: int) -> Dict[str, int]:
    """RSS (KB), open fds and threads of a process (Linux /proc)."""
    out = {"rss_kb": -1, "fds": -1, "threads": -1}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    out["rss_kb"] = int(line.split()[1])
                elif line.startswith("Threads:"):
                    out["threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


class Run:
    def __init__(self, deadline: float, max_requests: int) -> None:
        self.deadline = deadline
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.latencies: List[float] = []
        self.errors: List[str] = []
        self.calls = 0
        self.stop = threading.Event()

    def over(self) -> bool:
        return self.stop.is_set() or time.monotonic() >= self.deadline

    def record(self, seconds: float) -> None:
        with self.lock:
            self.calls += 1
            if len(self.latencies) < 2_000_000:
                self.latencies.append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def client_loop(index: int, url: str, run: Run) -> None:
    chime = boto3.client("chime-sdk-meetings", region_name="us-east-1", endpoint_url=url,
                         aws_access_key_id="testing", aws_secret_access_key="testing",
                         config=Config(retries={"max_attempts": 0}))
    control = ChimeMockClient(url, timeout=60)
    done = 0

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # every failure is an error of the run
            run.error(f"client {index} {name}: {type(exc).__name__}: {exc}"[:300])
            return None
        run.record(time.perf_counter() - start)
        return result

    while not run.over() and done < run.max_requests:
        token = f"soak-{index}-{done}"
        created = timed("CreateMeeting", chime.create_meeting, ClientRequestToken=token,
                        MediaRegion="us-east-1", ExternalMeetingId=token)
        done += 1
        if created is None:
            continue
        meeting_id = created["Meeting"]["MeetingId"]
        for who in ("a", "b"):
            timed("CreateAttendee", chime.create_attendee, MeetingId=meeting_id, ExternalUserId=f"{token}-{who}")
        timed("GetMeeting", chime.get_meeting, MeetingId=meeting_id)
        listed = timed("ListAttendees", chime.list_attendees, MeetingId=meeting_id)
        if listed is not None and len(listed["Attendees"]) != 2:
            run.error(f"client {index}: ListAttendees gave {len(listed['Attendees'])} attendees, not 2")
        state = timed("state", control._call, "GET", "state", query={"limit": 20})
        if state is not None and len(state["meetings"]) > 20:
            run.error(f"client {index}: a state page of {len(state['meetings'])} meetings")
        timed("journal", control.journal, limit=20)
        fault = timed("inject", control.inject, "NotFoundException", "GetMeeting",
                      match={"MeetingId": f"never-{token}"})
        if fault is not None:
            timed("remove_fault", control.remove_fault, fault)
        timed("clock", control.clock)
        timed("health", control.health)
        if done % 11000 != 1:  # keep one meeting in a thousand, so the saved state has something in it
            timed("DeleteMeeting", chime.delete_meeting, MeetingId=meeting_id)
        done += 10


def slow_sender(url: str, run: Run, counts: Dict[str, int]) -> None:
    parts = urlsplit(url)
    number = 0
    while not run.over():
        number += 1
        body = json.dumps({"ClientRequestToken": f"slow-{number}", "MediaRegion": "us-east-1",
                           "ExternalMeetingId": f"slow-{number}"}).encode()
        request = (f"POST /meetings HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                   f"Connection: close\r\n\r\n").encode() + body
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
                step = max(1, len(request) // 30)
                for offset in range(0, len(request), step):
                    sock.sendall(request[offset:offset + step])
                    time.sleep(0.1)
                answer = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
        except OSError as exc:
            run.error(f"slow sender: {exc}")
            continue
        if not answer.startswith(b"HTTP/1.1 200"):
            run.error(f"slow sender: {answer[:80]!r}")
        else:
            counts["slow_sent"] += 1
            meeting_id = json.loads(answer.partition(b"\r\n\r\n")[2])["Meeting"]["MeetingId"]
            try:
                ChimeMockClient(url).end_meeting(meeting_id)
            except Exception as exc:
                run.error(f"slow sender cleanup: {exc}")


def slow_reader(url: str, run: Run, counts: Dict[str, int]) -> None:
    parts = urlsplit(url)
    request = (f"GET /_chime_mock/journal?limit=200 HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\n\r\n").encode()
    last = (f"GET /_chime_mock/journal?limit=200 HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\n"
            f"Connection: close\r\n\r\n").encode()
    while not run.over():
        try:
            with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.sendall(request * 3 + last)    # the server closes after the 4th answer
                got = 0
                while not run.over():
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    got += len(chunk)
                    counts["slow_read_bytes"] += len(chunk)
                    time.sleep(0.05)
                    if got > 4 * 1024 * 1024:
                        break
        except OSError as exc:
            # the server may drop a reader that stalls; this one reads, so it should not
            run.error(f"slow reader: {exc}")
            time.sleep(1)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run (default 600)")
    parser.add_argument("--clients", type=int, default=8, help="API+control clients (default 8)")
    parser.add_argument("--max-requests", type=int, default=10_000_000, help="per client (a bound besides time)")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before the RSS baseline (default: a quarter of the run, 30 to 120)")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 24 * 3600:
        parser.error("--seconds must be between 1 and 86400")
    warmup = args.warmup if args.warmup is not None else min(120.0, max(30.0, args.seconds / 4))
    warmup = min(warmup, args.seconds / 2)

    folder = tempfile.mkdtemp(prefix="chime-soak-")
    state = os.path.join(folder, "state.json")
    server = ServerProcess(["--state", state, "--save-interval", "2"])
    pid = server.process.pid
    print(f"soak: server {server.url} pid {pid}, {args.seconds:g} s, {args.clients} clients + 1 slow sender "
          f"+ 1 slow reader; warm-up {warmup:g} s", flush=True)
    first = proc_figures(pid)
    start = time.monotonic()
    run = Run(start + args.seconds, args.max_requests)
    counts = {"slow_sent": 0, "slow_read_bytes": 0}
    threads = [threading.Thread(target=client_loop, args=(i, server.url, run), daemon=True)
               for i in range(args.clients)]
    threads.append(threading.Thread(target=slow_sender, args=(server.url, run, counts), daemon=True))
    threads.append(threading.Thread(target=slow_reader, args=(server.url, run, counts), daemon=True))
    for thread in threads:
        thread.start()
    baseline: Optional[Dict[str, int]] = None
    samples = []
    try:
        while any(t.is_alive() for t in threads[:args.clients]) and not run.over():
            time.sleep(min(5.0, max(0.1, run.deadline - time.monotonic())))
            elapsed = time.monotonic() - start
            figures = proc_figures(pid)
            samples.append((round(elapsed), figures["rss_kb"]))
            if baseline is None and elapsed >= warmup:
                baseline = figures
                print(f"soak: baseline at {elapsed:.0f} s: {figures}", flush=True)
            if len(samples) % 6 == 0:
                print(f"soak: {elapsed:.0f} s, {run.calls} calls, {len(run.errors)} errors, {figures}", flush=True)
    except KeyboardInterrupt:
        print("soak: interrupted", flush=True)
    run.stop.set()
    for thread in threads:
        thread.join(90)
    elapsed = time.monotonic() - start
    end = proc_figures(pid)
    baseline = baseline or first
    meetings_before = sorted(m["MeetingId"] for m in server.client.meetings())
    code = server.stop()
    loaded_ok = False
    with ServerProcess(["--state", state]) as again:
        loaded_ok = sorted(m["MeetingId"] for m in again.client.meetings()) == meetings_before
    latencies = sorted(run.latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    growth = (end["rss_kb"] - baseline["rss_kb"]) / baseline["rss_kb"] * 100 if baseline["rss_kb"] > 0 else 0.0
    report = {
        "seconds": round(elapsed, 1), "calls": run.calls, "calls_per_second": round(run.calls / elapsed, 1),
        "errors": len(run.errors), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
        "slow_sender_requests": counts["slow_sent"], "slow_reader_bytes": counts["slow_read_bytes"],
        "rss_kb": {"start": first["rss_kb"], "after_warmup": baseline["rss_kb"], "end": end["rss_kb"]},
        "rss_growth_after_warmup_percent": round(growth, 1),
        "fds": {"start": first["fds"], "after_warmup": baseline["fds"], "end": end["fds"]},
        "threads": {"start": first["threads"], "after_warmup": baseline["threads"], "end": end["threads"]},
        "server_exit_code": code, "state_loaded_again": loaded_ok, "meetings_saved": len(meetings_before),
    }
    print(json.dumps(report, indent=2))
    for text in run.errors[:10]:
        print("error:", text)
    ok = not run.errors and growth < 10 and loaded_ok and code == 0
    print("soak:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
