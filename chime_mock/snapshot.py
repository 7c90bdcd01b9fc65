"""State snapshots: the whole state of a ``ChimeService`` as JSON, and back.

A snapshot holds what the service would have to remember across a restart:
every account's and control region's meetings (all their fields, attendees in
creation order with their paging positions, tags, transcription, replicas,
connection marks), the ClientRequestToken table, the clock offset, the secret
that signs ``NextToken`` values (so a token handed out before a restart still
works after it) and the ID generator's position (so a seeded service goes on
with the same IDs).  It does not hold the journal or the fault rules (test
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
import typing
from typing import Any, Dict, List, Optional, Tuple

from .backend import Attendee, ChimeBackend, Meeting, RegionState

if typing.TYPE_CHECKING:  # pragma: no cover
    from .service import ChimeService

FORMAT = 1
KEY = "chime_mock_snapshot"

# Meeting fields that are derived from others (rebuilt on load) or held apart.
_DERIVED = {"attendees", "by_external_id", "_seqs", "_by_seq", "_next_seq", "_wire"}


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


def dump(service: "ChimeService") -> Dict[str, Any]:
    """The service's state as a JSON-safe dict (see the module docstring)."""
    from . import __version__

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
        version, internal, gauss = service.ids._rng.getstate()
        return {
            KEY: FORMAT,
            "chime_mock": __version__,
            "now": service.now(),
            "clock_offset": service._clock_offset,
            "token_secret": backend._token_secret.hex(),
            "ids": [version, list(internal), gauss],
            "regions": region_states,
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
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where} must be a number, got {value!r}")
        return float(value)
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


def load(service: "ChimeService", data: Any) -> None:
    """Replace the service's state with snapshot ``data`` (all or nothing)."""
    if not isinstance(data, dict):
        raise ValueError(f"a snapshot must be a JSON object, got {type(data).__name__}")
    if data.get(KEY) != FORMAT:
        raise ValueError(f"not a chime_mock snapshot of format {FORMAT}: "
                         f"{KEY!r} is {data.get(KEY)!r}")
    offset = _check(data.get("clock_offset", 0.0), float, "clock_offset")
    try:
        secret = bytes.fromhex(_check(data["token_secret"], str, "token_secret"))
    except KeyError:
        raise ValueError("token_secret is missing") from None
    except ValueError as exc:
        raise ValueError(f"token_secret must be hex: {exc}") from None
    rng_state: Optional[Tuple[Any, ...]] = None
    if data.get("ids") is not None:
        ids = data["ids"]
        if not (isinstance(ids, list) and len(ids) == 3 and isinstance(ids[1], list)):
            raise ValueError("ids must be [version, [state...], gauss] as a snapshot writes it")
        rng_state = (ids[0], tuple(ids[1]), ids[2])
        try:
            import random
            random.Random().setstate(rng_state)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"ids is not a valid generator state: {exc}") from None
    regions = data.get("regions", [])
    if not isinstance(regions, list):
        raise ValueError("regions must be a list")
    states: Dict[Tuple[str, str], RegionState] = {}
    seen: Dict[str, str] = {}
    for r_index, item in enumerate(regions):
        where = f"regions[{r_index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        account = _check(item.get("account"), str, f"{where}.account")
        region = _check(item.get("region"), str, f"{where}.region")
        if not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"{where}.account must be 12 digits, got {account!r}")
        if (account, region) in states:
            raise ValueError(f"{where}: {account}/{region} appears twice")
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
        states[(account, region)] = state

    backend = service.backend
    with backend.lock:
        fresh = ChimeBackend(service.ids, service.quotas, service.now, lock=backend.lock)
        fresh._token_secret = secret
        fresh.states = states
        if rng_state is not None:
            service.ids._rng.setstate(rng_state)
        service.backend = fresh
        with service._lock:
            service._clock_offset = offset


__all__ = ["dump", "load", "FORMAT"]
