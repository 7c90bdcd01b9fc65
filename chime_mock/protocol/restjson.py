"""The rest-json wire protocol, driven entirely by the botocore service model.

``Protocol`` turns a raw HTTP request (method, URL, headers, body) into an
operation name plus parameters, and an operation result or ``ServiceError``
into a raw HTTP response.  It knows HTTP and the model; it knows nothing about
meetings (that is ``backend``) nor about botocore events (that is ``_hooks``).

Routes, member locations, converters and validators are compiled once per
process; a call costs a regex match, a JSON decode/encode and one walk over
the parameters it carries.  For the common request and answer each
operation also has its own parser and serializer, written as Python source
from the model at its first call (``Operation.parse`` / ``serialize``):
every member's checks in line, no generic walk.  Anything they do not take
(any violation, anything unusual) goes to ``parse_general`` /
``serialize_general``, which decide alone; tests/test_wire_fastpaths.py
holds both to the same answers.
"""
from __future__ import annotations

import base64
import copy
import datetime
import functools
import linecache
import re
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, unquote

from botocore.model import OperationModel, Shape

from chime_mock.ground import fastjson
from chime_mock.ground.model import error_shapes, service_model
from chime_mock.ground.endpoints import split_url
from chime_mock.ground.errors import BadRequest, ChimeMockError, ServiceError
from chime_mock.ground import strictjson
from chime_mock.ground.locks import ForkSafeLock
from chime_mock.protocol.envelope import WireResponse, error_envelope
from chime_mock.protocol.validation import (Check, FastValidatorCompiler, InlineChecks, Unsupported, Valid,
                                            ValidatorCompiler, bad_request, camel, violation)

_LABEL = re.compile(r"\{([^}]+)\}")
_DUMPS = fastjson.dumps   # json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode, faster

# One value converted between wire JSON and Python; the top-level input
# converter works on a whole parameter dict.
Convert = Callable[[Any], Any]
ConvertParams = Callable[[Dict[str, Any]], Dict[str, Any]]
# (path, query, headers, body) -> parameters: ``Operation.parse``.
Parse = Callable[[str, Mapping[str, List[str]], Mapping[str, str], bytes], Dict[str, Any]]
# (result, request id) -> the raw answer: ``Operation.serialize``.
Serialize = Callable[[Optional[Mapping[str, Any]], str], WireResponse]


class _EncodedValues:
    """JSON bytes of answer objects the backend hands out again and again
    (a meeting's ``wire`` dict is built once and shared until the meeting
    changes): the bytes are kept per object, keyed by identity while a strong
    reference keeps that identity unique, and reused only while the object
    still equals the snapshot taken when its bytes were made, so an object
    changed in place is encoded afresh.  An object is kept only from its
    second appearance, so the fresh dicts of one answer cost one dict
    insertion each.  Both tables are bounded."""

    SIZE = 256

    def __init__(self) -> None:
        self._done: Dict[int, Tuple[Any, Any, bytes]] = {}
        self._seen: Dict[int, Any] = {}

    def encode(self, value: Any) -> bytes:
        key = id(value)
        entry = self._done.get(key)
        if entry is not None and entry[0] is value and value == entry[1]:
            return entry[2]
        data = _DUMPS(value).encode()
        try:
            if self._seen.get(key) is value:
                if len(self._done) >= self.SIZE:
                    del self._done[next(iter(self._done))]
                self._done[key] = (value, copy.deepcopy(value), data)
            else:
                if len(self._seen) >= self.SIZE:
                    del self._seen[next(iter(self._seen))]
                self._seen[key] = value
        except (KeyError, RuntimeError):   # another thread evicted the same entry: keep no bytes this time
            pass
        return data


_ENCODED = _EncodedValues()


def _value_json(value: Any) -> bytes:
    """The JSON bytes of an answer's member that is not a plain dict: its
    own ``wire_json()`` where it has one, else ``dumps``."""
    own = getattr(value, "wire_json", None)
    return (own() if own is not None else _DUMPS(value)).encode()


class _Refer(Exception):
    """Inside an operation's written parser: this request is the general path's."""


class RouteNotFound(ChimeMockError, LookupError):
    """No operation of the model matches the request's method, path and query."""


def _converter(shape: Shape, direction: str) -> Optional[Convert]:
    """Return a function converting wire JSON <-> Python for ``shape``, or None
    when the shape tree holds only JSON-native types (the common case: values
    pass through untouched)."""
    type_name = shape.type_name
    if type_name == "timestamp":
        if direction == "in":
            return lambda v: datetime.datetime.fromtimestamp(v, datetime.timezone.utc) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        return lambda v: v.timestamp() if isinstance(v, datetime.datetime) else v
    if type_name == "blob":
        if direction == "in":
            return lambda v: base64.b64decode(v) if isinstance(v, str) else v
        return lambda v: base64.b64encode(v).decode("ascii") if isinstance(v, (bytes, bytearray)) else v
    if type_name == "structure":
        subs = {n: c for n, m in shape.members.items() if (c := _converter(m, direction))}
        if direction == "in":
            return _structure_reader(shape, subs)
        if not subs:
            return None
        return lambda v: {k: (subs[k](x) if k in subs and x is not None else x) for k, x in v.items()} if isinstance(v, dict) else v
    if type_name == "list":
        item_sub = _converter(shape.member, direction)
        if item_sub is None:
            return None
        if direction == "in":
            def read_items(v: Any) -> Any:
                # The request's own freshly parsed list: converted in place.
                if isinstance(v, list):
                    for index, item in enumerate(v):
                        new = item_sub(item)
                        if new is not item:
                            v[index] = new
                return v
            return read_items
        return lambda v: [item_sub(x) for x in v] if isinstance(v, list) else v
    if type_name == "map":
        sub = _converter(shape.value, direction)
        if sub is None:
            return None
        return lambda v: {k: sub(x) for k, x in v.items()} if isinstance(v, dict) else v
    return None


def _structure_reader(shape: Shape, subs: Dict[str, Convert]) -> Convert:
    """A nested request structure keeps only the members its shape declares,
    as the service's deserializer does: an unknown member is dropped, never
    stored nor echoed back (so no junk, however odd, reaches the state).
    Works on the request's own freshly parsed objects, in place where it can."""
    known = frozenset(shape.members)
    converters = tuple(subs.items())

    def read(v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        if not known.issuperset(v):
            v = {k: x for k, x in v.items() if k in known}
        for name, convert in converters:
            item = v.get(name)
            if item is not None:
                v[name] = convert(item)
        return v
    return read


def _input_converter(shape: Shape) -> Optional[ConvertParams]:
    """The top-level input converter: its parameters are already only the
    declared members (``Operation.parse`` picks them), so only members that
    need converting or pruning are visited; None when there are none."""
    converters = tuple((n, c) for n, m in shape.members.items() if (c := _converter(m, "in")))
    if not converters:
        return None

    def convert(params: Dict[str, Any]) -> Dict[str, Any]:
        for name, one in converters:
            item = params.get(name)
            if item is not None:
                params[name] = one(item)
        return params
    return convert


# Text forms of numbers in a querystring or header, as the service's Java
# parsers read them (Integer/Long.parseLong, Double.parseDouble): ASCII only,
# no digit separators, no inner whitespace.
_INTEGER_TEXT = re.compile(r"([+-]?)0*([0-9]+)", re.ASCII)
_INTEGER_BITS = {"integer": 31, "long": 63}
_FLOAT_TEXT = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)", re.ASCII)
_HEX_FLOAT_TEXT = re.compile(
    r"([+-]?0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?", re.ASCII)
_JAVA_TRIM = "".join(map(chr, range(0x21)))   # String.trim(): every char <= ' '


def _integer_from_text(text: str, bits: int) -> int:
    match = _INTEGER_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(text)
    sign, digits = match.groups()
    if len(digits) > 20:
        raise ValueError(text)
    value = int(sign + digits)
    if not -(1 << bits) <= value < (1 << bits):
        raise ValueError(text)   # Java: NumberFormatException (out of range)
    return value


def _float_from_text(text: str) -> float:
    text = text.strip(_JAVA_TRIM)
    if _FLOAT_TEXT.fullmatch(text):
        if text.endswith(("NaN", "Infinity")):
            return float(text.replace("Infinity", "inf"))
        return float(text.rstrip("fFdD"))
    match = _HEX_FLOAT_TEXT.fullmatch(text)
    if match:
        return float.fromhex(match.group(1))
    raise ValueError(text)


def _scalar_from_text(shape: Shape, text: str, field: str) -> Any:
    """Convert a querystring/header string to the member's type."""
    type_name = shape.type_name
    try:
        if type_name in ("integer", "long"):
            return _integer_from_text(text, _INTEGER_BITS[type_name])
        if type_name in ("float", "double"):
            return _float_from_text(text)
        if type_name == "boolean":
            lowered = text.lower()
            if text.isascii() and lowered in ("true", "false"):
                return lowered == "true"
            raise ValueError(text)
        if type_name == "timestamp":
            if not text.isascii():
                raise ValueError(text)
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if type_name == "jsonvalue" or shape.serialization.get("jsonvalue"):
            return strictjson.loads(base64.b64decode(text))
    except (ValueError, RecursionError):
        kind = "an integer" if type_name in ("integer", "long") else "a " + type_name
        raise bad_request([violation(field, f"Member must be {kind}", text)]) from None
    return text


def _text_from_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return str(value)


class Operation:
    """One operation's compiled wire description."""

    def __init__(self, model: OperationModel, validators: ValidatorCompiler,
                 fast_validators: Optional[FastValidatorCompiler] = None) -> None:
        self.name = model.name
        self.model = model
        http = model.http
        self.method = http["method"]
        self.status = int(http.get("responseCode", 200))
        self._read_uri(http["requestUri"])
        self._read_input(model.input_shape, validators, fast_validators or FastValidatorCompiler())
        self._read_output(model.output_shape)

    def _read_uri(self, uri: str) -> None:
        """The route: the static query (``?operation=...``) and the path
        template as a regex; greedy labels ``{Key+}`` may span slashes."""
        path, _, query = uri.partition("?")
        self.static_query: Dict[str, str] = {}
        for part in filter(None, query.split("&")):
            key, _, value = part.partition("=")
            self.static_query[key] = value
        self.labels: List[str] = []
        pattern, literal, last = [], 0, 0
        for match in _LABEL.finditer(path):
            pattern.append(re.escape(path[last:match.start()]))
            literal += match.start() - last
            label = match.group(1)
            greedy = label.endswith("+")
            self.labels.append(label.rstrip("+"))
            pattern.append("(.*)" if greedy else "([^/]*)")
            last = match.end()
        pattern.append(re.escape(path[last:]))
        literal += len(path) - last
        self.path_regex = re.compile("".join(pattern) + "/?")
        self.specificity = (len(self.static_query), literal)

    def _read_input(self, shape: Optional[Shape], validators: ValidatorCompiler,
                    fast_validators: FastValidatorCompiler) -> None:
        """Where each input member travels (uri, querystring, header, body),
        its converter and its validators."""
        self.input_shape = shape
        self.uri_members: Dict[str, Tuple[str, Shape]] = {}
        self.query_members: List[Tuple[str, str, Shape]] = []
        self.header_members: List[Tuple[str, str, Shape]] = []
        self.body_members: Dict[str, Shape] = {}
        self.payload: Optional[str] = None
        self.input_converter: Optional[ConvertParams] = None
        self.validate: Optional[Check] = None
        self.valid: Optional[Valid] = None
        #: Parameters of one request, typed and validated as the model says:
        #: the parser written for this operation (``_compile_fast_parse``)
        #: where there is one, else ``parse_general``.
        self.parse: Parse = self.parse_general
        self.fast_parse_source: Optional[str] = None    # what ``_compile_fast_parse`` wrote, for reading
        if shape is None:
            return
        self.payload = shape.serialization.get("payload")
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                self.uri_members[wire] = (name, member)
            elif location == "querystring":
                self.query_members.append((wire, name, member))
            elif location in ("header", "headers"):
                self.header_members.append((wire.lower(), name, member))
            elif name != self.payload:
                self.body_members[name] = member
        if self.payload is None:
            self.input_converter = _input_converter(shape)
        self.validate = validators.compile(shape)
        self.valid = fast_validators.compile(shape)
        self.parse = self._first_parse

    # The written functions are compiled at an operation's first call (the
    # model's 16 operations cost some 20 ms together; a process calls a few).
    # Two threads' first calls may both compile: the same function, either kept.
    def _first_parse(self, path: str, query: Mapping[str, List[str]], headers: Mapping[str, str],
                     body: bytes) -> Dict[str, Any]:
        assert self.input_shape is not None
        self.parse = self._compile_fast_parse(self.input_shape) or self.parse_general
        return self.parse(path, query, headers, body)

    def _compile_fast_parse(self, shape: Shape) -> Optional[Parse]:
        """The operation's own parser, written once from the model: the path
        labels, the querystring's scalars and the body's members, each checked
        in line (``InlineChecks``).  Where the general path must decide (any
        violation, anything unusual) it hands the request to ``parse_general``
        from the start; otherwise it returns the very parameters
        ``parse_general`` would make, in the same order.
        None when the input holds what it does not handle (headers, a payload,
        maps, timestamps, blobs, recursion): the general path only."""
        if self.payload is not None or self.header_members:
            return None
        if set(self.labels) != set(self.uri_members) or len(set(self.labels)) != len(self.labels):
            return None
        namespace: Dict[str, Any] = {"_match": self.path_regex.fullmatch, "_unquote": unquote,
                                     "_intern": sys.intern, "_scan": strictjson.scan, "_scalar": _scalar_from_text,
                                     "_general": self.parse_general}
        # Every check hands over by raising ``_Refer`` inside one try
        # statement; the general path runs after it, outside any handler.
        namespace["_Refer"] = _Refer
        fail = "raise _Refer"
        checks = InlineChecks(namespace, fail, catches_type_error=True)
        lines = ["def fast_parse(path, query, headers, body):",
                 " try:",
                 "  match = _match(path)",
                 f"  if match is None: {fail}"]
        start = len(lines)
        entries = []
        required = set(shape.required_members)
        try:
            for index, label in enumerate(self.labels, 1):
                name, member = self.uri_members[label]
                if member.type_name != "string":
                    return None
                var = checks.name("u", bind=False)
                lines.append(f" {var} = match[{index}]")
                lines.append(f" if '%' in {var}: {var} = _unquote({var})")
                lines.append(f" if {checks.string_bad(member, var, known_str=True)}: {fail}")
                entries.append(f"{name!r}: _intern({var})")
            lines.append(" params = {" + ", ".join(entries) + "}")
            for wire, name, member in self.query_members:
                if member.type_name == "list":
                    return None
                var = checks.name("q", bind=False)
                lines.append(f" {var} = query.get({wire!r})")
                if name in required:
                    lines.append(f" if {var} is None: {fail}")
                lines.append(f" if {var} is not None:")
                if member.type_name == "string" and not member.serialization.get("jsonvalue"):
                    lines.append(f"  {var} = {var}[0]")
                    lines.append(f"  if {checks.string_bad(member, var, known_str=True)}: {fail}")
                else:
                    # The general path's conversion, raising as it would at this
                    # point; a short run of ASCII digits is the same int at once.
                    convert = f"_scalar({checks.name('_shape', member)}, {var}, {camel(name)!r})"
                    lines.append(f"  {var} = {var}[0]")
                    if member.type_name in _INTEGER_BITS:
                        lines.append(f"  {var} = int({var}) if {var}.isascii() and {var}.isdigit() and len({var}) < 10 "
                                     f"else {convert}")
                    else:
                        lines.append(f"  {var} = {convert}")
                    checks.emit(member, var, lines, "  ", nested=False)
                lines.append(f"  params[{name!r}] = {var}")
            if self.body_members:
                # strictjson.loads's common case in line; anything else
                # (a byte-order mark, spaces, bad JSON) is the general path's.
                # (The hand-over runs outside the except clause: the general
                # path's own errors carry no context from this attempt.)
                lines += [" if body:",
                          "  try:",
                          "   text = body.decode()",
                          "   data, end = _scan(text, 0)",
                          "  except Exception:",
                          "   data = None",
                          "  else:",
                          "   if end != len(text): data = None",
                          f"  if type(data) is not dict: {fail}",
                          " else:",
                          "  data = {}"]
                for name, member in self.body_members.items():
                    var = checks.name("b", bind=False)
                    if name in required:
                        lines.append(f" {var} = data.get({name!r})")
                        checks.emit(member, var, lines, " ")
                    else:
                        lines.append(f" if {name!r} in data:")
                        lines.append(f"  {var} = data[{name!r}]")
                        lines.append(f"  if {var} is not None:")
                        checks.emit(member, var, lines, "   ")
                    lines.append(f" {'' if name in required else ' '}params[{name!r}] = {var}")
            lines.append(" return params")
            lines[start:] = [" " + line for line in lines[start:]]
            lines += [" except (_Refer, TypeError):",
                      "  pass",
                      " return _general(path, query, headers, body)"]
            source = "\n".join(lines) + "\n"
            # Named after this file, and kept in linecache: a traceback shows the written lines.
            filename = f"{__file__}#{self.name}.fast_parse"
            code = compile(source, filename, "exec")
        except (Unsupported, SyntaxError, RecursionError):
            return None
        exec(code, namespace)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        self.fast_parse_source = source
        fast_parse: Parse = namespace["fast_parse"]
        return fast_parse

    def _read_output(self, out: Optional[Shape]) -> None:
        """Where each output member goes (header, status, body) and, for the
        common answer (JSON members only, at the operation's own status), the
        member names' encoded keys."""
        self.output_shape = out
        self.out_headers: List[Tuple[str, str]] = []
        self.out_status_member: Optional[str] = None
        self.out_body: List[str] = []
        self.out_payload: Optional[str] = None
        self.output_converter: Optional[Convert] = None
        self._plain_body: Optional[Tuple[Tuple[str, bytes], ...]] = None
        #: The raw HTTP answer for a result: the serializer written for this
        #: operation's common answer (``_compile_fast_serialize``) where it
        #: has one, else ``serialize_general``.
        self.serialize: Serialize = self.serialize_general
        self.fast_serialize_source: Optional[str] = None
        if out is None:
            return
        self.out_payload = out.serialization.get("payload")
        for name, member in out.members.items():
            location = member.serialization.get("location")
            if location == "header":
                self.out_headers.append((name, member.serialization.get("name", name)))
            elif location == "statusCode":
                self.out_status_member = name
            elif name != self.out_payload:
                self.out_body.append(name)
        self.output_converter = _converter(out, "out")
        if (self.output_converter is None and not self.out_headers and self.out_status_member is None
                and self.out_payload is None and self.status != 204):
            self._plain_body = tuple((name, _DUMPS(name).encode() + b":") for name in self.out_body)
            self.serialize = self._first_serialize

    def _first_serialize(self, result: Optional[Mapping[str, Any]], request_id: str) -> WireResponse:
        assert self._plain_body is not None
        self.serialize = self._compile_fast_serialize(self._plain_body)
        return self.serialize(result, request_id)

    def _compile_fast_serialize(self, plain: Tuple[Tuple[str, bytes], ...]) -> Serialize:
        """``serialize_general``'s common answer, written once for this
        operation: its members' keys and the response's fixed headers in
        line, no loop; the same bytes."""
        namespace: Dict[str, Any] = {"_general": self.serialize_general, "_encode": _ENCODED.encode,
                                     "_other": _value_json, "_Wire": WireResponse}
        lines = ["def fast_serialize(result, request_id):",
                 " if result is None: return _general(result, request_id)"]
        if len(plain) == 1:
            (name, key), = plain
            lines += [f" value = result.get({name!r})",
                      " if value is None: data = b'{}'",
                      " elif type(value) is dict: data = " + repr(b"{" + key) + " + _encode(value) + b'}'",
                      " else: data = " + repr(b"{" + key) + " + _other(value) + b'}'"]
        else:
            lines.append(" parts = []")
            for index, (name, key) in enumerate(plain):
                lines += [f" value = result.get({name!r})",
                          " if value is not None:",
                          f"  parts.append({key!r} + (_encode(value) if type(value) is dict else _other(value)))"]
            lines.append(" data = b'{' + b','.join(parts) + b'}'")
        lines.append(f" return _Wire({self.status!r}, {{'x-amzn-RequestId': request_id, "
                     f"'Content-Type': 'application/json', 'Content-Length': str(len(data))}}, data)")
        source = "\n".join(lines) + "\n"
        filename = f"{__file__}#{self.name}.fast_serialize"
        exec(compile(source, filename, "exec"), namespace)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        self.fast_serialize_source = source
        fast_serialize: Serialize = namespace["fast_serialize"]
        return fast_serialize

    # -- requests ---------------------------------------------------------
    def parse_general(self, path: str, query: Mapping[str, List[str]], headers: Mapping[str, str],
                      body: bytes) -> Dict[str, Any]:
        """``parse`` for every request: the members by location, the
        converters, the predicate and, for a refused request, the messages."""
        params: Dict[str, Any] = {}
        if self.input_shape is None:
            return params
        match = self.path_regex.fullmatch(path)
        if match is None:
            raise RouteNotFound(path)
        for label, raw in zip(self.labels, match.groups()):
            # Interned: an ID then shares the string the state keeps for it
            # (a meeting's ID is interned when it is made).
            params[self.uri_members[label][0]] = sys.intern(unquote(raw) if "%" in raw else raw)
        for wire, name, member in self.query_members:
            values = query.get(wire)
            if values is None:
                continue
            if member.type_name == "list":
                params[name] = [_scalar_from_text(member.member, v, camel(name)) for v in values]
            else:
                params[name] = _scalar_from_text(member, values[0], camel(name))
        for wire, name, member in self.header_members:
            if member.type_name == "map":
                found = {k[len(wire):]: v for k, v in headers.items() if k.lower().startswith(wire)}
                if found:
                    params[name] = found
                continue
            for key, value in headers.items():
                if key.lower() == wire:
                    params[name] = _scalar_from_text(member, value, camel(name))
                    break
        if body:
            if self.payload is not None:
                member = self.input_shape.members[self.payload]
                if member.type_name == "structure":
                    params[self.payload] = self._json(body)
                else:
                    params[self.payload] = body
            elif self.body_members:
                data = self._json(body)
                if not isinstance(data, dict):
                    raise BadRequest("The request body must be a JSON object")
                for name in self.body_members:
                    if name in data:
                        params[name] = data[name]
        if self.input_converter is not None:
            params = self.input_converter(params)
        assert self.valid is not None and self.validate is not None  # compiled whenever there is an input shape
        if not self.valid(params):
            errors: List[str] = []
            self.validate(params, "", errors)
            error = bad_request(errors)
            error.params = params    # what was sent, for the journal
            raise error
        return params

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return strictjson.loads(body)
        except UnicodeDecodeError:
            raise BadRequest("Could not parse request body into json: the body is not valid UTF-8") from None
        except RecursionError:
            raise BadRequest("Could not parse request body into json: the body is nested too deeply") from None
        except ValueError:
            raise BadRequest("Could not parse request body into json: the body is not valid JSON") from None

    # -- responses --------------------------------------------------------
    def serialize_general(self, result: Optional[Mapping[str, Any]], request_id: str) -> WireResponse:
        plain = self._plain_body
        if plain is not None and result is not None:
            # Byte for byte what the general path below makes: the members in
            # model order, compact separators; a member object shared between
            # answers is encoded once (``_EncodedValues``).
            # A member that writes its own JSON (``wire_json()``, e.g. the
            # backend's attendee lists) promises the same bytes, faster.
            encode = _ENCODED.encode
            parts = []
            for name, key in plain:
                value = result.get(name)
                if value is not None:
                    parts.append(key + (encode(value) if type(value) is dict else _value_json(value)))
            data = b"{" + b",".join(parts) + b"}"
            return WireResponse(self.status, {"x-amzn-RequestId": request_id, "Content-Type": "application/json",
                                              "Content-Length": str(len(data))}, data)
        headers = {"x-amzn-RequestId": request_id}
        status = self.status
        if self.output_shape is None or result is None:
            headers["Content-Length"] = "0"
            return WireResponse(status, headers, b"")
        if self.output_converter is not None:
            result = self.output_converter(dict(result))
        for name, wire in self.out_headers:
            value = result.get(name)
            if value is not None:
                headers[wire] = _text_from_scalar(value)
        if self.out_status_member is not None and result.get(self.out_status_member) is not None:
            status = int(result[self.out_status_member])
        if status == 204:
            body = b""
        elif self.out_payload is not None:
            value = result.get(self.out_payload)
            body = value if isinstance(value, bytes) else (_DUMPS(value).encode() if value is not None else b"")
        else:
            body = _DUMPS({k: result[k] for k in self.out_body if result.get(k) is not None}).encode()
        if body:
            headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
        return WireResponse(status, headers, body)


class Protocol:
    """Routes and (de)serializes every operation of the installed model."""

    def __init__(self) -> None:
        model = service_model()
        validators = ValidatorCompiler()
        fast_validators = FastValidatorCompiler()
        self.operations: Dict[str, Operation] = {
            name: Operation(model.operation_model(name), validators, fast_validators)
            for name in model.operation_names
        }
        by_method: Dict[str, List[Operation]] = {}
        for op in self.operations.values():
            by_method.setdefault(op.method, []).append(op)
        for ops in by_method.values():
            ops.sort(key=lambda o: o.specificity, reverse=True)
        self._by_method = by_method
        self._errors = error_shapes()
        # Which operation answered a (method, path, static query values): the
        # answers of recent requests are kept (a path holds IDs, so this is a
        # small table of what is being called now, not of every route).
        self._static_keys = tuple(sorted({k for op in self.operations.values() for k in op.static_query}))
        self._routes: Dict[Tuple[Any, ...], Operation] = {}
        self._stripped: Dict[Tuple[str, str], str] = {}     # (url, operation) -> strip_base_path's answer

    ROUTES_KEPT = 1024

    def route(self, method: str, path: str, query: Mapping[str, List[str]]) -> Operation:
        """The operation a raw request addresses (most specific match wins)."""
        key = (method, path, *[(query.get(k) or (None,))[0] for k in self._static_keys]) if query else (method, path)
        op = self._routes.get(key)
        if op is not None:
            return op
        for op in self._by_method.get(method.upper(), ()):
            if op.path_regex.fullmatch(path) is None:
                continue
            if all(query.get(k, [None])[0] == v for k, v in op.static_query.items()):
                routes = self._routes
                if len(routes) >= self.ROUTES_KEPT:
                    try:
                        del routes[next(iter(routes))]
                    except (KeyError, RuntimeError, StopIteration):   # another thread got there first
                        pass
                routes[key] = op
                return op
        raise RouteNotFound(f"{method} {path}")

    #: ``(host, path, raw query)`` of an absolute URL (the package's one splitter).
    split_url = staticmethod(split_url)

    def strip_base_path(self, url: str, operation: str) -> str:
        """``url`` without the base path of a client's ``endpoint_url``
        (``http://localhost:4566/chime`` + ``/meetings/{MeetingId}``): labels
        are percent-encoded, so the operation's path is the URL path's last
        segments that fit its template (plus an optional trailing slash).
        The usual URL (no base path) costs one match."""
        op = self.operations.get(operation)
        if op is None or op.path_regex.fullmatch(split_url(url)[1]):
            return url
        key = (url, operation)
        known = self._stripped.get(key)
        if known is not None:
            return known
        stripped = self._strip_base_path(url, operation)
        if len(self._stripped) >= self.ROUTES_KEPT:
            try:
                del self._stripped[next(iter(self._stripped))]
            except (KeyError, RuntimeError, StopIteration):   # another thread got there first
                pass
        self._stripped[key] = stripped
        return stripped

    def _strip_base_path(self, url: str, operation: str) -> str:
        op = self.operations.get(operation)
        start = url.find("://")
        slash = url.find("/", start + 3 if start >= 0 else 0)
        if op is None or slash < 0:
            return url
        path, sep, rest = url[slash:].partition("?")
        fullmatch = op.path_regex.fullmatch
        if fullmatch(path):
            return url
        index = len(path)
        while index > 0:
            index = path.rfind("/", 0, index)
            if index <= 0:
                break
            if fullmatch(path[index:]):
                return url[:slash] + path[index:] + sep + rest
        return url

    @staticmethod
    def parse_query(raw_query: str) -> Dict[str, List[str]]:
        return parse_qs(raw_query, keep_blank_values=True) if raw_query else {}

    def error_response(self, error: ServiceError, request_id: str) -> WireResponse:
        """The error envelope (docs/behaviour.md#d5): status, x-amzn-ErrorType,
        x-amzn-RequestId, body ``Code``/``Message``/``RequestId`` and the
        shape's other members."""
        shape = self._errors.get(error.shape)
        status = error.status
        headers: Dict[str, str] = {}
        body: Dict[str, Any] = {}
        if shape is not None:
            status = shape.metadata.get("error", {}).get("httpStatusCode", status)
            for name, member in shape.members.items():
                if name in ("Code", "Message", "RequestId"):
                    continue
                value = error.members.get(name)
                if value is None:
                    continue
                if member.serialization.get("location") == "header":
                    headers[member.serialization.get("name", name)] = _text_from_scalar(value)
                else:
                    body[name] = value
        return error_envelope(status, error.shape, error.message, request_id,
                              body_members=body, header_members=headers)


_PROTOCOL: Optional[Protocol] = None
_PROTOCOL_LOCK = ForkSafeLock()


def protocol() -> Protocol:
    """The process-wide protocol engine (compiled from the model on first use)."""
    global _PROTOCOL
    if _PROTOCOL is None:
        with _PROTOCOL_LOCK:
            if _PROTOCOL is None:
                _PROTOCOL = Protocol()
    return _PROTOCOL


__all__ = ["protocol", "Protocol", "Operation", "WireResponse", "RouteNotFound"]
