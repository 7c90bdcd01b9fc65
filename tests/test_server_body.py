"""``read_body`` (one read for a Content-Length body, one read of an empty
stream) and the refusals of the app's short way for API calls: the same
bodies, 400s and 413s under any WSGI server, not only waitress."""
from __future__ import annotations

import io
import json

import pytest

from chime_mock import ChimeService
from chime_mock.doors.server.app import RequestTooLarge, make_app, read_body


class Trickle(io.BytesIO):
    """A stream that gives at most ``step`` bytes per read (a socket file)."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self.step = step
        self.reads = 0

    def read(self, size: int = -1) -> bytes:   # type: ignore[override]
        self.reads += 1
        return super().read(self.step if size is None or size < 0 else min(size, self.step))


class Untouchable(io.BytesIO):
    def read(self, size: int = -1) -> bytes:   # type: ignore[override]
        raise AssertionError("the body was read")


def env(length=None, stream=None, **extra):
    environ = {"wsgi.input": stream}
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    environ.update(extra)
    return environ


@pytest.mark.parametrize("length, data, expected", [
    ("5", b"hello world", b"hello"),
    ("0", b"hello", b""),
    ("10", b"abcd", b"abcd"),                  # the stream ends early: what there is
    ("+5", b"hello world", b"hello"),           # int() accepts it, as before
    (" 5", b"hello world", b"hello"),
    ("\u0665", b"hello world", b"hello"),       # ARABIC-INDIC DIGIT FIVE: a decimal to int()
    ("0005", b"hello world", b"hello"),
])
def test_content_length_body(length, data, expected):
    assert read_body(env(length, io.BytesIO(data)), 100) == expected


def test_short_reads_are_joined():
    stream = Trickle(b"0123456789abcdef", 3)
    assert read_body(env("16", stream), 100) == b"0123456789abcdef"
    assert stream.reads == 6


def test_one_read_when_the_stream_gives_it_whole():
    stream = Trickle(b"x" * 5000, 10_000)
    assert read_body(env("5000", stream), 10_000) == b"x" * 5000
    assert stream.reads == 1


@pytest.mark.parametrize("length, message", [
    ("abc", "is not a number"), ("\u00b2", "is not a number"), ("9" * 5000, "is not a number"),
    ("-1", "is negative"), ("", None),
])
def test_bad_content_length(length, message):
    if message is None:   # an empty value: no Content-Length, no body
        assert read_body(env(length, io.BytesIO(b"")), 100) == b""
        return
    with pytest.raises(ValueError, match=message):
        read_body(env(length, Untouchable()), 100)


@pytest.mark.parametrize("length", ["101", "99999999999999999999", "1" + "0" * 30])
def test_too_long_is_refused_before_reading(length):
    with pytest.raises(RequestTooLarge):
        read_body(env(length, Untouchable()), 100)


def test_no_stream_is_no_body():
    assert read_body(env("5", None), 100) == b""
    assert read_body(env(None, None, **{"wsgi.input_terminated": True}), 100) == b""


@pytest.mark.parametrize("extra, expected", [
    ({"wsgi.input_terminated": True}, b"y" * 200_000),
    ({"HTTP_TRANSFER_ENCODING": "Chunked"}, b"y" * 200_000),
    ({}, b""),                                  # neither: a request without a body
])
def test_body_without_length_reads_to_the_end(extra, expected):
    assert read_body(env(None, io.BytesIO(b"y" * 200_000), **extra), 1_000_000) == expected


def test_empty_stream_without_length():
    stream = Trickle(b"", 10)
    assert read_body(env(None, stream, **{"wsgi.input_terminated": True}), 100) == b""
    assert stream.reads == 1


@pytest.mark.parametrize("size", [100, 101, 150, 65536 * 2])
def test_body_without_length_over_the_limit(size):
    stream = Trickle(b"z" * size, 64)
    if size > 100:
        with pytest.raises(RequestTooLarge):
            read_body(env(None, stream, **{"wsgi.input_terminated": True}), 100)
        assert stream.tell() <= 101 + 64   # stopped soon after the limit
    else:
        assert read_body(env(None, stream, **{"wsgi.input_terminated": True}), 100) == b"z" * size


# -- through the app, on the short way (an accepted Host) -------------------------------------
def environ(method, target, body=b"", length=None, host="127.0.0.1:4666"):
    env = {"REQUEST_METHOD": method, "REQUEST_URI": target, "PATH_INFO": target.partition("?")[0],
           "QUERY_STRING": target.partition("?")[2], "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "4666",
           "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True,
           "HTTP_HOST": host, "CONTENT_TYPE": "application/json",
           "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=123456789012/20250101/us-east-1/chime/"
                                 "aws4_request, SignedHeaders=host, Signature=00"}
    env["CONTENT_LENGTH"] = str(len(body)) if length is None else length
    return env


def call(app, env):
    seen = []
    body = b"".join(app(env, lambda status, headers: seen.append((status, headers))))
    return seen[0][0], dict(seen[0][1]), body


@pytest.fixture
def app_and_meeting():
    app = make_app(ChimeService(seed=3), max_body=1000)
    status, _, body = call(app, environ("POST", "/meetings", json.dumps(
        {"ClientRequestToken": "tok", "ExternalMeetingId": "ext", "MediaRegion": "us-east-1"}).encode()))
    assert status == "200 OK"
    assert "127.0.0.1:4666" in app._api_hosts   # later calls take the short way
    return app, json.loads(body)["Meeting"]["MeetingId"]


def test_short_way_answers(app_and_meeting):
    app, mid = app_and_meeting
    status, headers, body = call(app, environ("POST", f"/meetings/{mid}/attendees", b'{"ExternalUserId":"u-1"}'))
    assert status == "200 OK" and json.loads(body)["Attendee"]["ExternalUserId"] == "u-1"
    assert headers["Content-Length"] == str(len(body))
    status, headers, body = call(app, environ("GET", f"/meetings/{mid}", length=""))
    assert status == "200 OK" and json.loads(body)["Meeting"]["MeetingId"] == mid
    status, headers, body = call(app, environ("HEAD", f"/meetings/{mid}", length=""))
    assert body == b"" and int(headers["Content-Length"]) > 0   # HEAD: the head of the answer only


@pytest.mark.parametrize("length, status, code", [
    ("abc", "400 Bad Request", "BadRequestException"),
    ("-3", "400 Bad Request", "BadRequestException"),
    ("1001", "413 Payload Too Large", "RequestEntityTooLargeException"),
])
def test_short_way_refuses_bodies_as_the_general_path(app_and_meeting, length, status, code):
    app, mid = app_and_meeting
    short_env = environ("POST", f"/meetings/{mid}/attendees", b'{"ExternalUserId":"u-2"}', length=length)
    short = call(app, short_env)
    general_env = environ("POST", f"/meetings/{mid}/attendees", b'{"ExternalUserId":"u-2"}', length=length,
                          host="localhost")       # a Host not accepted yet: the general path
    general = call(app, general_env)
    for answer in (short, general):
        assert answer[0] == status and answer[1]["x-amzn-ErrorType"] == code
    assert short[2] == general[2]
    assert short_env.get("chime_mock.close") == general_env.get("chime_mock.close") == (code.startswith("Request") or None)
