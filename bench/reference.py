"""The reference mock: a plain ``before-send`` mock that only makes its answers.

``bench.py`` times it beside chime_mock and the floors, and ``bench_server.py``
serves it as a WSGI app (``ReferenceApp``) beside ``chime-mock serve`` and
hello-world, so that a target can be read against what is possible at all.  It answers GetMeeting,
CreateMeeting, CreateAttendee, ListAttendees, BatchCreateAttendee and
CreateMeetingWithAttendees with answers of the same shape and size as
chime_mock's (the same MediaPlacement URL formats, IDs, join tokens), and
keeps its meetings and attendees in dicts, as any mock that answers a later
read must.  It does nothing else: no checks of the request beyond reading it,
no idempotency tokens, no journal, no events, no limits, no locks, no error
answers.  Its work is written for speed: one kept C JSON encoder, the IDs
from ``random.getrandbits``, a meeting's GetMeeting bytes and each listed
attendee's JSON kept.  It is a yardstick, not a proof: a mock that must do
more can still beat it where it keeps more (chime_mock's ListAttendees
keeps a page's text), but a target below its ratio asks for a mock that
does less than answer.
"""
from __future__ import annotations

import base64
import itertools
import json
import json.encoder
import random
from typing import Any, Callable, Dict, List, Optional

from botocore.awsrequest import AWSResponse

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_c_make = getattr(json.encoder, "c_make_encoder", None)
if _c_make is not None:
    _C = _c_make(None, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)

    def _dumps_text(value: Any) -> str:
        return "".join(_C(value, 0))
else:   # pragma: no cover - a Python without the C accelerator
    def _dumps_text(value: Any) -> str:
        return _encoder.encode(value)


def _dumps(value: Any) -> bytes:
    return _dumps_text(value).encode()


_CAPS = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
ACCOUNT = "123456789012"


class Body:
    """What ``AWSResponse.raw`` must offer botocore: the body, whole."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body

    def read(self, *_: Any) -> bytes:
        return self.body


class Ref:
    """A stored meeting or attendee as ``bench.py``'s preparers read it."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


class ReferenceMock:
    """Handlers for ``before-send.chime-sdk-meetings``, for clients of us-east-1."""

    region = "us-east-1"

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.meetings: Dict[str, Dict[str, Any]] = {}
        self._answer: Dict[str, Callable[[Any], bytes]] = {
            "GetMeeting": self._get_meeting, "CreateMeeting": self._create_meeting,
            "CreateAttendee": self._create_attendee, "ListAttendees": self._list_attendees,
            "BatchCreateAttendee": self._batch_create_attendee,
            "CreateMeetingWithAttendees": self._create_meeting_with_attendees,
        }

    OPERATIONS = ("GetMeeting", "CreateMeeting", "CreateAttendee", "ListAttendees", "BatchCreateAttendee",
                  "CreateMeetingWithAttendees")

    def reset(self) -> None:
        self.meetings.clear()

    # -- what bench.py's preparers call (as on a chime_mock handle) --------------------------
    def add_meeting(self, external_meeting_id: str) -> Ref:
        meeting = self._new_meeting({"ExternalMeetingId": external_meeting_id, "MediaRegion": self.region})
        return self._ref(meeting["Meeting"]["MeetingId"])

    def add_attendee(self, meeting_id: str, external_user_id: str) -> Ref:
        attendee = self._new_attendee(self.meetings[meeting_id], external_user_id)
        return Ref(attendee_id=attendee["AttendeeId"])

    def _ref(self, meeting_id: str) -> Ref:
        entry = self.meetings[meeting_id]
        return Ref(meeting_id=meeting_id, attendees=entry["attendees"], meeting_arn=entry["Meeting"]["MeetingArn"])

    # -- the handler --------------------------------------------------------------------------
    def before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        body = self._answer[event_name[event_name.rfind(".") + 1:]](request)
        headers = {"x-amzn-RequestId": self._uuid(), "Content-Type": "application/json",
                   "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, Body(body))

    # -- state ----------------------------------------------------------------------------------
    def _uuid(self) -> str:
        h = "%032x" % self.random.getrandbits(128)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"

    def _new_meeting(self, p: Dict[str, Any], meeting_id: Optional[str] = None) -> Dict[str, Any]:
        mid = meeting_id or self._uuid()
        region = self.region
        base = f"m{1 + self.random.getrandbits(16) % 3}.ue1.app.chime.aws"
        screen = f"wss://bitpw.{base}:443/v2/screen/{mid}"
        meeting = {
            "MeetingId": mid, "ExternalMeetingId": p["ExternalMeetingId"], "MediaRegion": p["MediaRegion"],
            "MediaPlacement": {
                "AudioHostUrl": f"{self.random.getrandbits(128):032x}.k.{base}:3478",
                "AudioFallbackUrl": f"wss://wss.k.{base}:443/calls/{mid}",
                "SignalingUrl": f"wss://signal.{base}/control/{mid}",
                "TurnControlUrl": f"https://{mid[-4:]}.cell.{region}.meetings.chime.aws/v2/turn_sessions",
                "ScreenDataUrl": screen,
                "ScreenViewingUrl": f"wss://bitpw.{base}:443/ws/connect?passcode=null&viewer_uuid=null"
                                    f"&X-BitHub-Call-Id={mid}",
                "ScreenSharingUrl": screen,
                "EventIngestionUrl": "https://data.svc.ue1.ingest.chime.aws/v1/client-events"},
            "TenantIds": [],
            "MeetingArn": f"arn:aws:chime:{region}:{ACCOUNT}:meeting/{mid}",
        }
        entry = self.meetings[mid] = {"Meeting": meeting, "attendees": {}, "texts": {}, "bytes": None}
        return entry

    def _new_attendee(self, entry: Dict[str, Any], external_user_id: str,
                      capabilities: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
        aid = self._uuid()
        token = base64.b64encode(f"{aid}:{self._uuid()}".encode()).rstrip(b"=").decode()
        attendee = {"ExternalUserId": external_user_id, "AttendeeId": aid, "JoinToken": token,
                    "Capabilities": capabilities or _CAPS}
        entry["attendees"][aid] = attendee
        return attendee

    @staticmethod
    def _meeting_id(request: Any, from_end: int) -> str:
        url: str = request.url
        return url.split("?", 1)[0].split("/")[-from_end]

    # -- the answers ---------------------------------------------------------------------------
    def _get_meeting(self, request: Any) -> bytes:
        entry = self.meetings[self._meeting_id(request, 1)]
        data: Optional[bytes] = entry["bytes"]
        if data is None:
            data = entry["bytes"] = _dumps({"Meeting": entry["Meeting"]})
        return data

    def _create_meeting(self, request: Any) -> bytes:
        return _dumps({"Meeting": self._new_meeting(json.loads(request.body))["Meeting"]})

    def _create_attendee(self, request: Any) -> bytes:
        p = json.loads(request.body)
        entry = self.meetings[self._meeting_id(request, 2)]
        return _dumps({"Attendee": self._new_attendee(entry, p["ExternalUserId"], p.get("Capabilities"))})

    def _list_attendees(self, request: Any) -> bytes:
        url = request.url
        query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&")) if "?" in url else {}
        size = int(query.get("max-results", 10))
        start = int(query.get("next-token", 0))
        entry = self.meetings[self._meeting_id(request, 2)]
        attendees, texts = entry["attendees"], entry["texts"]
        parts = []
        for attendee in itertools.islice(attendees.values(), start, start + size):
            text = texts.get(attendee["AttendeeId"])     # an attendee's JSON, written once
            if text is None:
                text = texts[attendee["AttendeeId"]] = _dumps_text(attendee)
            parts.append(text)
        more = f',"NextToken":"{start + size}"' if start + size < len(attendees) else ""
        return f'{{"Attendees":[{",".join(parts)}]{more}}}'.encode()

    def _batch_create_attendee(self, request: Any) -> bytes:
        p = json.loads(request.body)
        entry = self.meetings[self._meeting_id(request, 2)]
        return _dumps({"Attendees": [self._new_attendee(entry, item["ExternalUserId"], item.get("Capabilities"))
                                     for item in p["Attendees"]], "Errors": []})

    def _create_meeting_with_attendees(self, request: Any) -> bytes:
        p = json.loads(request.body)
        entry = self._new_meeting(p)
        attendees: List[Dict[str, Any]] = [self._new_attendee(entry, item["ExternalUserId"], item.get("Capabilities"))
                                           for item in p["Attendees"]]
        return _dumps({"Meeting": entry["Meeting"], "Attendees": attendees, "Errors": []})


class ReferenceApp:
    """The reference mock as a WSGI app, for ``bench_server.py``: GetMeeting
    (``GET /meetings/{id}``) and CreateAttendee (``POST /meetings/{id}/attendees``),
    the two operations that bench sends.  A meeting ID it does not know (the
    bench names meetings the chime server made) becomes a meeting of its own
    on first use."""

    def __init__(self) -> None:
        self.mock = ReferenceMock()

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = Ref(url=path, body=environ["wsgi.input"].read(length) if length else b"")
        parts = path.split("/")
        operation = "GetMeeting" if method == "GET" and len(parts) == 3 else \
            "CreateAttendee" if method == "POST" and len(parts) == 4 and parts[3] == "attendees" else None
        if operation is None or parts[1] != "meetings":
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        if parts[2] not in self.mock.meetings:
            self.mock._new_meeting({"ExternalMeetingId": "reference", "MediaRegion": self.mock.region}, parts[2])
        body = self.mock._answer[operation](request)
        start_response("200 OK", [("x-amzn-RequestId", self.mock._uuid()), ("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
