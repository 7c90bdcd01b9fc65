"""The protocol's fast paths (``Operation.parse`` / ``serialize`` written per
operation from the model, ``strictjson.loads``'s one-scan case) answer
exactly what the general paths answer: the same parameters in the same
order, the same error and message, the same bytes."""
from __future__ import annotations

import copy
import json
import sys

import pytest

from chime_mock.activation.handle import protocol
from chime_mock.ground import strictjson
from chime_mock.ground.errors import ServiceError

from .test_roundtrip import CALLS as ALL_CALLS
from .test_roundtrip import MODEL, _wire_request, installed

# The round-trip calls without members the installed botocore's model lacks
# (the oldest supported botocore has fewer).
CALLS = {op: installed(params, MODEL.operation_model(op).input_shape) for op, params in ALL_CALLS.items()}

ODD_VALUES = [None, 0, 1, -1, 10**30, 1.5, True, False, "", "a", "ab", "x" * 65, "y" * 300, "\ud800x",
              "ü«»", "SendReceive", "AVAILABLE", "DualStack", "None", [], ["t-1"], {}, {"Junk": 1}]


def _outcome(parse, path, query, headers, body):
    try:
        params = parse(path, query, headers, body)
    except ServiceError as error:
        return ("error", type(error).__name__, error.message, getattr(error, "params", None))
    except Exception as error:  # noqa: BLE001 - the same exception from both paths
        return ("raised", type(error).__name__, str(error))
    return ("ok", params, list(params))


def _variants(value):
    """``value`` (a request's JSON body) with one place changed at a time."""
    if isinstance(value, dict):
        for key in list(value):
            without = dict(value)
            del without[key]
            yield without
            for odd in ODD_VALUES:
                yield {**value, key: copy.deepcopy(odd)}
            for inner in _variants(value[key]):
                yield {**value, key: inner}
        yield {**value, "Undeclared": 1}
    elif isinstance(value, list):
        yield []
        yield value + [None]
        yield value * 60
        for index, item in enumerate(value):
            for inner in _variants(item):
                yield value[:index] + [inner] + value[index + 1:]


def _request(operation):
    request = _wire_request(operation, CALLS[operation])
    proto = protocol()
    _, path, raw_query = proto.split_url(request.url)
    return proto.operations[operation], path, proto.parse_query(raw_query), request.headers, request.body or b""


def _same(op, path, query, headers, body):
    fast = _outcome(op.parse, path, query, headers, body)
    general = _outcome(op.parse_general, path, query, headers, body)
    assert fast == general, (op.name, path, query, body)


def test_the_model_s_operations_have_their_own_parser_and_serializer():
    ops = protocol().operations
    for operation in CALLS:   # written at an operation's first call
        op, path, query, headers, body = _request(operation)
        op.parse(path, query, headers, body)
        op.serialize({}, "rid")
    assert all(op.fast_parse_source for op in ops.values())
    assert ops["GetMeeting"].fast_serialize_source and ops["CreateAttendee"].fast_serialize_source


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_a_valid_request_never_reaches_the_general_parser(operation):
    op, path, query, headers, body = _request(operation)
    called = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "parse_general":
            called.append(frame)
    sys.setprofile(profile)
    try:
        params = op.parse(path, query, headers, body)
    finally:
        sys.setprofile(None)
    assert params == CALLS[operation] and not called


@pytest.mark.parametrize("operation", sorted(name for name in CALLS if _request(name)[4]))
def test_every_body_variant_parses_as_the_general_path_does(operation):
    op, path, query, headers, body = _request(operation)
    document = json.loads(body)
    count = 0
    for variant in _variants(document):
        _same(op, path, query, headers, json.dumps(variant).encode())
        count += 1
    assert count > 5


RAW_BODIES = [b"", b"{}", b" {}", b"{} ", b"\xef\xbb\xbf{}", b"{}x", b"[]", b"null", b"1", b"NaN",
              b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1, "a": 2}', b"\xff{}", b'{"a": "\xff"}',
              b"[" * 100000, b'{"a":', "{}".encode("utf-16")]


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_odd_bodies_paths_and_queries_as_the_general_path(operation):
    op, path, query, headers, body = _request(operation)
    for raw in RAW_BODIES:
        _same(op, path, query, headers, raw)
        if body:
            _same(op, path, query, headers, body[:-1] + b',' + raw + b"}")
    guid = "0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713"
    for odd in ["", "not-a-guid", guid.upper(), "%30" + guid[1:], guid + "%2F", "%", "%ud800", "%C3%BC",
                guid.replace("-", "%2D")]:
        _same(op, path.replace(guid, odd), query, headers, body)
    _same(op, path + "/", query, headers, body)
    _same(op, "/nowhere", query, headers, body)
    for key in ("next-token", "max-results"):
        for odd in ["", "0", "7", "100", "101", "-1", "+5", "007", "1e3", "x" * 5000, "\ud800", "٣"]:
            _same(op, path, {**query, key: [odd]}, headers, body)


def test_the_strict_reader_s_one_scan_case_answers_as_the_full_reader():
    texts = [b"{}", b' {"a": 1}', b"\xef\xbb\xbf[1]", b"1 ", b"\n1", b"[1] [2]", b"NaN", b"[Infinity]",
             b'{"a": 1, "a": 2}', b"\xff", b"", b" ", b'"\\ud800"', b"[" * 5000 + b"]" * 5000]
    for data in texts + [t.decode("utf-8", "replace") for t in texts] + [bytearray(b"{}")]:
        results = []
        for read in (strictjson.loads, strictjson._loads):
            try:
                results.append(("ok", read(data)))
            except Exception as error:  # noqa: BLE001
                results.append((type(error).__name__, str(error)))
        assert results[0] == results[1], data


class _OwnJson:
    def wire_json(self):
        return '{"own":1}'


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_the_written_serializer_makes_the_general_bytes(operation):
    op = protocol().operations[operation]
    results = [None, {}, {"Unknown": 1}]
    for name in op.out_body:
        for value in ({"A": 1, "B": "ü"}, [1, {"x": None}], "text", 5, None, _OwnJson()):
            results.append({name: value})
        results.append({n: {"n": n} for n in op.out_body})
    for result in results:
        fast, general = op.serialize(result, "rid"), op.serialize_general(copy.deepcopy(result), "rid")
        assert (fast.status, fast.headers, fast.body) == (general.status, general.headers, general.body)


def _lists_of_structures(document):
    return [(key, value) for key, value in document.items()
            if isinstance(value, list) and value and isinstance(value[0], dict)]


LIST_CALLS = sorted(name for name in CALLS if _request(name)[4]
                    and _lists_of_structures(json.loads(_request(name)[4])))


def test_operations_with_lists_of_structures_are_covered():
    assert {"BatchCreateAttendee", "CreateMeetingWithAttendees",
            "BatchUpdateAttendeeCapabilitiesExcept"} <= set(LIST_CALLS)


@pytest.mark.parametrize("operation", LIST_CALLS)
def test_one_odd_item_among_good_ones_parses_as_the_general_path(operation):
    """A list of structures is checked column by column first: an item that
    breaks a rule anywhere in a list of good ones is still found."""
    op, path, query, headers, body = _request(operation)
    document = json.loads(body)
    for key, items in _lists_of_structures(document):
        good = items[0]
        for odd in list(_variants(good)) + ODD_VALUES:
            for at in (0, 4, 9):
                batch = [copy.deepcopy(good) for _ in range(10)]
                batch[at] = copy.deepcopy(odd)
                _same(op, path, query, headers, json.dumps({**document, key: batch}).encode())


@pytest.mark.parametrize("operation", LIST_CALLS)
def test_the_column_check_passes_good_lists_and_no_bad_one(operation):
    from chime_mock.protocol.validation import column_check

    op, path, query, headers, body = _request(operation)
    document = json.loads(body)
    for key, items in _lists_of_structures(document):
        check = column_check(op.input_shape.members[key].member)
        assert check([copy.deepcopy(items[0]) for _ in range(100)])
        for odd in _variants(items[0]):
            if _outcome(op.parse_general, path, query, headers,
                        json.dumps({**document, key: [odd]}).encode())[0] != "ok":
                assert not check([copy.deepcopy(items[0]), odd]), odd
