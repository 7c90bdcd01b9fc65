"""The server app's short way for API calls (in ``ChimeApp.answer``) and its
remembered answers give what the general path gives (issue 19)."""
from __future__ import annotations

import io
import json

import pytest

from chime_mock import ChimeService
from chime_mock.doors.request import scope_of
from chime_mock.doors.server.app import credential_scope, make_app

KEY_SCOPE = "AWS4-HMAC-SHA256 Credential=123456789012/20250101/eu-west-1/chime/aws4_request, " \
            "SignedHeaders=host, Signature=00"


@pytest.mark.parametrize("auth", [
    None, "", "Bearer x", KEY_SCOPE, KEY_SCOPE.replace("eu-west-1", "us-east-1"),
    "Credential=AKID/2025/us-east-1/chime, Credential=K2/20250101/ap-south-1/x/",
    "Credential=bad key, Credential=K3/20250101/us-west-2/chime/aws4_request",
    "Credential=K4/", "Credential=K5/20250101/US-EAST-1/chime", "Credential=,Credential=K6/x",
    "AWS4-HMAC-SHA256 Credential=K7/20250101/eu-central-1/chime/aws4_request",
])
def test_credential_scope_is_scope_of(auth):
    for _ in range(2):   # first computed, then remembered
        assert credential_scope(auth) == scope_of({"Authorization": auth} if auth is not None else {})


def environ(method, path, host, body=b"", auth=KEY_SCOPE):
    env = {"REQUEST_METHOD": method, "PATH_INFO": path.partition("?")[0], "QUERY_STRING": path.partition("?")[2],
           "REQUEST_URI": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "4666", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}
    if host is not None:
        env["HTTP_HOST"] = host
    if auth is not None:
        env["HTTP_AUTHORIZATION"] = auth
    if body:
        env["CONTENT_TYPE"], env["CONTENT_LENGTH"] = "application/json", str(len(body))
    return env


def strip_ids(answer):
    status, headers, body = answer
    ids = [v for k, v in headers if k.lower() == "x-amzn-requestid"]
    for value in ids:
        body = body.replace(value.encode(), b"ID")
    return status, [(k, "ID" if v in ids else v) for k, v in headers], body


@pytest.mark.parametrize("host", ["127.0.0.1:4666", "localhost", "evil.example", "meetings-chime.eu-west-1.amazonaws.com",
                                  "meetings-chime.us-east-1.amazonaws.com", "", "bad host", None])
@pytest.mark.parametrize("path", ["/meetings/{mid}", "/meetings/{mid}/attendees", "/", "/?x=1", "/_chime_mock/state",
                                  "/_chime_mock", "/meetings/00000000-0000-0000-0000-000000000000"])
def test_short_way_answers_as_the_general_path(host, path):
    service = ChimeService(seed=7)
    app = make_app(service)
    env = environ("POST", "/meetings", "127.0.0.1",
                  json.dumps({"ClientRequestToken": "tt", "ExternalMeetingId": "xx",
                              "MediaRegion": "eu-west-1"}).encode())
    mid = json.loads(b"".join(app(env, lambda *a: None)))["Meeting"]["MeetingId"]
    target = path.format(mid=mid)
    method = "POST" if path.endswith("attendees") else "GET"
    body = json.dumps({"ExternalUserId": "u-1"}).encode() if method == "POST" else b""
    for round_no in range(3):   # the Host value is remembered after the first accepted call
        general = strip_ids(app._answer(environ(method, target, host, body.replace(b"u-1", b"g%d" % round_no))))
        short = strip_ids(app.answer(environ(method, target, host, body.replace(b"u-1", b"s%d" % round_no))))
        assert short[0] == general[0]
        assert short[1] == general[1] or method == "POST" or "state" in path
        if method == "GET" and "state" not in path:
            assert short[2] == general[2]
    if host in ("127.0.0.1:4666", "localhost", "meetings-chime.eu-west-1.amazonaws.com") and path.startswith("/meetings"):
        assert host in app._api_hosts   # the short way was taken


def test_changing_allowed_hosts_forgets_accepted_hosts():
    app = make_app(ChimeService(), allowed_hosts=["chime.test"])
    env = environ("GET", "/meetings/00000000-0000-0000-0000-000000000000", "chime.test")
    assert app.answer(env)[0] == 404
    app.allowed_hosts = frozenset({"127.0.0.1"})
    assert app.answer(environ("GET", "/meetings/00000000-0000-0000-0000-000000000000", "chime.test"))[0] == 403
