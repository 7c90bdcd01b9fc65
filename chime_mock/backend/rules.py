"""The in-memory Chime SDK Meetings service: plain Python objects and rules.

Nothing here knows HTTP or botocore.  Each public operation method takes a
``CallContext`` (account, control region) and the request's parameters as the
model names them, and returns the output members as a dict, or raises a
``ServiceError``.  Every operation checks all its rules before it changes
anything, under one lock, so a rejected request changes nothing and
concurrent callers see each operation whole.

Behaviour follows docs/behaviour.md; a decision number in a comment (D1...)
is the section of that name there (``docs/behaviour.md#d1``...).
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from botocore import xform_name

from chime_mock.ground import regions
from chime_mock.ground.errors import BadRequest, LimitExceeded, NotFound, ResourceNotFound, ServiceError, TooManyTags
from chime_mock.ground.ids import IdGenerator
from chime_mock.protocol.validation import bad_request, violation

DEFAULT_ACCOUNT = "123456789012"
MAX_ATTENDEES = 250            # hard limit per meeting (D10)
HIGH_RES_MAX_ATTENDEES = 25    # with FHD video or UHD content
MAX_TAGS = 50
DEFAULT_PAGE_SIZE = 10         # D15
MEETING_MAX_AGE = 24 * 3600    # seconds; meetings end after 24 hours
IDLE_TIMEOUT = 5 * 60          # seconds without anyone connected

SEND_RECEIVE = "SendReceive"
_RECEIVING = ("SendReceive", "Receive")

# The ExternalUserId / ExternalMeetingId pattern the service documents (it is
# not in the model's ``pattern`` field, so the backend enforces it).
EXTERNAL_ID_PATTERN = r"[-_&@+=,(){}\[\]\/«».:|'\"#a-zA-Z0-9À-ÿ\s]*"
_EXTERNAL_ID = re.compile(EXTERNAL_ID_PATTERN, re.ASCII)  # Java semantics: \s is ASCII whitespace
_MEETING_ARN = re.compile(r"arn:(aws[a-z-]*):chime:([a-z0-9-]+):(\d{12}):meeting/(.+)")


def _validation(field_name: str, constraint: str, value: Optional[str] = None) -> BadRequest:
    return bad_request([violation(field_name, constraint, value)])


def external_id_problem(value: str) -> Optional[str]:
    """Why ``value`` is not a valid external ID, or None (doc pattern, ``aws:``)."""
    if _EXTERNAL_ID.fullmatch(value) is None:
        return f"Member must satisfy regular expression pattern: {EXTERNAL_ID_PATTERN}"
    if value[:4].lower() == "aws:":
        return "Member must not begin with the reserved prefix 'aws:' (case insensitive)"
    return None


@dataclass(frozen=True)
class CallContext:
    account: str
    region: str


@dataclass
class Quotas:
    """Quotas an AWS account can raise (D11).  ``None`` means not enforced;
    ``Quotas.aws_defaults()`` gives the values AWS starts accounts with."""

    active_meetings: Optional[int] = None
    replicas_per_primary: Optional[int] = None
    requests_per_second: Optional[int] = None

    @classmethod
    def aws_defaults(cls) -> "Quotas":
        return cls(active_meetings=250, replicas_per_primary=4, requests_per_second=10)


@dataclass(eq=False)
class Attendee:
    attendee_id: str
    external_user_id: str
    join_token: str
    capabilities: Dict[str, str]
    seq: int = 0
    connected: bool = False

    def to_wire(self) -> Dict[str, Any]:
        return {
            "ExternalUserId": self.external_user_id,
            "AttendeeId": self.attendee_id,
            "JoinToken": self.join_token,
            "Capabilities": dict(self.capabilities),
        }


_MEETING_WIRE_FIELDS = frozenset((
    "meeting_id", "account", "region", "external_meeting_id", "media_region", "media_placement",
    "meeting_host_id", "meeting_features", "primary_meeting_id", "tenant_ids",
))


@dataclass(eq=False)
class Meeting:
    meeting_id: str
    account: str
    region: str
    external_meeting_id: str
    media_region: str
    media_placement: Dict[str, str]
    client_request_token: str
    created_at: float
    meeting_host_id: Optional[str] = None
    meeting_features: Optional[Dict[str, Any]] = None
    primary_meeting_id: Optional[str] = None
    tenant_ids: List[str] = field(default_factory=list)
    notifications_configuration: Optional[Dict[str, Any]] = None
    media_placement_network_type: Optional[str] = None
    tags: Dict[str, str] = field(default_factory=dict)
    transcription: Optional[Dict[str, Any]] = None
    attendees: Dict[str, Attendee] = field(default_factory=dict)
    by_external_id: Dict[str, Attendee] = field(default_factory=dict)
    replicas: List[str] = field(default_factory=list)
    # creation-ordered attendee sequence numbers, for stable paging (D15)
    _seqs: List[int] = field(default_factory=list, repr=False)
    _by_seq: Dict[int, Attendee] = field(default_factory=dict, repr=False)
    _next_seq: int = field(default=1, repr=False)
    # the last moment somebody was connected (or creation), for idle expiry
    last_occupied_at: float = 0.0
    _wire: Optional[Dict[str, Any]] = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _MEETING_WIRE_FIELDS:
            object.__setattr__(self, "_wire", None)

    @property
    def meeting_arn(self) -> str:
        return f"arn:{regions.partition(self.region)}:chime:{self.region}:{self.account}:meeting/{self.meeting_id}"

    @property
    def max_attendees(self) -> int:
        features = self.meeting_features or {}
        cap = (features.get("Attendee") or {}).get("MaxCount")
        return min(cap, MAX_ATTENDEES) if cap else MAX_ATTENDEES

    def resolution(self, kind: str) -> str:
        default = "HD" if kind == "Video" else "FHD"
        features = self.meeting_features or {}
        return (features.get(kind) or {}).get("MaxResolution") or default

    @property
    def wire(self) -> Dict[str, Any]:
        """The API's ``Meeting`` object, built once and shared: read-only.
        (Every member is fixed at creation; assigning one rebuilds it.)"""
        wire = self._wire
        if wire is None:
            wire = {
                "MeetingId": self.meeting_id,
                "ExternalMeetingId": self.external_meeting_id,
                "MediaRegion": self.media_region,
                "MediaPlacement": dict(self.media_placement),
                "TenantIds": list(self.tenant_ids),
                "MeetingArn": self.meeting_arn,
            }
            if self.meeting_host_id is not None:
                wire["MeetingHostId"] = self.meeting_host_id
            if self.meeting_features is not None:
                wire["MeetingFeatures"] = copy.deepcopy(self.meeting_features)
            if self.primary_meeting_id is not None:
                wire["PrimaryMeetingId"] = self.primary_meeting_id
            object.__setattr__(self, "_wire", wire)
        return wire

    def to_wire(self) -> Dict[str, Any]:
        """The API's ``Meeting`` object (a copy you may change)."""
        return copy.deepcopy(self.wire)

    # -- attendee bookkeeping ----------------------------------------------
    def add_attendee(self, attendee: Attendee) -> None:
        attendee.seq = self._next_seq
        self._next_seq += 1
        self.attendees[attendee.attendee_id] = attendee
        self.by_external_id[attendee.external_user_id] = attendee
        self._seqs.append(attendee.seq)
        self._by_seq[attendee.seq] = attendee

    def remove_attendee(self, attendee: Attendee) -> None:
        del self.attendees[attendee.attendee_id]
        if self.by_external_id.get(attendee.external_user_id) is attendee:
            del self.by_external_id[attendee.external_user_id]
        index = bisect_right(self._seqs, attendee.seq) - 1
        del self._seqs[index]
        del self._by_seq[attendee.seq]

    def page_after(self, last_seq: int, size: int) -> Tuple[List[Attendee], Optional[int]]:
        start = bisect_right(self._seqs, last_seq)
        seqs = self._seqs[start:start + size]
        more = start + size < len(self._seqs)
        return [self._by_seq[s] for s in seqs], (seqs[-1] if more else None)


class RegionState:
    """Everything one account holds in one control region (D7)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.meetings: Dict[str, Meeting] = {}
        self.tokens: Dict[str, str] = {}   # ClientRequestToken -> MeetingId (D1)


class ChimeBackend:
    """All state of the mocked service, keyed by (account, control region)."""

    def __init__(self, ids: Optional[IdGenerator] = None, quotas: Optional[Quotas] = None,
                 clock: Optional[Callable[[], float]] = None, lock: Any = None) -> None:
        self.ids = ids or IdGenerator()
        self.quotas = quotas or Quotas()
        # Read ``time.time`` at call time so freezegun & co. are honoured.
        self.clock: Callable[[], float] = clock or (lambda: time.time())
        self.lock = lock if lock is not None else threading.RLock()
        self.states: Dict[Tuple[str, str], RegionState] = {}
        self._token_secret = self.ids.bits(128).to_bytes(16, "big")
        self._handlers: Dict[str, Callable[[CallContext, Dict[str, Any]], Optional[Dict[str, Any]]]] = {}

    # -- dispatch ------------------------------------------------------------
    def handler(self, operation: str) -> Optional[Callable[[CallContext, Dict[str, Any]], Optional[Dict[str, Any]]]]:
        """The method answering ``operation`` (``GetMeeting`` -> ``get_meeting``)."""
        found = self._handlers.get(operation)
        if found is None:
            name = xform_name(operation)
            found = getattr(self, "op_" + name, None)
            if found is not None:
                self._handlers[operation] = found
        return found

    def state(self, account: str, region: str) -> RegionState:
        key = (account, region)
        state = self.states.get(key)
        if state is None:
            state = self.states.setdefault(key, RegionState(account, region))
        return state

    def reset(self) -> None:
        with self.lock:
            self.states.clear()

    # -- lookups -------------------------------------------------------------
    def _meeting(self, ctx: CallContext, meeting_id: str) -> Meeting:
        state = self.states.get((ctx.account, ctx.region))
        meeting = state.meetings.get(meeting_id.lower()) if state else None
        if meeting is None:
            raise NotFound(f"Meeting <{meeting_id}> not found")
        return meeting

    def _attendee(self, meeting: Meeting, attendee_id: str) -> Attendee:
        attendee = meeting.attendees.get(attendee_id.lower())
        if attendee is None:
            raise NotFound(f"Attendee <{attendee_id}> not found")
        return attendee

    def iter_meetings(self) -> Iterable[Meeting]:
        for state in list(self.states.values()):
            yield from list(state.meetings.values())

    def find_meeting(self, meeting_id: str) -> Optional[Meeting]:
        for state in self.states.values():
            meeting = state.meetings.get(meeting_id.lower())
            if meeting is not None:
                return meeting
        return None

    # -- capability rules (docs/behaviour.md#capabilities) -------------------------------
    @staticmethod
    def default_capabilities(meeting: Meeting) -> Dict[str, str]:
        video_off = meeting.resolution("Video") == "None"
        content_off = meeting.resolution("Content") == "None"
        if video_off and content_off:
            return {"Audio": SEND_RECEIVE, "Video": "None", "Content": "None"}
        if video_off:
            return {"Audio": SEND_RECEIVE, "Video": "Receive", "Content": SEND_RECEIVE}
        if content_off:
            return {"Audio": SEND_RECEIVE, "Video": SEND_RECEIVE, "Content": "None"}
        return {"Audio": SEND_RECEIVE, "Video": SEND_RECEIVE, "Content": SEND_RECEIVE}

    @staticmethod
    def capability_problem(meeting: Meeting, caps: Dict[str, str]) -> Optional[str]:
        """Why ``caps`` is not allowed in ``meeting``, or None."""
        if caps["Content"] in _RECEIVING and caps["Video"] not in _RECEIVING:
            return (f"Invalid capabilities: Content capability '{caps['Content']}' requires the Video "
                    f"capability to be SendReceive or Receive, not '{caps['Video']}'")
        for kind in ("Video", "Content"):
            if meeting.resolution(kind) == "None" and caps[kind] != "None":
                return (f"Invalid capabilities: the meeting's MeetingFeatures.{kind}.MaxResolution is None, "
                        f"so the {kind} capability must be None, not '{caps[kind]}'")
        return None

    def _capabilities_for(self, meeting: Meeting, requested: Optional[Dict[str, str]]) -> Dict[str, str]:
        if requested is None:
            return self.default_capabilities(meeting)
        caps = {"Audio": requested["Audio"], "Video": requested["Video"], "Content": requested["Content"]}
        problem = self.capability_problem(meeting, caps)
        if problem:
            raise BadRequest(problem)
        return caps

    # -- meetings --------------------------------------------------------------
    def _check_meeting_request(self, ctx: CallContext, state: RegionState, p: Dict[str, Any]) -> Optional[Meeting]:
        """All CreateMeeting rules; returns the primary meeting for a replica."""
        media_region = p["MediaRegion"]
        if not regions.is_media_region(media_region, ctx.region):
            raise _validation("mediaRegion", "Member must be one of the available media regions: "
                              + ", ".join(sorted(regions.MEDIA_REGIONS)), media_region)
        if regions.partition(media_region) != regions.partition(ctx.region):
            raise BadRequest(f"MediaRegion {media_region} is not available from the {ctx.region} "
                             f"control region: meetings stay within one partition")
        for name, field_name in (("ExternalMeetingId", "externalMeetingId"), ("MeetingHostId", "meetingHostId")):
            value = p.get(name)
            if value is not None:
                problem = external_id_problem(value)
                if problem:
                    raise _validation(field_name, problem)
        features = p.get("MeetingFeatures") or {}
        high_res = [
            text for text, on in (
                ("Video.MaxResolution FHD", (features.get("Video") or {}).get("MaxResolution") == "FHD"),
                ("Content.MaxResolution UHD", (features.get("Content") or {}).get("MaxResolution") == "UHD"),
            ) if on
        ]
        if high_res:
            max_count = (features.get("Attendee") or {}).get("MaxCount")
            if max_count is None:
                raise BadRequest(f"MeetingFeatures.{' and '.join(high_res)} requires "
                                 f"MeetingFeatures.Attendee.MaxCount (at most {HIGH_RES_MAX_ATTENDEES})")
            if max_count > HIGH_RES_MAX_ATTENDEES:
                raise BadRequest(f"MeetingFeatures.Attendee.MaxCount {max_count} is too high: with "
                                 f"{' and '.join(high_res)} a meeting allows at most {HIGH_RES_MAX_ATTENDEES} attendees")
        self._check_tags(p.get("Tags") or [], "tags")
        primary = None
        primary_id = p.get("PrimaryMeetingId")
        if primary_id is not None:
            primary = state.meetings.get(primary_id.lower())
            if primary is None:
                raise NotFound(f"Primary meeting <{primary_id}> not found")
            if primary.primary_meeting_id is not None:
                raise BadRequest(f"Meeting <{primary_id}> is a replica meeting; PrimaryMeetingId must name a primary meeting")
            cap = self.quotas.replicas_per_primary
            if cap is not None and len(primary.replicas) >= cap:
                raise LimitExceeded(f"Meeting <{primary_id}> already has {len(primary.replicas)} replica meetings, "
                                    f"the quota of this account (raise it in the mock's quotas)")
        cap = self.quotas.active_meetings
        if cap is not None and len(state.meetings) >= cap:
            raise LimitExceeded(f"The account has reached its quota of {cap} active meetings in {ctx.region}")
        return primary

    def _new_meeting(self, ctx: CallContext, state: RegionState, p: Dict[str, Any], primary: Optional[Meeting]) -> Meeting:
        meeting_id = self.ids.unused(self.ids.uuid4, lambda i: any(i in s.meetings for s in self.states.values()))
        now = self.clock()
        meeting = Meeting(
            meeting_id=meeting_id,
            account=ctx.account,
            region=ctx.region,
            external_meeting_id=p["ExternalMeetingId"],
            media_region=p["MediaRegion"],
            media_placement=regions.media_placement(
                meeting_id, p["MediaRegion"], ctx.region, self.ids.hex(32),
                self.ids.choice(("m1", "m2", "m3"))),
            client_request_token=p["ClientRequestToken"],
            created_at=now,
            last_occupied_at=now,
            meeting_host_id=p.get("MeetingHostId"),
            meeting_features=copy.deepcopy(p.get("MeetingFeatures")),
            primary_meeting_id=primary.meeting_id if primary else None,
            tenant_ids=list(p.get("TenantIds") or []),
            notifications_configuration=copy.deepcopy(p.get("NotificationsConfiguration")),
            media_placement_network_type=p.get("MediaPlacementNetworkType"),
            tags={t["Key"]: t["Value"] for t in p.get("Tags") or []},
        )
        state.meetings[meeting_id] = meeting
        state.tokens[meeting.client_request_token] = meeting_id
        if primary is not None:
            primary.replicas.append(meeting_id)
        return meeting

    def _existing_for_token(self, state: RegionState, token: str) -> Optional[Meeting]:
        meeting_id = state.tokens.get(token)
        return state.meetings.get(meeting_id) if meeting_id else None

    def op_create_meeting(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            state = self.state(ctx.account, ctx.region)
            existing = self._existing_for_token(state, p["ClientRequestToken"])
            if existing is not None:       # D1: same token, live meeting -> same meeting
                return {"Meeting": existing.wire}
            primary = self._check_meeting_request(ctx, state, p)
            meeting = self._new_meeting(ctx, state, p, primary)
            return {"Meeting": meeting.wire}

    def op_create_meeting_with_attendees(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            state = self.state(ctx.account, ctx.region)
            existing = self._existing_for_token(state, p["ClientRequestToken"])
            if existing is not None:
                # D1: a replay returns the existing meeting, whatever its other
                # parameters, and answers for every attendee it lists exactly as
                # BatchCreateAttendee would (D2/D3): known ExternalUserIds come
                # back as they are, new ones are added while seats remain, the
                # rest go to Errors.  Whole-request rules (1-20 items, types,
                # lengths) were checked before the backend, so nothing half-applies.
                attendees, errors = self._create_attendees(existing, p["Attendees"])
                return {"Meeting": existing.wire, "Attendees": attendees, "Errors": errors}
            primary = self._check_meeting_request(ctx, state, p)
            meeting = self._new_meeting(ctx, state, p, primary)
            attendees, errors = self._create_attendees(meeting, p["Attendees"])
            return {"Meeting": meeting.wire, "Attendees": attendees, "Errors": errors}

    def op_get_meeting(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            return {"Meeting": self._meeting(ctx, p["MeetingId"]).wire}

    def op_delete_meeting(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            self.remove_meeting(self._meeting(ctx, p["MeetingId"]))

    def remove_meeting(self, meeting: Meeting) -> None:
        """End ``meeting``: attendees, tags, transcription, token and replicas go with it."""
        with self.lock:
            state = self.states.get((meeting.account, meeting.region))
            if state is None or state.meetings.get(meeting.meeting_id) is not meeting:
                return
            del state.meetings[meeting.meeting_id]
            if state.tokens.get(meeting.client_request_token) == meeting.meeting_id:
                del state.tokens[meeting.client_request_token]
            if meeting.primary_meeting_id is not None:
                primary = state.meetings.get(meeting.primary_meeting_id)
                if primary is not None and meeting.meeting_id in primary.replicas:
                    primary.replicas.remove(meeting.meeting_id)
            for replica_id in list(meeting.replicas):
                replica = state.meetings.get(replica_id)
                if replica is not None:
                    self.remove_meeting(replica)

    # -- attendees -------------------------------------------------------------
    def _new_attendee(self, meeting: Meeting, external_user_id: str, caps: Dict[str, str]) -> Attendee:
        attendee_id = self.ids.unused(self.ids.attendee_id, lambda i: i in meeting.attendees)
        attendee = Attendee(attendee_id, external_user_id, self.ids.join_token(attendee_id), caps)
        meeting.add_attendee(attendee)
        return attendee

    def _create_attendees(self, meeting: Meeting, items: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """D2/D3: per-item outcome; valid items succeed, others go to Errors."""
        attendees: List[Dict[str, Any]] = []
        errors: List[Dict[str, Any]] = []
        def fail(external_id: str, code: str, message: str) -> None:
            errors.append({"ExternalUserId": external_id, "ErrorCode": code, "ErrorMessage": message})

        for item in items:
            external_id = item["ExternalUserId"]
            existing = meeting.by_external_id.get(external_id)
            if existing is not None:
                attendees.append(existing.to_wire())
                continue
            problem = external_id_problem(external_id)
            if problem:
                fail(external_id, "BadRequest", f"Invalid ExternalUserId: {problem}")
                continue
            requested = item.get("Capabilities")
            caps = (self.default_capabilities(meeting) if requested is None else
                    {"Audio": requested["Audio"], "Video": requested["Video"], "Content": requested["Content"]})
            problem = None if requested is None else self.capability_problem(meeting, caps)
            if problem:
                fail(external_id, "BadRequest", problem)
                continue
            if len(meeting.attendees) >= meeting.max_attendees:
                fail(external_id, "ResourceLimitExceeded", self._seat_message(meeting))
                continue
            attendees.append(self._new_attendee(meeting, external_id, caps).to_wire())
        return attendees, errors

    @staticmethod
    def _seat_message(meeting: Meeting) -> str:
        return (f"Meeting <{meeting.meeting_id}> already has the maximum of {meeting.max_attendees} attendees; "
                f"delete an attendee to free a seat")

    def op_create_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            external_id = p["ExternalUserId"]
            existing = meeting.by_external_id.get(external_id)
            if existing is not None:       # D2: ExternalUserId is an idempotency token
                return {"Attendee": existing.to_wire()}
            problem = external_id_problem(external_id)
            if problem:
                raise _validation("externalUserId", problem)
            caps = self._capabilities_for(meeting, p.get("Capabilities"))
            if len(meeting.attendees) >= meeting.max_attendees:
                raise LimitExceeded(self._seat_message(meeting))
            return {"Attendee": self._new_attendee(meeting, external_id, caps).to_wire()}

    def op_batch_create_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            attendees, errors = self._create_attendees(meeting, p["Attendees"])
            return {"Attendees": attendees, "Errors": errors}

    def op_get_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            return {"Attendee": self._attendee(meeting, p["AttendeeId"]).to_wire()}

    def op_delete_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            meeting.remove_attendee(self._attendee(meeting, p["AttendeeId"]))

    def _page_token(self, meeting: Meeting, last_seq: int) -> str:
        payload = f"{meeting.meeting_id}:{last_seq}".encode()
        sig = hmac.new(self._token_secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + b":" + sig).decode().rstrip("=")

    def _read_page_token(self, meeting: Meeting, token: str) -> int:
        invalid = BadRequest(f"Invalid NextToken: '{token[:64]}' was not returned by ListAttendees for meeting <{meeting.meeting_id}>")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            meeting_id, seq, _ = raw.split(b":", 2)
            last_seq = int(seq)
        except (ValueError, UnicodeDecodeError):
            raise invalid from None
        # Canonical form only: the exact string this meeting handed out (so a
        # changed padding bit or a token of another meeting is refused too).
        if meeting_id != meeting.meeting_id.encode() or not hmac.compare_digest(
                token.encode("utf-8", "replace"), self._page_token(meeting, last_seq).encode()):
            raise invalid
        return last_seq

    def op_list_attendees(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            token = p.get("NextToken")
            last_seq = self._read_page_token(meeting, token) if token else 0
            size = p.get("MaxResults") or DEFAULT_PAGE_SIZE
            page, next_seq = meeting.page_after(last_seq, size)
            out: Dict[str, Any] = {"Attendees": [a.to_wire() for a in page]}
            if next_seq is not None:
                out["NextToken"] = self._page_token(meeting, next_seq)
            return out

    # -- capabilities ----------------------------------------------------------
    def op_update_attendee_capabilities(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            attendee = self._attendee(meeting, p["AttendeeId"])
            attendee.capabilities = self._capabilities_for(meeting, p["Capabilities"])
            return {"Attendee": attendee.to_wire()}

    def op_batch_update_attendee_capabilities_except(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:   # D13: rules first, then every attendee not excluded
            meeting = self._meeting(ctx, p["MeetingId"])
            caps = self._capabilities_for(meeting, p["Capabilities"])
            excluded = {item["AttendeeId"].lower() for item in p["ExcludedAttendeeIds"]}
            for attendee in meeting.attendees.values():
                if attendee.attendee_id not in excluded:
                    attendee.capabilities = dict(caps)

    # -- transcription (D12) -----------------------------------------------------
    def op_start_meeting_transcription(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            config = p["TranscriptionConfiguration"]
            engines = [k for k in ("EngineTranscribeSettings", "EngineTranscribeMedicalSettings") if config.get(k) is not None]
            if len(engines) != 1:
                raise BadRequest("TranscriptionConfiguration must contain exactly one of EngineTranscribeSettings "
                                 f"or EngineTranscribeMedicalSettings (got {len(engines)})")
            meeting.transcription = copy.deepcopy(config)

    def op_stop_meeting_transcription(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            self._meeting(ctx, p["MeetingId"]).transcription = None

    # -- tags ------------------------------------------------------------------
    @staticmethod
    def _check_tags(tags: List[Dict[str, str]], field_name: str) -> None:
        seen = set()
        for index, tag in enumerate(tags, 1):
            key = tag["Key"]
            if key[:4].lower() == "aws:":
                raise _validation(f"{field_name}.{index}.member.key",
                                  "Member must not begin with the reserved prefix 'aws:'", key)
            if key in seen:
                raise BadRequest(f"Duplicate tag key '{key}': each tag key may appear only once in a request")
            seen.add(key)

    def _tagged_meeting(self, ctx: CallContext, arn: str) -> Meeting:
        match = _MEETING_ARN.fullmatch(arn)
        if match is None:
            raise _validation("resourceARN", "Member must be the ARN of an Amazon Chime SDK meeting "
                              "(arn:aws:chime:<region>:<account-id>:meeting/<MeetingId>)", arn)
        partition, region, account, meeting_id = match.groups()
        state = self.states.get((account, region))
        meeting = state.meetings.get(meeting_id.lower()) if state else None
        if (meeting is None or (account, region) != (ctx.account, ctx.region)
                or partition != regions.partition(region)):
            raise ResourceNotFound(f"Resource {arn} not found", ResourceName=arn)
        return meeting

    def op_tag_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            self._check_tags(p["Tags"], "tags")
            merged = dict(meeting.tags)
            merged.update((t["Key"], t["Value"]) for t in p["Tags"])
            if len(merged) > MAX_TAGS:
                raise TooManyTags(f"Resource {p['ResourceARN']} would have {len(merged)} tags; "
                                  f"a resource can have at most {MAX_TAGS}", ResourceName=p["ResourceARN"])
            meeting.tags = merged
            return {}

    def op_untag_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            for key in p["TagKeys"]:
                meeting.tags.pop(key, None)
            return {}

    def op_list_tags_for_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            return {"Tags": [{"Key": k, "Value": v} for k, v in meeting.tags.items()]}


__all__ = [
    "ChimeBackend", "CallContext", "Meeting", "Attendee", "Quotas", "RegionState",
    "ServiceError", "DEFAULT_ACCOUNT",
]
