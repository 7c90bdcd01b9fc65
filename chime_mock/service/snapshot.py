"""State snapshots: the whole state of a ``ChimeService`` as JSON, and back.

A snapshot holds what the service would have to remember across a restart:
every account's and control region's meetings (all their fields, attendees in
creation order with their paging positions, tags, transcription, replicas,
connection marks), the ClientRequestToken table, the clock offset, the secret
that signs ``NextToken`` values (so a token handed out before a restart still
works after it) and the ID generator's position (so a seeded service goes on
with the same IDs), and the meeting events' cursor and ID generator (so the
events emitted after a restore go on numbering where they stopped; restoring
emits nothing and leaves the kept events as they are).  It does not hold the journal or the fault rules (test
controls, not service state) nor the configuration (account, quotas...), which
belongs to whoever starts the service.

The format is versioned (``"chime_mock_snapshot": 1``) and plain JSON.  The
field names of meetings and attendees follow ``backend.Meeting`` and
``backend.Attendee``; a field added there is saved and restored without code
here.  ``load`` checks the whole document before it changes anything: a bad
snapshot raises ``ValueError`` naming the place, and the state stays as it was.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, Dict, List, Optional, Tuple

from chime_mock.backend.rules import Attendee, ChimeBackend, Meeting, RegionState, external_id_problem
from chime_mock.ground import regions
from chime_mock.ground.accounts import is_account_id
from chime_mock.ground.ids import check_state
from chime_mock.ground.strictjson import depth_problem
from chime_mock.ground.version import __version__
from chime_mock.protocol.restjson import protocol
from chime_mock.service.config import check_region, finite_number, finite_seconds

if typing.TYPE_CHECKING:  # pragma: no cover
    from chime_mock.service.pipeline import ChimeService

FORMAT = 1
KEY = "chime_mock_snapshot"

# Meeting fields that are derived from others (rebuilt on load) or held apart.
_DERIVED = {"attendees", "by_external_id", "_seqs", "_by_seq", "_next_seq", "_wire", "event_source"}


def _fields(cls: type) -> List[Tuple[str, Any, bool]]:
    """(name, type, required) of a dataclass's fields."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append((f.name, hints[f.name], required))
    return out


_MEETING_FIELDS = [f for f in _fields(Meeting) if f[0] not in _DERIVED]
_ATTENDEE_FIELDS = _fields(Attendee)
_MEETING_KEYS = {f[0] for f in _MEETING_FIELDS} | {"attendees", "next_seq"}
_ATTENDEE_KEYS = {f[0] for f in _ATTENDEE_FIELDS}
_TOP_KEYS = {KEY, "chime_mock", "now", "clock_offset", "token_secret", "ids", "regions", "events"}
_REGION_KEYS = {"account", "region", "tokens", "meetings"}

def _unknown(data: Dict[str, Any], known: Any, where: str) -> None:
    extra = sorted(str(k) for k in data if k not in known)
    if extra:
        name = extra[0] if len(extra[0]) <= 80 else extra[0][:80] + "..."
        raise ValueError(f"{where}has an unknown field {name!r}")


def dump(service: "ChimeService") -> Dict[str, Any]:
    """The service's state as a JSON-safe dict (see the module docstring)."""

    backend = service.backend
    with backend.lock:
        region_states = []
        for (account, region), state in sorted(backend.states.items()):
            meetings = []
            for meeting in state.meetings.values():
                item = {name: _copy(getattr(meeting, name)) for name, _, _ in _MEETING_FIELDS}
                item["next_seq"] = meeting._next_seq
                item["attendees"] = [{name: _copy(getattr(a, name)) for name, _, _ in _ATTENDEE_FIELDS}
                                     for a in meeting.attendees.values()]
                meetings.append(item)
            if meetings or state.tokens:
                region_states.append({"account": account, "region": region, "tokens": dict(state.tokens),
                                      "meetings": meetings})
        version, internal, gauss = service.ids.getstate()
        e_version, e_internal, e_gauss = service.event_ids.getstate()
        return {
            KEY: FORMAT,
            "chime_mock": __version__,
            "now": service.now(),
            "clock_offset": service.clock_offset,
            "token_secret": backend.token_secret.hex(),
            "ids": [version, list(internal), gauss],
            "regions": region_states,
            "events": {"cursor": service.events.cursor, "ids": [e_version, list(e_internal), e_gauss]},
        }


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _check(value: Any, kind: Any, where: str) -> Any:
    """``value`` if it fits the annotation ``kind`` (ints accepted as floats), else ValueError."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return _copy(value)
    if origin is typing.Union:
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        return _check(value, next(o for o in options if o is not type(None)), where)
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be an object, got {type(value).__name__}")
        _, value_kind = typing.get_args(kind) or (str, Any)
        return {str(k): _check(v, value_kind, f"{where}.{k}") for k, v in value.items()}
    if origin in (list, List):
        if not isinstance(value, list):
            raise ValueError(f"{where} must be a list, got {type(value).__name__}")
        (item_kind,) = typing.get_args(kind) or (Any,)
        return [_check(v, item_kind, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind is float:
        # Any finite number: whatever the service's clock gave a meeting, it loads again.
        number = finite_number(value)
        if number is None:
            raise ValueError(f"{where} must be a finite number of seconds, got {value!r}")
        return number
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, got {value!r}")
        return value
    if kind in (str, bool):
        if not isinstance(value, kind):
            raise ValueError(f"{where} must be a {kind.__name__}, got {value!r}")
        return value
    raise ValueError(f"{where}: cannot restore a field of type {kind}")  # pragma: no cover


def _build(cls: type, fields: List[Tuple[str, Any, bool]], data: Any, where: str) -> Dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object, got {type(data).__name__}")
    _unknown(data, _MEETING_KEYS if cls is Meeting else _ATTENDEE_KEYS, f"{where} ")
    out: Dict[str, Any] = {}
    for name, kind, required in fields:
        if name not in data:
            if required:
                raise ValueError(f"{where}.{name} is missing")
            continue
        out[name] = _check(data[name], kind, f"{where}.{name}")
    return out


def _load_meeting(data: Any, account: str, region: str, where: str) -> Meeting:
    meeting = Meeting(**_build(Meeting, _MEETING_FIELDS, data, where))
    if (meeting.account, meeting.region) != (account, region):
        raise ValueError(f"{where} belongs to {meeting.account}/{meeting.region}, not {account}/{region}")
    if meeting.meeting_id != meeting.meeting_id.lower() or not meeting.meeting_id:
        raise ValueError(f"{where}.meeting_id must be a lower-case meeting ID, got {meeting.meeting_id!r}")
    attendees = data.get("attendees", [])
    if not isinstance(attendees, list):
        raise ValueError(f"{where}.attendees must be a list")
    last = 0
    for index, item in enumerate(attendees):
        spot = f"{where}.attendees[{index}]"
        attendee = Attendee(**_build(Attendee, _ATTENDEE_FIELDS, item, spot))
        if attendee.connected:      # an older snapshot has no ``authorized``: joined means it was
            attendee.authorized = True
        if attendee.seq <= last:
            raise ValueError(f"{spot}.seq must grow in creation order, got {attendee.seq} after {last}")
        if attendee.attendee_id in meeting.attendees:
            raise ValueError(f"{spot}.attendee_id {attendee.attendee_id!r} appears twice")
        last = attendee.seq
        meeting._next_seq = attendee.seq
        meeting.add_attendee(attendee)
    next_seq = _check(data.get("next_seq", last + 1), int, f"{where}.next_seq")
    if next_seq <= last:
        raise ValueError(f"{where}.next_seq must be above every attendee's seq ({last}), got {next_seq}")
    meeting._next_seq = next_seq
    return meeting


_GUID = re.compile(r"[a-f0-9]{8}(?:-[a-f0-9]{4}){3}-[a-f0-9]{12}")
_CAPABILITY_KINDS = {"Audio", "Video", "Content"}


def _model_problem(operation: str, params: Dict[str, Any]) -> Optional[str]:
    """The first constraint of ``operation``'s input that ``params`` break, or None."""

    op = protocol().operations[operation]
    errors: List[str] = []
    assert op.validate is not None
    op.validate(params, "", errors)
    return errors[0] if errors else None


def _check_meeting(meeting: Meeting, where: str) -> None:
    """What the API itself guarantees of a live meeting, so a restored one
    answers every later call as a created one would."""

    if not _GUID.fullmatch(meeting.meeting_id):
        raise ValueError(f"{where}.meeting_id must be a lower-case meeting ID, got {meeting.meeting_id!r}")
    params: Dict[str, Any] = {"ClientRequestToken": meeting.client_request_token,
                              "ExternalMeetingId": meeting.external_meeting_id,
                              "MediaRegion": meeting.media_region}
    for name, value in (("MeetingHostId", meeting.meeting_host_id), ("MeetingFeatures", meeting.meeting_features),
                        ("PrimaryMeetingId", meeting.primary_meeting_id), ("TenantIds", meeting.tenant_ids or None),
                        ("NotificationsConfiguration", meeting.notifications_configuration),
                        ("MediaPlacementNetworkType", meeting.media_placement_network_type),
                        ("Tags", [{"Key": k, "Value": v} for k, v in meeting.tags.items()] or None)):
        if value is not None:
            params[name] = value
    problem = _model_problem("CreateMeeting", params)
    for value in (meeting.external_meeting_id, meeting.meeting_host_id):
        problem = problem or (external_id_problem(value) if value is not None else None)
    if problem is None and not regions.is_media_region(meeting.media_region, meeting.region):
        problem = f"media_region {meeting.media_region!r} is not a media region of {meeting.region}"
    if problem is None and meeting.transcription is not None:
        problem = _model_problem("StartMeetingTranscription", {"MeetingId": meeting.meeting_id,
                                                               "TranscriptionConfiguration": meeting.transcription})
    if problem is None and not all(isinstance(v, str) and v for v in meeting.media_placement.values()):
        problem = "media_placement must hold non-empty URLs"
    if problem:
        raise ValueError(f"{where}: {problem}")
    external_ids = set()
    for attendee in meeting.attendees.values():
        spot = f"{where}.attendees[{attendee.attendee_id}]"
        if not _GUID.fullmatch(attendee.attendee_id):
            raise ValueError(f"{spot}.attendee_id must be a lower-case attendee ID")
        if attendee.external_user_id in external_ids:
            raise ValueError(f"{spot}.external_user_id {attendee.external_user_id!r} appears twice")
        external_ids.add(attendee.external_user_id)
        if (attendee.video or attendee.content) and not attendee.connected:
            raise ValueError(f"{spot}: video and content share need a connected attendee")
        if set(attendee.capabilities) != _CAPABILITY_KINDS:
            raise ValueError(f"{spot}.capabilities must name exactly Audio, Video and Content")
        problem = (_model_problem("CreateAttendee", {"MeetingId": meeting.meeting_id,
                                                     "ExternalUserId": attendee.external_user_id,
                                                     "Capabilities": attendee.capabilities})
                   or external_id_problem(attendee.external_user_id)
                   or ChimeBackend.capability_problem(meeting, attendee.capabilities))
        if problem:
            raise ValueError(f"{spot}: {problem}")
    if len(meeting.attendees) > meeting.max_attendees:
        raise ValueError(f"{where} has {len(meeting.attendees)} attendees, more than its {meeting.max_attendees} seats")


def _check_region_state(state: RegionState, where: str, seen: Dict[str, str]) -> None:

    try:
        check_region(state.region, "region")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}.{exc}") from None
    for meeting in state.meetings.values():
        _check_meeting(meeting, seen[meeting.meeting_id])
        spot = seen[meeting.meeting_id]
        primary_id = meeting.primary_meeting_id
        if primary_id is not None:
            primary = state.meetings[primary_id]
            if primary_id == meeting.meeting_id or primary.primary_meeting_id is not None:
                raise ValueError(f"{spot}: primary_meeting_id must name a primary meeting")
            if meeting.replicas:
                raise ValueError(f"{spot}: a replica meeting has no replicas of its own")
            if primary.replicas.count(meeting.meeting_id) != 1:
                raise ValueError(f"{spot}: its primary {primary_id} must list it once among its replicas")
        for replica_id in meeting.replicas:
            if state.meetings[replica_id].primary_meeting_id != meeting.meeting_id:
                raise ValueError(f"{spot}: replica {replica_id} does not name it as its primary")
    for token, meeting_id in state.tokens.items():
        owner = state.meetings.get(meeting_id)
        if owner is None or owner.client_request_token != token:
            raise ValueError(f"{where}.tokens[{token!r}] must name the live meeting created with it")


def _load_events(data: Any) -> Tuple[int, Optional[Tuple[Any, ...]]]:
    """The events' cursor and ID generator state (absent in older snapshots)."""
    if data is None:
        return 0, None
    if not isinstance(data, dict):
        raise ValueError(f"events must be an object, got {type(data).__name__}")
    _unknown(data, {"cursor", "ids"}, "events ")
    cursor = _check(data.get("cursor", 0), int, "events.cursor")
    if cursor < 0:
        raise ValueError(f"events.cursor must not be negative, got {cursor}")
    ids = data.get("ids")
    if ids is None:
        return cursor, None
    try:
        return cursor, check_state(ids)
    except ValueError as exc:
        raise ValueError(f"events.ids is not a usable generator state: {exc}") from None


class _Settings(typing.NamedTuple):
    """What a snapshot holds besides the meetings."""
    offset: float
    secret: bytes
    ids: Optional[Tuple[Any, ...]]
    event_cursor: int
    event_ids: Optional[Tuple[Any, ...]]


def _check_document(data: Any) -> Dict[str, Any]:
    """``data`` if it is a snapshot of this format, not too deep, with only known fields."""
    if not isinstance(data, dict):
        raise ValueError(f"a snapshot must be a JSON object, got {type(data).__name__}")
    version = data.get(KEY)
    if type(version) is not int or version != FORMAT:
        shown = repr(version) if len(repr(version)) <= 80 else repr(version)[:80] + "..."
        raise ValueError(f"not a chime_mock snapshot of format {FORMAT}: {KEY!r} is {shown}")
    problem = depth_problem(data)
    if problem:
        raise ValueError(f"not a snapshot: {problem}")
    _unknown(data, _TOP_KEYS, "the snapshot ")
    return data


def _load_settings(data: Dict[str, Any]) -> _Settings:
    try:
        offset = finite_seconds(data.get("clock_offset", 0.0), "clock_offset", "a finite number of seconds")
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    try:
        secret = bytes.fromhex(_check(data["token_secret"], str, "token_secret"))
    except KeyError:
        raise ValueError("token_secret is missing") from None
    except ValueError as exc:
        raise ValueError(f"token_secret must be hex: {exc}") from None
    ids: Optional[Tuple[Any, ...]] = None
    if data.get("ids") is not None:
        try:
            ids = check_state(data["ids"])
        except ValueError as exc:
            raise ValueError(f"ids is not a valid generator state: {exc}") from None
    event_cursor, event_ids = _load_events(data.get("events"))
    return _Settings(offset, secret, ids, event_cursor, event_ids)


def _load_region(item: Any, where: str, seen: Dict[str, str]) -> RegionState:
    """One (account, region) of a snapshot: its meetings, checked on their own
    and against each other (``seen``: meeting ID -> where it was read)."""
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    _unknown(item, _REGION_KEYS, f"{where} ")
    account = _check(item.get("account"), str, f"{where}.account")
    region = _check(item.get("region"), str, f"{where}.region")
    if not is_account_id(account):
        raise ValueError(f"{where}.account must be 12 ASCII digits, got {account!r}")
    state = RegionState(account, region)
    state.tokens = _check(item.get("tokens", {}), Dict[str, str], f"{where}.tokens")
    meetings = item.get("meetings", [])
    if not isinstance(meetings, list):
        raise ValueError(f"{where}.meetings must be a list")
    for m_index, m_data in enumerate(meetings):
        spot = f"{where}.meetings[{m_index}]"
        meeting = _load_meeting(m_data, account, region, spot)
        if meeting.meeting_id in seen:
            raise ValueError(f"{spot}: meeting {meeting.meeting_id} appears twice")
        seen[meeting.meeting_id] = spot
        state.meetings[meeting.meeting_id] = meeting
    for meeting in state.meetings.values():
        links = list(meeting.replicas) + ([meeting.primary_meeting_id] if meeting.primary_meeting_id else [])
        for other in links:
            if other not in state.meetings:
                raise ValueError(f"{seen[meeting.meeting_id]} links to meeting {other}, "
                                 f"which is not in {account}/{region}")
    _check_region_state(state, where, seen)
    return state


def load(service: "ChimeService", data: Any) -> None:
    """Replace the service's state with snapshot ``data`` (all or nothing:
    everything is read and checked before anything changes)."""
    settings = _load_settings(_check_document(data))
    regions = data.get("regions", [])
    if not isinstance(regions, list):
        raise ValueError("regions must be a list")
    states: Dict[Tuple[str, str], RegionState] = {}
    seen: Dict[str, str] = {}
    for index, item in enumerate(regions):
        where = f"regions[{index}]"
        state = _load_region(item, where, seen)
        if (state.account, state.region) in states:
            raise ValueError(f"{where}: {state.account}/{state.region} appears twice")
        states[(state.account, state.region)] = state

    backend = service.backend
    with backend.lock:
        fresh = ChimeBackend(service.ids, service.quotas, service.now, lock=backend.lock, emit=backend.emit)
        fresh.token_secret = settings.secret
        fresh.states = states
        if settings.ids is not None:
            service.ids.setstate(settings.ids)
        service.backend = fresh
        if settings.event_ids is not None:
            service.event_ids.setstate(settings.event_ids)
        service.events._advance_to(settings.event_cursor)
        service.set_clock_offset(settings.offset)


__all__ = ["dump", "load", "FORMAT"]
