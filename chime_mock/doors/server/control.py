"""The control API over HTTP: ``/_chime_mock/...``, JSON in and out.

The same controls as the Python methods of ``ChimeService`` (state, seeding,
journal, faults, meeting lifetime, clock, snapshots), for tests written in any
language.  Each route is a few lines that call the service; the service keeps
every rule (a seeded meeting obeys CreateMeeting's rules, as in-process).

Errors are 4xx in AWS's envelope: an ``x-amzn-ErrorType`` header and a body
``{"Code": ..., "Message": ...}``; a bad field is a 400 ``BadRequest`` naming
it, an unknown meeting, attendee, fault or route a 404 ``NotFound``, a known
route with the wrong method a 405 ``MethodNotAllowed``.  README's "Server
mode" section lists the routes.
"""
from __future__ import annotations

import base64
import datetime
import json
import re
import time
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote

from chime_mock.backend.rules import Attendee, Meeting
from chime_mock.controls.journal import Call, Fault
from chime_mock.ground import strictjson
from chime_mock.ground.accounts import is_account_id
from chime_mock.ground.errors import ChimeMockError, ServiceError
from chime_mock.ground.model import SERVICE_NAME
from chime_mock.doors.server.wire import Answer, error_answer
from chime_mock.protocol.restjson import protocol
from chime_mock.service.config import check_region
from chime_mock.service.pipeline import ChimeService

PREFIX = "/_chime_mock"

#: The deepest a control body may nest (the deepest legitimate one, a
#: snapshot, is under 10 levels): deeper bodies are a 400, refused before
#: anything walks them (a fault's ``Match`` 980 deep used to break every
#: later ``GET faults``).
MAX_DEPTH = strictjson.MAX_DEPTH
#: Pages of the journal, state and faults reads: ``limit`` items by default
#: and at most ``MAX_PAGE``, and no more than about ``PAGE_BYTES`` of JSON
#: (at least one item), so no answer is large enough to hold a worker for a
#: client that does not read it.  ``NextCursor`` (present when more follow)
#: is the ``cursor`` of the next page.
DEFAULT_PAGE = 100
MAX_PAGE = 1000
PAGE_BYTES = 1024 * 1024
#: The largest ``Times`` of a fault (and any control integer): far above any test's need.
MAX_COUNT = 10 ** 9


class ControlError(ChimeMockError):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _bad(message: str) -> ControlError:
    return ControlError(400, "BadRequestException", message)


def _not_found(message: str) -> ControlError:
    return ControlError(404, "NotFoundException", message)


def json_safe(value: Any) -> Any:
    """Parameters and answers as JSON: datetimes as ISO 8601, bytes as base64."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


class ParamMatch(Dict[str, Any]):
    """A fault's ``when=`` predicate from the HTTP form ``"Match": {param: value}``:
    true when every named parameter of the call equals the given value."""

    def __call__(self, params: Dict[str, Any]) -> bool:
        return all(json_safe(params.get(name)) == value for name, value in self.items())


def attendee_json(attendee: Attendee) -> Dict[str, Any]:
    out = attendee.to_wire()
    out["Connected"] = attendee.connected
    return out


def meeting_json(meeting: Meeting) -> Dict[str, Any]:
    out = meeting.to_wire()
    out.update(Account=meeting.account, Region=meeting.region, CreatedAt=meeting.created_at,
               Attendees=[attendee_json(a) for a in meeting.attendees.values()],
               Tags=dict(meeting.tags), Transcription=json_safe(meeting.transcription),
               Replicas=list(meeting.replicas))
    return out


def call_json(call: Call) -> Dict[str, Any]:
    return {"Operation": call.operation, "Params": json_safe(call.params), "Region": call.region,
            "Account": call.account, "RequestId": call.request_id, "Status": call.status,
            "Error": call.error, "ErrorMessage": call.error_message, "Injected": call.injected, "At": call.at}


def fault_json(fault: Fault) -> Dict[str, Any]:
    match: Any = None
    if isinstance(fault.when, ParamMatch):
        match = dict(fault.when)
    elif fault.when is not None:
        match = "<a Python predicate>"
    return {"Id": fault.id, "Error": fault.error, "Operation": fault.operation, "Times": fault.times,
            "Fired": fault.fired, "Match": match, "Message": fault.message, "RetryAfter": fault.retry_after,
            "Members": json_safe(fault.members)}


def _field(body: Dict[str, Any], name: str, kind: Any, what: str, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _bad(f"{name} must be {what}, got {json.dumps(value)}")
    return value


_NUMBER = (int, float)

Handler = Callable[..., Any]


def query_int(query: Dict[str, str], name: str, default: Optional[int], low: int, high: int) -> Optional[int]:
    """The query parameter ``name`` as a whole number in [low, high]: ASCII
    digits only (``²`` is not a digit here), else a 400 naming it."""
    text = query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18) or not low <= int(text) <= high:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise _bad(f"{name} must be a whole number from {low} to {high}, got {shown!r}")
    return int(text)


def only_fields(body: Dict[str, Any], known: Tuple[str, ...], what: str) -> None:
    """A 400 naming the first field of ``body`` that is not one of ``known``."""
    for key in body:
        if key not in known:
            shown = key if len(key) <= 80 else key[:80] + "..."
            listed = f"the fields are {', '.join(known)}" if known else "it takes no fields"
            raise _bad(f"unknown field {shown!r} in {what}; {listed}")


def _paged(items: List[Tuple[Any, Dict[str, Any]]], more: Optional[Any]) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """Cut ``items`` ((cursor of the item, its JSON)) to about PAGE_BYTES of
    JSON (at least one item); the page and the cursor of what follows."""
    out: List[Dict[str, Any]] = []
    size = 0
    for cursor, item in items:
        length = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        if out and size + length > PAGE_BYTES:
            return out, str(cursor)
        out.append(item)
        size += length
    return out, (None if more is None else str(more))


class ControlAPI:
    """Routes ``/_chime_mock/...`` requests to the service's controls."""

    def __init__(self, service: ChimeService) -> None:
        self.service = service
        # (method, path pattern) -> handler(body, query, *path labels)
        raw: List[Tuple[str, str, Handler]] = [
            ("GET", "health", self.health),
            ("POST", "reset", self.reset),
            ("GET", "state", self.state),
            ("POST", "meetings", self.add_meeting),
            ("GET", "meetings/{id}", self.get_meeting),
            ("POST", "meetings/{id}/attendees", self.add_attendee),
            ("POST", "meetings/{id}/end", self.end_meeting),
            ("POST", "meetings/{id}/attendees/{id}/connected", self.set_connected),
            ("GET", "journal", self.journal),
            ("DELETE", "journal", self.clear_journal),
            ("GET", "faults", self.faults),
            ("POST", "faults", self.inject),
            ("DELETE", "faults", self.clear_faults),
            ("DELETE", "faults/{id}", self.remove_fault),
            ("GET", "clock", self.clock),
            ("POST", "clock", self.set_clock),
            ("GET", "snapshot", self.snapshot),
            ("POST", "snapshot", self.restore),
        ]
        raw += self._event_routes()
        self.routes = [(method, re.compile(re.escape(PREFIX + "/" + path).replace(r"\{id\}", "([^/]+)")), fn)
                       for method, path, fn in raw]

    # -- dispatch ---------------------------------------------------------------------
    def answer(self, method: str, target: str, body: bytes) -> Answer:
        path, _, raw_query = target.partition("?")
        path = path.rstrip("/") or path
        query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        request_method = "GET" if method == "HEAD" else method
        try:
            allowed = []
            for route_method, pattern, handler in self.routes:
                match = pattern.fullmatch(path)
                if match is None:
                    continue
                if route_method != request_method:
                    allowed.append(route_method)
                    continue
                labels = [unquote(g) for g in match.groups()]
                data = self._json(body, method)
                result = handler(data, query, *labels)
                return self._ok(result)
            if allowed:
                raise ControlError(405, "MethodNotAllowedException",
                                   f"{method} is not allowed on {path}; use {' or '.join(sorted(set(allowed)))}")
            raise _not_found(f"No control route {method} {path}; the control API lives under "
                             f"{PREFIX}/ (health, reset, state, meetings, journal, faults, clock, snapshot)")
        except ControlError as exc:
            return error_answer(exc.status, exc.error_type, exc.message)
        except ServiceError as exc:  # a seeding call broke the API's rules: the service's own words
            status = 404 if exc.shape == "NotFoundException" else 400
            return error_answer(status, exc.shape, exc.message)
        except (TypeError, ValueError) as exc:  # the service refused an argument: it names it
            return error_answer(400, "BadRequestException", str(exc).replace("()", ""))

    @staticmethod
    def _json(body: bytes, method: str) -> Dict[str, Any]:
        if not body.strip():
            return {}
        try:
            data = strictjson.loads(body)
        except RecursionError:
            raise _bad(f"The request body nests deeper than {MAX_DEPTH} levels") from None
        except (ValueError, UnicodeDecodeError):
            raise _bad("The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _bad(f"The request body must be a JSON object, got {type(data).__name__}")
        if strictjson.depth_problem(data, MAX_DEPTH):
            raise _bad(f"The request body nests deeper than {MAX_DEPTH} levels")
        return data

    @staticmethod
    def _ok(result: Any) -> Answer:
        data = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
        return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))], data

    def _meeting(self, meeting_id: str) -> Meeting:
        meeting = self.service.meeting(meeting_id)
        if meeting is None:
            raise _not_found(f"Meeting <{meeting_id}> not found")
        return meeting

    # -- routes -----------------------------------------------------------------------
    def health(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        import botocore

        from chime_mock.ground.version import __version__
        return {"status": "ok", "service": SERVICE_NAME, "version": __version__,
                "botocore": botocore.__version__}

    def reset(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        only_fields(body, (), "a reset")
        self.service.reset()
        return {}

    def state(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        account = query.get("account") or None
        region = query.get("region") or None
        limit = query_int(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
        assert limit is not None
        after: Optional[Tuple[float, str]] = None
        cursor = query.get("cursor")
        if cursor:
            when, _, after_id = cursor.partition("_")
            try:
                after = (float(when), after_id)
            except ValueError:
                raise _bad(f"cursor {cursor[:80]!r} is not a NextCursor of this route") from None
        service = self.service
        with service.reading():
            # creation order (ties by ID): a cursor stays right while meetings come and go
            ordered = sorted(service.meetings(account=account, region=region),
                             key=lambda m: (m.created_at, m.meeting_id))
            if after is not None:
                ordered = [m for m in ordered if (m.created_at, m.meeting_id) > after]
            items = [(f"{m.created_at!r}_{m.meeting_id}", meeting_json(m)) for m in ordered[:limit]]
            more = f"{ordered[limit - 1].created_at!r}_{ordered[limit - 1].meeting_id}" \
                if len(ordered) > limit else None
        # the cursor of an item cut for size is the one before it
        keys = [None] + [k for k, _ in items]
        page, next_cursor = _paged([(keys[i], item) for i, (_, item) in enumerate(items)], more)
        answer: Dict[str, Any] = {"meetings": page, "now": service.now()}
        if next_cursor is not None:
            answer["NextCursor"] = next_cursor
        return answer

    def get_meeting(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str) -> Dict[str, Any]:
        with self.service.reading():
            return meeting_json(self._meeting(meeting_id))

    def add_meeting(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        fields = dict(body)
        external = _field(fields, "ExternalMeetingId", str, "a string", "seeded-meeting")
        media_region = _field(fields, "MediaRegion", str, "a region name such as 'us-east-1'")
        region = _field(fields, "Region", str, "a region name such as 'us-east-1'")
        account = _field(fields, "Account", str, "12 digits")
        if account is not None and not is_account_id(account):
            raise _bad(f"Account must be 12 ASCII digits, got {json.dumps(account)}")
        if region is not None:
            check_region(region, "Region")
        for name in ("ExternalMeetingId", "MediaRegion", "Region", "Account"):
            fields.pop(name, None)
        op = protocol().operations["CreateMeeting"]
        if op.input_converter is not None:
            fields = op.input_converter(fields)
        meeting = self.service.add_meeting(external_meeting_id=external, media_region=media_region,
                                           region=region, account=account, **fields)
        with self.service.reading():
            return meeting_json(meeting)

    def add_attendee(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str) -> Dict[str, Any]:
        self._meeting(meeting_id)
        only_fields(body, ("ExternalUserId", "Capabilities"), "an attendee")
        user = body.get("ExternalUserId")
        if not isinstance(user, str):
            raise _bad(f"ExternalUserId must be a string, got {json.dumps(user)}")
        capabilities = _field(body, "Capabilities", dict, "an object such as "
                              '{"Audio": "SendReceive", "Video": "None", "Content": "None"}')
        attendee = self.service.add_attendee(meeting_id, user, capabilities)
        return attendee_json(attendee)

    def end_meeting(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str) -> Dict[str, Any]:
        only_fields(body, (), "an end")
        with self.service.reading():
            meeting = self._meeting(meeting_id)
            ended = [meeting.meeting_id] + list(meeting.replicas)
        try:   # outside the read: ending emits events, and their subscribers may call the service
            self.service.end_meeting(meeting_id)
        except LookupError:   # ended meanwhile
            raise _not_found(f"Meeting <{meeting_id}> not found") from None
        return {"Ended": ended}

    def set_connected(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str,
                      attendee_id: str) -> Dict[str, Any]:
        only_fields(body, ("Connected",), "a connection change")
        connected = body.get("Connected", True)
        if not isinstance(connected, bool):
            raise _bad(f"Connected must be true or false, got {json.dumps(connected)}")
        with self.service.reading():
            meeting = self._meeting(meeting_id)
            if attendee_id.lower() not in meeting.attendees:
                raise _not_found(f"Attendee <{attendee_id}> not found")
        try:   # outside the read: joining and leaving emit events
            self.service.set_connected(meeting_id, attendee_id, connected)
        except LookupError:   # removed meanwhile
            raise _not_found(f"Attendee <{attendee_id}> not found") from None
        return {}

    def journal(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        operation = query.get("operation") or None
        ok_text = query.get("ok")
        ok: Optional[bool] = None
        if ok_text:
            if ok_text.lower() not in ("true", "false"):
                raise _bad(f"ok must be true or false, got {ok_text!r}")
            ok = ok_text.lower() == "true"
        last = query_int(query, "last", None, 1, MAX_PAGE)
        limit = query_int(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
        cursor = query_int(query, "cursor", 0, 0, 10 ** 18)
        assert limit is not None and cursor is not None
        journal = self.service.journal
        more: Optional[int] = None
        if last is not None:
            if query.get("cursor"):
                raise _bad("give either last (the newest calls) or cursor (a page), not both")
            found = journal.newest(last, operation, ok=ok)
        else:
            found, more = journal.page(cursor, limit, operation, ok=ok)
        page, next_cursor = _paged([(position, call_json(c)) for position, c in found], more)
        answer: Dict[str, Any] = {"calls": page}
        if next_cursor is not None and last is None:
            answer["NextCursor"] = next_cursor
        return answer

    def clear_journal(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        self.service.journal.clear()
        return {}

    def faults(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        limit = query_int(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
        cursor = query_int(query, "cursor", 0, 0, 10 ** 18)
        assert limit is not None and cursor is not None

        def number(fault: Fault) -> int:
            tail = fault.id.rpartition("-")[2]
            return int(tail) if tail.isdigit() else 0

        rules = [f for f in self.service.faults.rules() if number(f) >= cursor]
        more = number(rules[limit]) if len(rules) > limit else None
        page, next_cursor = _paged([(number(f), fault_json(f)) for f in rules[:limit]], more)
        answer: Dict[str, Any] = {"faults": page}
        if next_cursor is not None:
            answer["NextCursor"] = next_cursor
        return answer

    def inject(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        known = ("Error", "Operation", "Times", "Match", "Message", "RetryAfter", "Members")
        unknown = [k for k in body if k not in known]
        if unknown:
            raise _bad(f"unknown field {unknown[0]!r} in a fault; the fields are {', '.join(known)}")
        error = body.get("Error")
        if not isinstance(error, str):
            raise _bad(f"Error must be the name of a modeled error such as \"ThrottlingException\", "
                       f"got {json.dumps(error)}")
        operation = _field(body, "Operation", str, "an operation name such as \"GetMeeting\"")
        times = body["Times"] if "Times" in body else 1
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or not 1 <= times <= MAX_COUNT):
            shown = json.dumps(times) if not isinstance(times, int) or abs(times) < 10 ** 30 else "a huge number"
            raise _bad(f"Times must be a whole number from 1 to {MAX_COUNT} or null (until removed), got {shown}")
        match = _field(body, "Match", dict, "an object of parameter names and values")
        if match is not None:
            names: List[str] = []
            for op_name in ([operation] if operation else list(protocol().operations)):
                shape = protocol().operations[op_name].input_shape if op_name in protocol().operations else None
                names.extend(shape.members if shape is not None else [])
            wrong = [k for k in match if k not in names]
            if wrong and (operation is None or operation in protocol().operations):
                raise _bad(f"Match names {wrong[0]!r}, which is not a parameter of "
                           f"{operation or 'any operation'}")
        message = _field(body, "Message", str, "a string")
        retry_after = body.get("RetryAfter")
        if isinstance(retry_after, int) and not isinstance(retry_after, bool) and retry_after > MAX_COUNT:
            raise _bad(f"RetryAfter must be a whole number of seconds from 0 to {MAX_COUNT}")
        members = _field(body, "Members", dict, "an object", {})
        try:
            fault = self.service.inject(error, operation, times=times, message=message,
                                        when=ParamMatch(match) if match else None,
                                        retry_after=retry_after, **members)
        except (TypeError, ValueError) as exc:
            text = str(exc)
            for py, http in (("retry_after", "RetryAfter"), ("times", "Times"), ("error ", "Error "),
                             ("operation ", "Operation "), ("message", "Message"), ("inject() got", "Members has")):
                text = text.replace(py, http)
            raise _bad(text) from None
        return fault_json(fault)

    def remove_fault(self, body: Dict[str, Any], query: Dict[str, str], fault_id: str) -> Dict[str, Any]:
        for fault in self.service.faults.rules():
            if fault.id == fault_id:
                self.service.remove_fault(fault)
                return {}
        raise _not_found(f"No active fault {fault_id!r} (exhausted faults are removed by themselves)")

    def clear_faults(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        self.service.faults.clear()
        return {}

    def clock(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        return {"now": self.service.now()}

    def set_clock(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        only_fields(body, ("Advance", "Time"), "a clock change")
        advance = body.get("Advance")
        when = body.get("Time")
        if (advance is None) == (when is None):
            raise _bad('give exactly one of "Advance" (seconds) or "Time" (seconds since the epoch)')
        if advance is not None:
            if isinstance(advance, bool) or not isinstance(advance, _NUMBER):
                raise _bad(f"Advance must be a number of seconds, got {json.dumps(advance)}")
            if advance < 0:
                raise _bad(f"Advance must not be negative (time only moves forward), got {advance}")
            self.service.advance(advance)
        else:
            if isinstance(when, bool) or not isinstance(when, _NUMBER):
                raise _bad(f"Time must be a number of seconds since the epoch, got {json.dumps(when)}")
            self.service.set_time(when)
        ended = self.service.end_due_meetings() if self.service.auto_end else []
        return {"now": self.service.now(), "Ended": ended}

    def snapshot(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        return self.service.snapshot()

    def restore(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        try:
            self.service.restore(body)
        except ValueError as exc:
            raise _bad(f"Not a usable snapshot: {exc}") from None
        return {}


    # -- events, deliveries and what clients do (media) ---------------------------------
    def _event_routes(self) -> List[Tuple[str, str, Handler]]:
        return [
            ("GET", "events", self.events),
            ("DELETE", "events", self.clear_events),
            ("GET", "deliveries", self.deliveries),
            ("POST", "meetings/{id}/join", self.join_by_token),
            ("POST", "meetings/{id}/attendees/{id}/join", self.join),
            ("POST", "meetings/{id}/attendees/{id}/leave", self.leave),
            ("POST", "meetings/{id}/attendees/{id}/drop", self.drop),
            ("POST", "meetings/{id}/attendees/{id}/video", self.video),
            ("POST", "meetings/{id}/attendees/{id}/content", self.content),
        ]

    def events(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        """``{"Events": [envelope...], "Cursor": N}``: the events after ``cursor`` (oldest first, at most
        ``limit``, optionally one ``type`` / ``meeting_id`` / ``attendee_id``); with ``wait``, answers as
        soon as one is there, or after ``wait`` seconds (at most MAX_EVENT_WAIT) with none."""
        cursor = query_int(query, "cursor", 0, 0, 10 ** 18)
        limit = query_int(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
        assert cursor is not None and limit is not None
        wait_text = query.get("wait") or "0"
        try:
            wait = float(wait_text)
        except ValueError:
            wait = -1.0
        if not (0 <= wait <= MAX_EVENT_WAIT) or wait != wait:
            raise _bad(f"wait must be a number of seconds from 0 to {MAX_EVENT_WAIT:g}, got {wait_text!r}")
        kind = (query.get("type") or "").strip()
        kind = kind[len("chime:"):] if kind.startswith("chime:") else kind
        meeting_id = (query.get("meeting_id") or "").lower() or None
        attendee_id = (query.get("attendee_id") or "").lower() or None
        log = self.service.events
        deadline = time.monotonic() + wait
        while True:
            found, cursor_after = log.since(cursor, limit)
            matched = [e for e in found if (not kind or e.type == kind)
                       and (meeting_id is None or e.meeting_id == meeting_id)
                       and (attendee_id is None or (e.attendee_id or "").lower() == attendee_id)]
            left = deadline - time.monotonic()
            if matched or left <= 0:
                return {"Events": [e.envelope() for e in matched], "Cursor": cursor_after}
            if found:          # only events of other kinds: look past them
                cursor = cursor_after
                continue
            log.wait_since(cursor, left)

    def clear_events(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        self.service.events.clear()
        return {}

    def deliveries(self, body: Dict[str, Any], query: Dict[str, str]) -> Dict[str, Any]:
        """``{"Deliveries": [...]}``, oldest first; ``kind`` (eventbridge, sqs, sns, lambda) and
        ``delivered`` (true/false) narrow it."""
        kind = query.get("kind") or None
        if kind is not None and kind not in ("eventbridge", "sqs", "sns", "lambda"):
            raise _bad(f"kind must be eventbridge, sqs, sns or lambda, got {kind!r}")
        delivered_text = (query.get("delivered") or "").lower()
        if delivered_text not in ("", "true", "false"):
            raise _bad(f"delivered must be true or false, got {query.get('delivered')!r}")
        records = [r for r in list(self.service.events.deliveries)
                   if (kind is None or r.kind == kind)
                   and (not delivered_text or r.delivered == (delivered_text == "true"))]
        return {"Deliveries": [{"EventId": r.event_id, "EventType": r.event_type, "Target": r.target,
                                "Kind": r.kind, "Delivered": r.delivered, "Reason": r.reason, "At": r.at}
                               for r in records]}

    def _media(self, action: Callable[[], Any], meeting_id: str, attendee_id: Optional[str]) -> Dict[str, Any]:
        """Run a media action; its refusals in the control API's envelope (404 / 409); answers with the
        attendee as it is now."""
        from chime_mock.ground.errors import MediaConflict, MediaNotFound

        try:
            action()
        except MediaNotFound as exc:
            raise _not_found(str(exc)) from None
        except MediaConflict as exc:
            raise ControlError(409, "ConflictException", str(exc)) from None
        if attendee_id is None:
            return {}
        try:
            connected = {a.attendee_id for a in self.service.connected(meeting_id)}
        except (LookupError, ValueError):  # the meeting ended meanwhile
            return {}
        with self.service.reading():
            meeting = self.service.meeting(meeting_id)
            if meeting is None or attendee_id.lower() not in meeting.attendees:
                return {}
            out = attendee_json(meeting.attendees[attendee_id.lower()])
        out["Connected"] = out["AttendeeId"] in connected
        return out

    def join_by_token(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str) -> Dict[str, Any]:
        only_fields(body, ("JoinToken",), "a join")
        token = body.get("JoinToken")
        if not isinstance(token, str) or not token:
            raise _bad(f"JoinToken must be the attendee's join token (a string), got {json.dumps(token)}")
        attendee_id: Optional[str] = None
        with self.service.reading():
            meeting = self.service.meeting(meeting_id)
            for attendee in (meeting.attendees.values() if meeting is not None else ()):
                if attendee.join_token == token:
                    attendee_id = attendee.attendee_id
        return self._media(lambda: self.service.join(meeting_id, join_token=token), meeting_id, attendee_id)

    def join(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        only_fields(body, (), "this action")
        return self._media(lambda: self.service.join(meeting_id, attendee_id), meeting_id, attendee_id)

    def leave(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        only_fields(body, (), "this action")
        return self._media(lambda: self.service.leave(meeting_id, attendee_id), meeting_id, attendee_id)

    def drop(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        only_fields(body, (), "this action")
        return self._media(lambda: self.service.drop(meeting_id, attendee_id), meeting_id, attendee_id)

    def video(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        only_fields(body, ("On",), "a video switch")
        on = body.get("On")
        if not isinstance(on, bool):
            raise _bad(f"On must be true (start video) or false (stop video), got {json.dumps(on)}")
        service = self.service
        action = (lambda: service.start_video(meeting_id, attendee_id)) if on else \
            (lambda: service.stop_video(meeting_id, attendee_id))
        return self._media(action, meeting_id, attendee_id)

    def content(self, body: Dict[str, Any], query: Dict[str, str], meeting_id: str, attendee_id: str) -> Dict[str, Any]:
        only_fields(body, ("On", "Dropped"), "a content switch")
        on = body.get("On")
        dropped = body.get("Dropped", False)
        if not isinstance(on, bool):
            raise _bad(f"On must be true (start sharing) or false (stop sharing), got {json.dumps(on)}")
        if not isinstance(dropped, bool):
            raise _bad(f"Dropped must be true or false, got {json.dumps(dropped)}")
        if on and dropped:
            raise _bad('Dropped applies to a share that ends: give "On": false with "Dropped": true')
        service = self.service
        if on:
            action: Callable[[], Any] = lambda: service.start_content_share(meeting_id, attendee_id)
        elif dropped:
            action = lambda: service.drop_content_share(meeting_id, attendee_id)
        else:
            action = lambda: service.stop_content_share(meeting_id, attendee_id)
        return self._media(action, meeting_id, attendee_id)


#: The longest a GET /_chime_mock/events long poll waits (seconds).
MAX_EVENT_WAIT = 30.0


__all__ = ["ControlAPI", "MAX_DEPTH", "DEFAULT_PAGE", "MAX_PAGE",
           "ParamMatch", "json_safe", "meeting_json", "call_json", "fault_json"]
