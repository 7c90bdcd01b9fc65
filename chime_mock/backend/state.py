"""The state of the mocked service: meetings, attendees, quotas, limits.

Plain objects, no rules: the rooms (``meetings``, ``attendees``, ``media``,
``tags``) change them under the backend's lock.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import json.encoder
import operator
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterable, List, NamedTuple, NoReturn, Optional, Tuple, Type, TypeVar,
                    Union, cast)

from chime_mock.ground import fastjson, regions
from chime_mock.ground.errors import BadRequest
from chime_mock.protocol.validation import bad_request, violation

MAX_ATTENDEES = 250            # hard limit per meeting (D10)
HIGH_RES_MAX_ATTENDEES = 25    # with FHD video or UHD content
MAX_TAGS = 50
DEFAULT_PAGE_SIZE = 10         # D15
MEETING_MAX_AGE = 24 * 3600    # seconds; meetings end after 24 hours
IDLE_TIMEOUT = 5 * 60          # seconds without anyone connected

SEND_RECEIVE = "SendReceive"
RECEIVING = ("SendReceive", "Receive")
SENDING = ("SendReceive", "Send")

#: ``emit(type, meeting, attendee, extra)``: called under the backend lock at
#: the moment of each state change that AWS reports as a meeting event.  A
#: list of attendees (``extra`` None) is one event each, in order, at one moment
#: (the attendees a batch added).
EmitFn = Callable[[str, "Meeting", Union["Attendee", List["Attendee"], None], Optional[Dict[str, Any]]], None]

# The ExternalUserId / ExternalMeetingId pattern the service documents (it is
# not in the model's ``pattern`` field, so the backend enforces it).
EXTERNAL_ID_PATTERN = r"[-_&@+=,(){}\[\]\/«».:|'\"#a-zA-Z0-9À-ÿ\s]*"
_EXTERNAL_ID = re.compile(EXTERNAL_ID_PATTERN, re.ASCII)  # Java semantics: \s is ASCII whitespace
MEETING_ARN = re.compile(r"arn:(aws[a-z-]*):chime:([a-z0-9-]+):(\d{12}):meeting/(.+)")


def validation_error(field_name: str, constraint: str, value: Optional[str] = None) -> BadRequest:
    return bad_request([violation(field_name, constraint, value)])


# Every ASCII character the pattern accepts: an ID made of these alone
# matches, without running the regex.
EXTERNAL_ID_ASCII = frozenset(c for c in map(chr, range(128)) if _EXTERNAL_ID.fullmatch(c))


def external_id_problem(value: str) -> Optional[str]:
    """Why ``value`` is not a valid external ID, or None (doc pattern, ``aws:``)."""
    if not EXTERNAL_ID_ASCII.issuperset(value) and _EXTERNAL_ID.fullmatch(value) is None:
        return f"Member must satisfy regular expression pattern: {EXTERNAL_ID_PATTERN}"
    # ``value[:4].lower() == "aws:"``: only "a", "w", "s" and ":" lower to those.
    if value[3:4] == ":" and value[:3].lower() == "aws":
        return "Member must not begin with the reserved prefix 'aws:' (case insensitive)"
    return None


class CallContext(NamedTuple):
    """Who calls where: the account and the control region.  A tuple, so it
    is the ``(account, region)`` key of the backend's states as it is."""

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


class Capabilities(Dict[str, str]):
    """An attendee's ``Capabilities`` (``Audio``, ``Video``, ``Content``):
    read-only, because attendees with the same capabilities share one
    (assign a new dict to ``attendee.capabilities`` to change them).  It is
    a ``dict`` for every reader (JSON, ``==``); a copy is a plain dict."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("an attendee's capabilities are shared and read-only: assign a new dict to "
                        "attendee.capabilities instead of changing this one")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _read_only
    __ior__ = _read_only

    def copy(self) -> Dict[str, str]:
        return dict(self)

    def __copy__(self) -> Dict[str, str]:
        return dict(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Dict[str, str]:
        return dict(self)   # the values are strings

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


_SHARED_CAPABILITIES: Dict[Tuple[Any, ...], Capabilities] = {}
_KNOWN_CAPABILITY = frozenset(("SendReceive", "Send", "Receive", "None"))


def shared_capabilities(caps: Dict[str, str]) -> Dict[str, str]:
    """The one read-only ``Capabilities`` equal to ``caps`` (attendees share
    them); ``caps`` itself when it is not exactly Audio, Video and Content
    with values the service knows (so the table stays small)."""
    if type(caps) is Capabilities:
        return caps
    try:
        key = (caps["Audio"], caps["Video"], caps["Content"])
    except (KeyError, TypeError):
        return caps
    if len(caps) != 3 or not (type(key[0]) is str and type(key[1]) is str and type(key[2]) is str):
        return caps
    shared = _SHARED_CAPABILITIES.get(key)
    if shared is None:
        if not _KNOWN_CAPABILITY.issuperset(key):
            return caps
        shared = _SHARED_CAPABILITIES.setdefault(key, Capabilities(Audio=key[0], Video=key[1], Content=key[2]))
    return shared


C = TypeVar("C")


def _slotted(cls: Type[C], extra: Iterable[str] = ()) -> Type[C]:
    """``cls`` (a dataclass) rebuilt with ``__slots__`` for its fields, as
    ``dataclass(slots=True)`` does on Python 3.10+ (this runs on 3.9 too)."""
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    body = dict(cls.__dict__)
    body["__slots__"] = names + tuple(extra)
    for name in names:
        body.pop(name, None)    # the defaults live in __init__
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    new = cast(Type[C], type(cls.__name__, cls.__bases__, body))
    new.__qualname__ = cls.__qualname__
    return new


@dataclass(eq=False)
class Attendee:
    attendee_id: str
    external_user_id: str
    join_token: str
    capabilities: Dict[str, str]
    seq: int = 0
    connected: bool = False     # joined the meeting's media now (simulated client, D17)
    authorized: bool = False    # has presented its JoinToken once (AttendeeAuthorized sent)
    video: bool = False         # sending video now
    content: bool = False       # sharing content now (the "#content" attendee is joined)

    def to_wire(self) -> Dict[str, Any]:
        """The API's ``Attendee`` object: a fresh dict; its ``Capabilities``
        is the attendee's own (read-only: copy it to change it)."""
        return {
            "ExternalUserId": self.external_user_id,
            "AttendeeId": self.attendee_id,
            "JoinToken": self.join_token,
            "Capabilities": self.capabilities,
        }


# Slots keep a stored attendee small (no per-instance __dict__).
Attendee = _slotted(Attendee)  # type: ignore[misc]

_JSON = fastjson.dumps   # as the protocol encodes
_ATTENDEE_JSON = '{"ExternalUserId":%s,"AttendeeId":%s,"JoinToken":%s,"Capabilities":%s}'
_CAPS_JSON: Dict[int, str] = {}
#: AttendeeId -> (ExternalUserId, JoinToken, Capabilities, JSON text) of
#: attendees listed lately; bounded (about 1.5 MB at most).
_ATTENDEE_TEXTS: Dict[str, Tuple[str, str, Dict[str, str], str]] = {}
_ATTENDEE_TEXTS_KEPT = 4096


def _forget_oldest_texts() -> None:
    """Make room in ``_ATTENDEE_TEXTS``: its oldest eighth goes, in one pass
    (a dict finds its first key by skipping the ones deleted before it, so
    deleting one at a time from the front costs more and more)."""
    texts = _ATTENDEE_TEXTS
    try:
        oldest = list(itertools.islice(texts, _ATTENDEE_TEXTS_KEPT // 8))
    except RuntimeError:   # changed by another thread meanwhile: it makes room itself
        return
    for key in oldest:
        texts.pop(key, None)


class AttendeeList(List[Dict[str, Any]]):
    """An answer's list of ``Attendee.to_wire()`` dicts that writes its own
    JSON (``wire_json``), byte for byte what the protocol's encoder writes,
    at a third of the cost: the keys are ``to_wire``'s, in its order, and
    shared capabilities are encoded once."""

    __slots__ = ()

    #: Keep the texts written for the next answers listing these attendees.
    keep_texts = True

    def wire_json(self) -> str:
        string = fastjson.encode_string
        texts = _ATTENDEE_TEXTS
        keep = self.keep_texts
        parts = []
        for item in self:
            if len(item) != 4:
                parts.append(_JSON(item))
                continue
            external_id, attendee_id = item["ExternalUserId"], item["AttendeeId"]
            token, caps = item["JoinToken"], item["Capabilities"]
            # The text of an attendee listed before, while its wire values are
            # the very same objects (a change makes new ones: read-only caps).
            kept = texts.get(attendee_id) if type(attendee_id) is str else None
            if kept is not None and kept[0] is external_id and kept[1] is token and kept[2] is caps:
                parts.append(kept[3])
                continue
            if type(caps) is Capabilities:
                caps_text = _CAPS_JSON.get(id(caps))
                if caps_text is None:
                    caps_text = _CAPS_JSON[id(caps)] = _JSON(caps)   # interned: lives as long as the process
            else:
                caps_text = _JSON(caps)
            text = _ATTENDEE_JSON % (string(external_id), string(attendee_id), string(token), caps_text)
            parts.append(text)
            if keep and type(caps) is Capabilities and type(attendee_id) is str:   # a plain dict could change in place
                if len(texts) >= _ATTENDEE_TEXTS_KEPT:
                    _forget_oldest_texts()
                texts[attendee_id] = (external_id, token, caps, text)
        return "[" + ",".join(parts) + "]"

    def __deepcopy__(self, memo: Dict[int, Any]) -> List[Dict[str, Any]]:
        return [copy.deepcopy(item, memo) for item in self]

    def __reduce__(self) -> Any:
        return (list, (list(self),))


class AttendeeAnswer(Dict[str, Any]):
    """One ``Attendee.to_wire()`` dict (GetAttendee's ``Attendee``) that
    writes its own JSON as ``AttendeeList`` writes each item: an attendee
    read again and again is encoded once, while its wire values stay the
    very same objects."""

    __slots__ = ()

    def wire_json(self) -> str:
        attendee_id = self.get("AttendeeId")
        kept = _ATTENDEE_TEXTS.get(attendee_id) if type(attendee_id) is str and len(self) == 4 else None
        if (kept is not None and kept[0] is self["ExternalUserId"] and kept[1] is self["JoinToken"]
                and kept[2] is self["Capabilities"]):
            return kept[3]      # as AttendeeList finds it
        return AttendeeList((self,)).wire_json()[1:-1]

    def __deepcopy__(self, memo: Dict[int, Any]) -> Dict[str, Any]:
        return {key: copy.deepcopy(value, memo) for key, value in self.items()}

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


class NewAttendeeList(AttendeeList):
    """The attendees a create answers with: their texts are not kept (most
    are new, and an answer listing them later writes and keeps them)."""

    __slots__ = ()
    keep_texts = False


_GENERATED_JSON = '{"ExternalUserId":%s,"AttendeeId":"%s","JoinToken":"%s","Capabilities":%s}'


class GeneratedAttendeeList(NewAttendeeList):
    """A create's answer of new attendees only, just made: their AttendeeId
    and JoinToken come from the ID generator (hex digits, dashes, base64),
    which JSON writes as they are, so only the ExternalUserId is escaped."""

    __slots__ = ()

    def wire_json(self) -> str:
        count = len(self)
        # As made: four members each, one Capabilities object for all (else the general way).
        if not count or list(map(len, self)).count(4) != count:
            return super().wire_json()
        capabilities = list(map(_CAPABILITIES_OF, self))
        caps = capabilities[0]
        if len(set(map(id, capabilities))) != 1:
            return super().wire_json()
        if type(caps) is Capabilities:
            caps_text = _CAPS_JSON.get(id(caps)) or _CAPS_JSON.setdefault(id(caps), _JSON(caps))
        else:
            caps_text = _JSON(caps)
        return "[" + ",".join(map(_GENERATED_JSON.__mod__, zip(
            map(fastjson.encode_string, map(_EXTERNAL_USER_ID_OF, self)), map(_ATTENDEE_ID_OF, self),
            map(_JOIN_TOKEN_OF, self), itertools.repeat(caps_text)))) + "]"


_CAPABILITIES_OF = operator.itemgetter("Capabilities")
_EXTERNAL_USER_ID_OF = operator.itemgetter("ExternalUserId")
_ATTENDEE_ID_OF = operator.itemgetter("AttendeeId")
_JOIN_TOKEN_OF = operator.itemgetter("JoinToken")


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
    _by_seq: List[Attendee] = field(default_factory=list, repr=False)   # the attendees, in _seqs' order
    _next_seq: int = field(default=1, repr=False)
    # the last moment somebody was connected (or creation), for idle expiry
    last_occupied_at: float = 0.0
    _wire: Optional[Dict[str, Any]] = field(default=None, repr=False, compare=False)
    #: (ExternalMeetingId, MediaRegion), shared by the meeting's events.
    event_source: Optional[Tuple[str, str]] = field(default=None, repr=False, compare=False)

    #: The capabilities a new attendee gets (``AttendeeRules.default_capabilities``),
    #: kept once worked out; not a field: assigning ``meeting_features`` drops it.
    _default_caps = None  # type: Optional[Dict[str, str]]
    #: GetMeeting's answer, ``{"Meeting": wire}``, shared like ``wire`` (not a field).
    _answer = None  # type: Optional[Dict[str, Any]]
    #: ``limits()``, kept once worked out (not a field, dropped with ``_default_caps``).
    _limits = None  # type: Optional[Tuple[int, bool, bool]]

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _MEETING_WIRE_FIELDS:
            object.__setattr__(self, "_wire", None)
            object.__setattr__(self, "_answer", None)
            if name == "meeting_features":
                object.__setattr__(self, "_default_caps", None)
                object.__setattr__(self, "_limits", None)

    @property
    def meeting_arn(self) -> str:
        return f"arn:{regions.partition(self.region)}:chime:{self.region}:{self.account}:meeting/{self.meeting_id}"

    @property
    def max_attendees(self) -> int:
        return (self._limits or self.limits())[0]

    def limits(self) -> Tuple[int, bool, bool]:
        """What ``meeting_features`` allows: (the most attendees, video off,
        content off: a MaxResolution of None), worked out once."""
        limits = self._limits
        if limits is None:
            features = self.meeting_features or {}
            cap = (features.get("Attendee") or {}).get("MaxCount")
            limits = (min(cap, MAX_ATTENDEES) if cap else MAX_ATTENDEES,
                      self.resolution("Video") == "None", self.resolution("Content") == "None")
            object.__setattr__(self, "_limits", limits)
        return limits

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
                wire["MeetingFeatures"] = json_copy(self.meeting_features)
            if self.primary_meeting_id is not None:
                wire["PrimaryMeetingId"] = self.primary_meeting_id
            object.__setattr__(self, "_wire", wire)
        return wire

    @property
    def wire_answer(self) -> Dict[str, Any]:
        """``{"Meeting": wire}`` (GetMeeting's answer), shared and read-only like ``wire``."""
        answer = self._answer
        if answer is None or answer["Meeting"] is not self._wire:
            answer = {"Meeting": self.wire}
            object.__setattr__(self, "_answer", answer)
        return answer

    def to_wire(self) -> Dict[str, Any]:
        """The API's ``Meeting`` object (a copy you may change)."""
        return copy.deepcopy(self.wire)

    # -- attendee bookkeeping ----------------------------------------------
    def add_attendee(self, attendee: Attendee) -> None:
        # ``_next_seq`` is no wire field: stored past ``__setattr__`` (a call less).
        own = self.__dict__
        seq = attendee.seq = own["_next_seq"]
        own["_next_seq"] = seq + 1
        self.attendees[attendee.attendee_id] = attendee
        self.by_external_id[attendee.external_user_id] = attendee
        self._seqs.append(seq)
        self._by_seq.append(attendee)

    def new_attendee(self, attendee_id: str, external_user_id: str, join_token: str,
                     capabilities: Dict[str, str]) -> Attendee:
        """A new attendee of this meeting, added (``add_attendee`` of a new ``Attendee``)."""
        own = self.__dict__
        seq = own["_next_seq"]
        own["_next_seq"] = seq + 1
        attendee = Attendee(attendee_id, external_user_id, join_token, capabilities, seq)
        self.attendees[attendee_id] = attendee
        self.by_external_id[external_user_id] = attendee
        self._seqs.append(seq)
        self._by_seq.append(attendee)
        return attendee

    def add_attendees(self, attendees: List[Attendee]) -> None:
        """``add_attendee`` for each of ``attendees``, in order."""
        own = self.__dict__
        seq = own["_next_seq"]
        by_id, by_external = self.attendees, self.by_external_id
        for attendee in attendees:
            attendee.seq = seq
            seq += 1
            by_id[attendee.attendee_id] = attendee
            by_external[attendee.external_user_id] = attendee
        self._seqs.extend(range(own["_next_seq"], seq))
        self._by_seq.extend(attendees)
        own["_next_seq"] = seq

    def new_attendees(self, attendee_ids: List[str], external_user_ids: List[str], join_tokens: List[str],
                      capabilities: List[Dict[str, str]]) -> List[Attendee]:
        """New attendees of this meeting, in order, added (``new_attendee`` for
        each): their AttendeeIds and ExternalUserIds are unused, each once."""
        own = self.__dict__
        first = own["_next_seq"]
        seqs = range(first, first + len(attendee_ids))
        made = list(map(Attendee, attendee_ids, external_user_ids, join_tokens, capabilities, seqs))
        self.attendees.update(zip(attendee_ids, made))
        self.by_external_id.update(zip(external_user_ids, made))
        self._seqs.extend(seqs)
        self._by_seq.extend(made)
        own["_next_seq"] = seqs.stop
        return made

    def remove_attendee(self, attendee: Attendee) -> None:
        del self.attendees[attendee.attendee_id]
        by_external, external_id = self.by_external_id, attendee.external_user_id
        if by_external.get(external_id) is attendee:
            del by_external[external_id]
        seqs = self._seqs
        index = bisect_right(seqs, attendee.seq) - 1
        del seqs[index]
        del self._by_seq[index]

    def page_after(self, last_seq: int, size: int) -> Tuple[List[Attendee], Optional[int]]:
        start = bisect_right(self._seqs, last_seq)
        page = self._by_seq[start:start + size]
        more = start + size < len(self._seqs)
        return page, (page[-1].seq if more else None)


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"     # as dataclasses shows a default made by a factory


_NO_VALUE = _Factory()


def _direct_init(cls: Type[C]) -> Type[C]:
    """Give dataclass ``cls`` an ``__init__`` with the generated one's
    parameters and defaults that stores every field into the instance at
    once, rather than one by one through the class's own ``__setattr__``
    (Meeting's, which keeps its wire dict honest, costs a Python call each)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    namespace: Dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    params: List[str] = []
    lines: List[str] = []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_NO_VALUE")
            lines.append(f"    if {f.name} is _NO_VALUE:\n        {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
    lines.append("    self.__dict__.update({" + ", ".join(f"{f.name!r}: {f.name}" for f in fields) + "})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(lines), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)
    return cls


_direct_init(Meeting)


def json_copy(value: Any) -> Any:
    """``copy.deepcopy(value)`` of a value parsed from JSON (dicts, lists,
    strings, numbers, booleans, None), without deepcopy's bookkeeping; any
    other value goes to ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _JSON_SCALARS else json_copy(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _JSON_SCALARS else json_copy(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    return copy.deepcopy(value)


_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))

# ``json.dumps(value, separators=(",", ":"), sort_keys=True)`` with one C
# encoder made once (json.dumps makes an encoder per call); no check for
# circular references (the values are parsed JSON).
_SORTED = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_SORTED_C: Any = None if _c_make_encoder is None else _c_make_encoder(
    None, _SORTED.default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)


def sorted_json(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"), sort_keys=True)``."""
    if _SORTED_C is None:   # pragma: no cover - a Python without the C accelerator
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return "".join(_SORTED_C(value, 0))


def transcription_detail(meeting: Meeting, config: Dict[str, Any]) -> Dict[str, Any]:
    """The transcription events' extra detail: ``transcriptionRegion`` (the
    engine's ``Region`` when one is named, else the meeting's media region,
    where the service would pick one near it) and ``transcriptionConfiguration``
    (the configuration as given, as a JSON string, as the SDKs read it)."""
    settings = config.get("EngineTranscribeSettings") or config.get("EngineTranscribeMedicalSettings") or {}
    region = settings.get("Region")
    return {
        "transcriptionRegion": region if region and region != "auto" else meeting.media_region,
        "transcriptionConfiguration": sorted_json(config),
    }


class RegionState:
    """Everything one account holds in one control region (D7)."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.meetings: Dict[str, Meeting] = {}
        self.tokens: Dict[str, str] = {}   # ClientRequestToken -> MeetingId (D1)
