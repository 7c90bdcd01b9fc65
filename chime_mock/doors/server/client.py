"""A small Python client of the control API of a ``chime-mock serve`` server.

    from chime_mock.client import ChimeMockClient

    mock = ChimeMockClient("http://127.0.0.1:4666")
    meeting = mock.add_meeting(ExternalMeetingId="standup")
    mock.inject("ThrottlingException", operation="GetMeeting", times=2)
    assert mock.journal(operation="CreateMeeting") == []

Every method is one route of ``/_chime_mock/`` and returns its JSON answer
(a dict or list).  An error answer raises ``ChimeMockClientError`` carrying
the HTTP status, ``code`` and ``message``.  Only the standard library is used.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, cast
from urllib.parse import quote, urlencode

from chime_mock.ground.errors import ChimeMockError


class ChimeMockClientError(ChimeMockError):
    """The control API answered with an error (``status``, ``code``, ``message``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ChimeMockClient:
    """The control API of the server at ``url`` (``http://host:port``)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"url must be the server's address such as 'http://127.0.0.1:4666', got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        # Straight to the server: a proxy from the environment must not see (or refuse) loopback calls.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"ChimeMockClient({self.url!r})"

    def _call(self, method: str, path: str, body: Any = None, query: Optional[Dict[str, Any]] = None,
              timeout: Optional[float] = None) -> Any:
        url = f"{self.url}/_chime_mock/{path}"
        if query:
            pairs = {k: ("true" if v is True else "false" if v is False else v)
                     for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urlencode(pairs)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self.timeout if timeout is None else timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                detail = json.loads(payload)
                code, message = detail.get("Code", "Error"), detail.get("Message", "")
            except (ValueError, AttributeError):
                code, message = "Error", payload.decode("utf-8", "replace")
            raise ChimeMockClientError(error.code, code, message) from None
        return json.loads(payload) if payload else None

    def _all(self, path: str, key: str, query: Dict[str, Any]) -> Dict[str, Any]:
        """Every page of a paged read (``NextCursor``), joined under ``key``."""
        answer = cast(Dict[str, Any], self._call("GET", path, query=query))
        items = list(answer[key])
        pages = 1
        while answer.get("NextCursor") is not None and pages < 1_000_000:
            answer = cast(Dict[str, Any], self._call("GET", path, query=dict(query, cursor=answer["NextCursor"])))
            items.extend(answer[key])
            pages += 1
        answer[key] = items
        answer.pop("NextCursor", None)
        return answer

    # -- server and state ---------------------------------------------------------------
    def health(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], self._call("GET", "health"))

    def reset(self) -> None:
        """Forget every meeting, the journal, the fault rules and any clock change."""
        self._call("POST", "reset")

    def state(self, *, account: Optional[str] = None, region: Optional[str] = None) -> Dict[str, Any]:
        """``{"meetings": [...], "now": seconds}``, optionally of one account and/or region."""
        return self._all("state", "meetings", {"account": account, "region": region, "limit": 1000})

    def meetings(self, *, account: Optional[str] = None, region: Optional[str] = None) -> List[Dict[str, Any]]:
        return cast(List[Dict[str, Any]], self.state(account=account, region=region)["meetings"])

    def meeting(self, meeting_id: str) -> Dict[str, Any]:
        """One live meeting with its attendees, tags, transcription and replicas (404 if gone)."""
        return cast(Dict[str, Any], self._call("GET", f"meetings/{quote(meeting_id, safe='')}"))

    def add_meeting(self, **fields: Any) -> Dict[str, Any]:
        """Seed a meeting under CreateMeeting's rules; ``fields`` are CreateMeeting's
        members (``ExternalMeetingId``, ``MediaRegion``, ``Tags``...) plus ``Region``
        and ``Account``."""
        return cast(Dict[str, Any], self._call("POST", "meetings", fields))

    def add_attendee(self, meeting_id: str, external_user_id: str,
                     capabilities: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"ExternalUserId": external_user_id}
        if capabilities is not None:
            body["Capabilities"] = capabilities
        return cast(Dict[str, Any], self._call("POST", f"meetings/{quote(meeting_id, safe='')}/attendees", body))

    def end_meeting(self, meeting_id: str) -> List[str]:
        """End a meeting as the service does on its own; returns the IDs ended (replicas too)."""
        return cast(List[str], self._call("POST", f"meetings/{quote(meeting_id, safe='')}/end")["Ended"])

    def set_connected(self, meeting_id: str, attendee_id: str, connected: bool = True) -> None:
        self._call("POST", f"meetings/{quote(meeting_id, safe='')}/attendees/{quote(attendee_id, safe='')}"
                   f"/connected", {"Connected": connected})

    # -- journal ---------------------------------------------------------------------------
    def journal(self, operation: Optional[str] = None, *, ok: Optional[bool] = None,
                limit: Optional[int] = None) -> List[Dict[str, Any]]:
        """Calls answered (those the journal still holds), oldest first
        (``limit``: only the newest N, at most 1000)."""
        query: Dict[str, Any] = {"operation": operation, "ok": ok}
        if limit is not None:
            if limit == 0:
                return []
            answer = self._call("GET", "journal", query=dict(query, last=limit))
            return cast(List[Dict[str, Any]], answer["calls"])
        return cast(List[Dict[str, Any]], self._all("journal", "calls", dict(query, limit=1000))["calls"])

    def clear_journal(self) -> None:
        self._call("DELETE", "journal")

    # -- faults ----------------------------------------------------------------------------
    def faults(self) -> List[Dict[str, Any]]:
        return cast(List[Dict[str, Any]], self._all("faults", "faults", {"limit": 1000})["faults"])

    def inject(self, error: str, operation: Optional[str] = None, *, times: Optional[int] = 1,
               match: Optional[Dict[str, Any]] = None, message: Optional[str] = None,
               retry_after: Optional[int] = None, **members: Any) -> Dict[str, Any]:
        """Fail matching calls with a modeled error (``times=None``: until removed);
        ``match`` fires only for calls whose parameters have these values."""
        body: Dict[str, Any] = {"Error": error, "Times": times}
        for key, value in (("Operation", operation), ("Match", match), ("Message", message),
                           ("RetryAfter", retry_after), ("Members", members or None)):
            if value is not None:
                body[key] = value
        return cast(Dict[str, Any], self._call("POST", "faults", body))

    def remove_fault(self, fault: Any) -> None:
        """Remove a fault by its ``Id`` (or the dict ``inject`` returned)."""
        fault_id = fault["Id"] if isinstance(fault, dict) else fault
        self._call("DELETE", f"faults/{quote(str(fault_id), safe='')}")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    # -- clock -----------------------------------------------------------------------------
    def clock(self) -> float:
        return cast(float, self._call("GET", "clock")["now"])

    def advance(self, seconds: float) -> Dict[str, Any]:
        """Move the clock forward; ``{"now": ..., "Ended": [...]}`` (auto-end ends what is due)."""
        return cast(Dict[str, Any], self._call("POST", "clock", {"Advance": seconds}))

    def set_time(self, timestamp: float) -> Dict[str, Any]:
        return cast(Dict[str, Any], self._call("POST", "clock", {"Time": timestamp}))

    # -- snapshots -------------------------------------------------------------------------
    def snapshot(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], self._call("GET", "snapshot"))

    def restore(self, snapshot: Dict[str, Any]) -> None:
        self._call("POST", "snapshot", snapshot)

    # -- events, deliveries, what clients do -------------------------------------------------
    def events(self, cursor: int = 0, wait: float = 0, *, limit: Optional[int] = None, type: Optional[str] = None,
               meeting_id: Optional[str] = None, attendee_id: Optional[str] = None) -> Dict[str, Any]:
        """``{"Events": [event...], "Cursor": N}``: the events after ``cursor`` (AWS's EventBridge
        envelopes, oldest first); with ``wait`` (seconds, at most 30) the server answers as soon as
        one is there.  Pass the answer's ``Cursor`` to the next call."""
        query = {"cursor": cursor, "wait": wait or None, "limit": limit, "type": type,
                 "meeting_id": meeting_id, "attendee_id": attendee_id}
        return cast(Dict[str, Any], self._call("GET", "events", query=query,
                                               timeout=self.timeout + float(wait or 0)))

    def wait_for_event(self, type: str, timeout: float = 10.0, *, cursor: int = 0,
                       meeting_id: Optional[str] = None, attendee_id: Optional[str] = None) -> Dict[str, Any]:
        """The first event of ``type`` (``"AttendeeJoined"``) after ``cursor``, waiting up to
        ``timeout`` seconds; ``TimeoutError`` if none comes."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            answer = self.events(cursor, max(0.0, min(left, 30.0)), type=type, meeting_id=meeting_id,
                                 attendee_id=attendee_id)
            if answer["Events"]:
                return cast(Dict[str, Any], answer["Events"][0])
            cursor = answer["Cursor"]
            if left <= 0:
                raise TimeoutError(f"no {type} event within {timeout} seconds")

    def clear_events(self) -> None:
        self._call("DELETE", "events")

    def deliveries(self, *, kind: Optional[str] = None, delivered: Optional[bool] = None) -> List[Dict[str, Any]]:
        """Each delivery of an event (EventBridge, SQS, SNS, Lambda), oldest first, with its outcome."""
        answer = self._call("GET", "deliveries", query={"kind": kind, "delivered": delivered})
        return cast(List[Dict[str, Any]], answer["Deliveries"])

    def _media(self, meeting_id: str, attendee_id: str, action: str, body: Optional[Dict[str, Any]] = None
               ) -> Dict[str, Any]:
        path = f"meetings/{quote(meeting_id, safe='')}/attendees/{quote(attendee_id, safe='')}/{action}"
        return cast(Dict[str, Any], self._call("POST", path, body or {}))

    def join(self, meeting_id: str, attendee_id: Optional[str] = None, *,
             join_token: Optional[str] = None) -> Dict[str, Any]:
        """The attendee's client joins the meeting's media (by AttendeeId, or by the JoinToken it presents)."""
        if (attendee_id is None) == (join_token is None):
            raise TypeError("give either attendee_id or join_token")
        if join_token is not None:
            return cast(Dict[str, Any], self._call("POST", f"meetings/{quote(meeting_id, safe='')}/join",
                                                   {"JoinToken": join_token}))
        return self._media(meeting_id, cast(str, attendee_id), "join")

    def leave(self, meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        return self._media(meeting_id, attendee_id, "leave")

    def drop(self, meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        """The attendee's connection drops (no packets); the service sends AttendeeDropped."""
        return self._media(meeting_id, attendee_id, "drop")

    def video(self, meeting_id: str, attendee_id: str, on: bool = True) -> Dict[str, Any]:
        return self._media(meeting_id, attendee_id, "video", {"On": on})

    def content(self, meeting_id: str, attendee_id: str, on: bool = True, *, dropped: bool = False) -> Dict[str, Any]:
        """Start (``on``) or stop a content share; ``dropped=True`` with ``on=False``: the share drops."""
        body: Dict[str, Any] = {"On": on}
        if dropped:
            body["Dropped"] = True
        return self._media(meeting_id, attendee_id, "content", body)


# Variables that would make an AWS SDK or the CLI in a subprocess use real
# credentials or another endpoint instead of the server.
_AWS_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
              "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
              "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def client_env(url: str, *, region: str = "us-east-1", access_key_id: str = "testing",
               base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """An environment for a subprocess (AWS CLI, Node, Go...) whose AWS SDK
    should talk to the server at ``url``: ``base`` (default ``os.environ``)
    without profiles or session credentials, plus the service's endpoint
    variable, fake credentials and a region.  A 12-digit ``access_key_id``
    acts as that account."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _AWS_UNSET}
    env.update(AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS=url, AWS_ACCESS_KEY_ID=access_key_id,
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=region, AWS_REGION=region,
               AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="",
               # stated, not just unset: a config file's ignore_configured_endpoint_urls = true
               # would otherwise send the SDK to AWS instead of the server
               AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="false")
    return env


class ServerProcess:
    """A ``chime-mock serve`` subprocess on a free loopback port.

    ``url``, ``client`` (a ``ChimeMockClient``), ``env`` (see ``client_env``),
    ``process``; ``stop()`` ends it with SIGTERM (clean shutdown) and returns
    its exit code.  Also a context manager.
    """

    def __init__(self, args: Sequence[str] = (), *, timeout: float = 60.0, python: Optional[str] = None) -> None:
        # The folder that holds the chime_mock package (this file is chime_mock/doors/server/client.py).
        package_parent = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        env.pop("PYTHONSTARTUP", None)
        self._log = tempfile.TemporaryFile()
        self._final_log = ""
        command = [python or sys.executable, "-m", "chime_mock", "serve", "--port", "0", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, env=env)
        line: List[bytes] = []
        stdout = self.process.stdout
        assert stdout is not None  # stdout=PIPE
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        first = line[0].decode("utf-8", "replace").strip() if line else ""
        prefix = "chime_mock listening on "
        if not first.startswith(prefix):
            self.process.kill()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            log = self.log()
            self._log.close()
            raise RuntimeError(f"chime-mock serve did not start (first line {first!r}); "
                               f"its stderr:\n{log}")
        self.url = first[len(prefix):]
        self.client = ChimeMockClient(self.url)
        self.env = client_env(self.url)

    def log(self) -> str:
        """What the server wrote on stderr so far (until ``stop()``, which keeps the last of it)."""
        if self._log.closed:
            return self._final_log
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self._log.closed:
            self._final_log = self.log()
            self._log.close()
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ServerProcess({self.url!r})"


__all__ = ["ChimeMockClient", "ChimeMockClientError", "ServerProcess", "client_env"]
