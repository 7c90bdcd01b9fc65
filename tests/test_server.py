"""Server mode over real HTTP: boto3 against a ``chime-mock serve`` process,
the control API (raw and through ChimeMockClient), wire identity with the
in-process engine, and what the front door refuses."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from chime_mock.doors.request import answer
from chime_mock import ChimeService
from chime_mock.doors.server.client import ChimeMockClient, ChimeMockClientError, ServerProcess
from chime_mock.service.pipeline import protocol
from tests.helpers import read_until

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


def boto_client(url, region="us-east-1", key="testing"):
    return boto3.client("chime-sdk-meetings", endpoint_url=url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key="testing", config=NO_RETRY)


def raw(url, method, path, body=None, headers=None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    headers = dict(headers or {})
    if data is not None:  # the control API takes JSON bodies only
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


@pytest.fixture
def server(chime_meetings_server):
    return chime_meetings_server


@pytest.fixture
def chime(server):
    return boto_client(server.url)


def _new_meeting(chime, token="t-1", **extra):
    return chime.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                ExternalMeetingId="m-" + token, **extra)["Meeting"]


# -- boto3 ---------------------------------------------------------------------------------
def test_every_operation_through_boto3(server, chime):
    meeting = _new_meeting(chime, Tags=[{"Key": "team", "Value": "a"}])
    mid = meeting["MeetingId"]
    assert meeting["MeetingArn"] == f"arn:aws:chime:us-east-1:123456789012:meeting/{mid}"
    assert chime.get_meeting(MeetingId=mid)["Meeting"] == meeting
    both = chime.create_meeting_with_attendees(ClientRequestToken="t-2", MediaRegion="eu-west-2",
                                               ExternalMeetingId="m2", Attendees=[{"ExternalUserId": "u-1"}])
    assert [a["ExternalUserId"] for a in both["Attendees"]] == ["u-1"]
    alice = chime.create_attendee(MeetingId=mid, ExternalUserId="alice")["Attendee"]
    batch = chime.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "bob"},
                                                                   {"ExternalUserId": "aws:bad"}])
    assert [a["ExternalUserId"] for a in batch["Attendees"]] == ["bob"]
    assert batch["Errors"][0]["ErrorCode"] == "BadRequest"
    assert chime.get_attendee(MeetingId=mid, AttendeeId=alice["AttendeeId"])["Attendee"] == alice
    caps = {"Audio": "SendReceive", "Video": "None", "Content": "None"}
    updated = chime.update_attendee_capabilities(MeetingId=mid, AttendeeId=alice["AttendeeId"], Capabilities=caps)
    assert updated["Attendee"]["Capabilities"] == caps
    chime.batch_update_attendee_capabilities_except(MeetingId=mid, Capabilities=caps,
                                                    ExcludedAttendeeIds=[{"AttendeeId": alice["AttendeeId"]}])
    listed = chime.list_attendees(MeetingId=mid)["Attendees"]
    assert {a["ExternalUserId"]: a["Capabilities"] for a in listed} == {"alice": caps, "bob": caps}
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration={
        "EngineTranscribeSettings": {"LanguageCode": "en-US"}})
    assert server.client.meeting(mid)["Transcription"] == {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    chime.stop_meeting_transcription(MeetingId=mid)
    chime.tag_resource(ResourceARN=meeting["MeetingArn"], Tags=[{"Key": "env", "Value": "dev"}])
    chime.untag_resource(ResourceARN=meeting["MeetingArn"], TagKeys=["team"])
    assert chime.list_tags_for_resource(ResourceARN=meeting["MeetingArn"])["Tags"] == [{"Key": "env", "Value": "dev"}]
    chime.delete_attendee(MeetingId=mid, AttendeeId=alice["AttendeeId"])
    chime.delete_meeting(MeetingId=mid)
    with pytest.raises(chime.exceptions.NotFoundException) as caught:
        chime.get_meeting(MeetingId=mid)
    assert caught.value.response["Error"]["Message"] == f"Meeting <{mid}> not found"
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    seen = {call["Operation"] for call in server.client.journal()}
    assert seen == set(protocol().operations), set(protocol().operations) - seen


@pytest.mark.parametrize("error, call", [
    ("BadRequestException", lambda c, m: c.create_attendee(MeetingId=m, ExternalUserId="aws:x")),
    ("NotFoundException", lambda c, m: c.get_attendee(MeetingId=m, AttendeeId="0" * 8 + "-0000-0000-0000-" + "0" * 12)),
    ("ResourceNotFoundException", lambda c, m: c.list_tags_for_resource(
        ResourceARN="arn:aws:chime:us-east-1:123456789012:meeting/" + "1" * 8 + "-1111-4111-8111-" + "1" * 12)),
    ("LimitExceededException", lambda c, m: [c.create_attendee(MeetingId=m, ExternalUserId=f"user-{i}")
                                             for i in range(3)]),
])
def test_errors_arrive_as_modeled_exception_classes(chime, error, call):
    mid = _new_meeting(chime, MeetingFeatures={"Attendee": {"MaxCount": 2}})["MeetingId"]
    with pytest.raises(getattr(chime.exceptions, error)) as caught:
        call(chime, mid)
    assert caught.value.response["Error"]["Code"] == error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404, 429)


def test_paging_by_next_token(chime):
    mid = _new_meeting(chime)["MeetingId"]
    for i in range(23):
        chime.create_attendee(MeetingId=mid, ExternalUserId=f"user-{i:02d}")
    for size, sizes in ((5, [5, 5, 5, 5, 3]), (None, [10, 10, 3])):
        names, token, seen = [], None, []
        while True:
            page = chime.list_attendees(MeetingId=mid, **({"NextToken": token} if token else {}),
                                        **({"MaxResults": size} if size else {}))
            names += [a["ExternalUserId"] for a in page["Attendees"]]
            seen.append(len(page["Attendees"]))
            token = page.get("NextToken")
            if not token:
                break
        assert seen == sizes
        assert names == [f"user-{i:02d}" for i in range(23)]
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.list_attendees(MeetingId=mid, NextToken="forged")


def test_endpoint_from_environment_variable(server):
    code = ("import boto3; c = boto3.client('chime-sdk-meetings'); "
            "m = c.create_meeting(ClientRequestToken='env', MediaRegion='us-west-2', ExternalMeetingId='env')"
            "['Meeting']; print(m['MeetingArn'])")
    env = dict(server.env, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_DEFAULT_REGION="us-west-2", AWS_REGION="us-west-2")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("arn:aws:chime:us-west-2:123456789012:meeting/")
    assert [m["Region"] for m in server.client.meetings()] == ["us-west-2"]


def test_accounts_and_regions_are_held_apart(server):
    one = boto_client(server.url, key="111122223333")
    two = boto_client(server.url, key="444455556666")
    west = boto_client(server.url, region="us-west-2", key="111122223333")
    mid = _new_meeting(one)["MeetingId"]
    for other in (two, west):
        with pytest.raises(other.exceptions.NotFoundException):
            other.get_meeting(MeetingId=mid)
    assert one.get_meeting(MeetingId=mid)["Meeting"]["MeetingArn"].split(":")[3:5] == ["us-east-1", "111122223333"]
    _new_meeting(two, "t-2")
    _new_meeting(boto_client(server.url, key="AKIDNOTDIGITS"), "t-3")
    assert sorted(m["Account"] for m in server.client.meetings()) == ["111122223333", "123456789012", "444455556666"]
    assert [m["MeetingId"] for m in server.client.meetings(account="111122223333")] == [mid]
    calls = server.client.journal("GetMeeting")
    assert [(c["Account"], c["Region"], c["Error"]) for c in calls] == [
        ("444455556666", "us-east-1", "NotFoundException"), ("111122223333", "us-west-2", "NotFoundException"),
        ("111122223333", "us-east-1", None)]


def test_concurrent_clients_share_one_service(server):
    chime = boto_client(server.url)
    mid = _new_meeting(chime)["MeetingId"]
    errors = []

    def work(n):
        try:
            client = boto_client(server.url)
            for i in range(10):
                client.create_attendee(MeetingId=mid, ExternalUserId=f"w{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(server.client.meeting(mid)["Attendees"]) == 80


# -- same wire bytes as in-process -----------------------------------------------------------
@pytest.fixture(scope="module")
def seeded_server():
    with ServerProcess(["--seed", "11"]) as process:
        yield process


def test_same_wire_bytes_as_in_process(seeded_server):
    seeded_server.client.reset()
    chime = boto_client(seeded_server.url)
    exchanges = []

    def capture_request(request, **kwargs):
        exchanges.append({"method": request.method, "url": request.url, "headers": dict(request.headers.items()),
                          "body": request.body if isinstance(request.body, bytes) else (request.body or b"")})

    def capture_response(http_response, **kwargs):
        exchanges[-1].update(status=http_response.status_code, response_headers=dict(http_response.headers),
                             response_body=http_response.content)

    chime.meta.events.register("before-send.chime-sdk-meetings", capture_request)
    chime.meta.events.register("after-call.chime-sdk-meetings", lambda http_response, **kw: capture_response(
        http_response))
    mid = _new_meeting(chime)["MeetingId"]
    chime.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": f"u-{i}"} for i in range(12)])
    page = chime.list_attendees(MeetingId=mid, MaxResults=5)
    chime.list_attendees(MeetingId=mid, MaxResults=5, NextToken=page["NextToken"])
    for call in (lambda: chime.get_meeting(MeetingId="0" * 8 + "-0000-4000-8000-" + "0" * 12),
                 lambda: chime.create_attendee(MeetingId=mid, ExternalUserId="aws:x")):
        with pytest.raises(chime.exceptions.ClientError):
            call()
    chime.delete_meeting(MeetingId=mid)
    assert len(exchanges) == 7

    service = ChimeService(seed=11)
    for exchange in exchanges:
        body = exchange["body"] if isinstance(exchange["body"], bytes) else exchange["body"].encode()
        wire = answer(service, exchange["method"], exchange["url"], exchange["headers"], body,
                      scope_region="us-east-1", access_key="testing")
        assert wire.status == exchange["status"], exchange
        assert wire.body == exchange["response_body"], exchange
        # The HTTP server adds Date and Server; for a 204 it must drop Content-Length
        # (RFC 9110) and waitress then closes the connection.
        added = ("date", "server") + (("connection",) if wire.status == 204 else ())
        over_http = {k.lower(): v for k, v in exchange["response_headers"].items() if k.lower() not in added}
        in_process = {k.lower(): v for k, v in wire.headers.items()
                      if not (wire.status == 204 and k.lower() == "content-length")}
        assert over_http == in_process


# -- the control API ---------------------------------------------------------------------------
def test_control_routes_over_raw_http(server):
    url = server.url
    status, headers, body = raw(url, "GET", "/_chime_mock/health")
    health = json.loads(body)
    assert (status, health["status"], health["service"]) == (200, "ok", "chime-sdk-meetings")
    assert headers["content-type"] == "application/json"

    status, _, body = raw(url, "POST", "/_chime_mock/meetings", {"ExternalMeetingId": "seeded", "Region": "eu-central-1",
                                                                 "Account": "111122223333",
                                                                 "Tags": [{"Key": "k", "Value": "v"}]})
    meeting = json.loads(body)
    mid = meeting["MeetingId"]
    assert (status, meeting["Region"], meeting["Account"], meeting["Tags"]) == (200, "eu-central-1", "111122223333",
                                                                              {"k": "v"})
    assert meeting["MediaRegion"] == "eu-central-1" and meeting["Attendees"] == [] and meeting["Replicas"] == []
    status, _, body = raw(url, "POST", f"/_chime_mock/meetings/{mid}/attendees", {"ExternalUserId": "host"})
    attendee = json.loads(body)
    assert status == 200 and attendee["Connected"] is False and len(attendee["JoinToken"]) == 98
    status, _, body = raw(url, "POST", f"/_chime_mock/meetings/{mid}/attendees/{attendee['AttendeeId']}/connected",
                          {"Connected": True})
    assert (status, json.loads(body)) == (200, {})
    status, _, body = raw(url, "GET", f"/_chime_mock/meetings/{mid}")
    assert json.loads(body)["Attendees"][0]["Connected"] is True
    status, _, body = raw(url, "GET", "/_chime_mock/state?account=111122223333&region=eu-central-1")
    state = json.loads(body)
    assert [m["MeetingId"] for m in state["meetings"]] == [mid] and state["now"] > 1.6e9
    assert json.loads(raw(url, "GET", "/_chime_mock/state?region=us-east-1")[2])["meetings"] == []

    # faults, with a parameter match
    status, _, body = raw(url, "POST", "/_chime_mock/faults", {"Error": "ThrottlingException", "Operation": "GetMeeting",
                                                               "Times": None, "Match": {"MeetingId": mid}})
    fault = json.loads(body)
    assert status == 200 and fault["Times"] is None and fault["Match"] == {"MeetingId": mid}
    chime = boto_client(url, region="eu-central-1", key="111122223333")
    with pytest.raises(chime.exceptions.ThrottlingException):
        chime.get_meeting(MeetingId=mid)
    with pytest.raises(chime.exceptions.NotFoundException):   # another id: not matched
        chime.get_meeting(MeetingId=mid[:-1] + ("0" if mid[-1] != "0" else "1"))
    faults = json.loads(raw(url, "GET", "/_chime_mock/faults")[2])["faults"]
    assert [(f["Id"], f["Fired"]) for f in faults] == [(fault["Id"], 1)]
    assert raw(url, "DELETE", f"/_chime_mock/faults/{fault['Id']}")[0] == 200
    assert raw(url, "DELETE", f"/_chime_mock/faults/{fault['Id']}")[0] == 404
    assert chime.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid
    raw(url, "POST", "/_chime_mock/faults", {"Error": "ServiceUnavailableException", "RetryAfter": 7})
    assert raw(url, "DELETE", "/_chime_mock/faults")[0] == 200
    assert json.loads(raw(url, "GET", "/_chime_mock/faults")[2]) == {"faults": []}

    # the journal
    calls = json.loads(raw(url, "GET", "/_chime_mock/journal?operation=GetMeeting&ok=false")[2])["calls"]
    assert [(c["Error"], c["Injected"], c["Status"]) for c in calls] == [
        ("ThrottlingException", True, 429), ("NotFoundException", False, 404)]
    assert set(calls[0]) == {"Operation", "Params", "Region", "Account", "RequestId", "Status", "Error",
                             "ErrorMessage", "Injected", "At"}
    assert len(json.loads(raw(url, "GET", "/_chime_mock/journal?limit=1")[2])["calls"]) == 1
    assert raw(url, "DELETE", "/_chime_mock/journal")[0] == 200
    assert json.loads(raw(url, "GET", "/_chime_mock/journal")[2]) == {"calls": []}

    # clock
    before = json.loads(raw(url, "GET", "/_chime_mock/clock")[2])["now"]
    after = json.loads(raw(url, "POST", "/_chime_mock/clock", {"Advance": 3600})[2])
    assert after["now"] - before >= 3600 and after["Ended"] == []
    assert abs(json.loads(raw(url, "POST", "/_chime_mock/clock", {"Time": 2e9})[2])["now"] - 2e9) < 5

    # snapshot and restore
    snapshot = json.loads(raw(url, "GET", "/_chime_mock/snapshot")[2])
    assert snapshot["chime_mock_snapshot"] == 1
    status, _, body = raw(url, "POST", f"/_chime_mock/meetings/{mid}/end")
    assert (status, json.loads(body)) == (200, {"Ended": [mid]})
    assert raw(url, "GET", f"/_chime_mock/meetings/{mid}")[0] == 404
    assert raw(url, "POST", "/_chime_mock/snapshot", snapshot)[0] == 200
    assert json.loads(raw(url, "GET", f"/_chime_mock/meetings/{mid}")[2])["Attendees"][0]["ExternalUserId"] == "host"

    assert raw(url, "POST", "/_chime_mock/reset")[0] == 200
    assert json.loads(raw(url, "GET", "/_chime_mock/state")[2])["meetings"] == []


@pytest.mark.parametrize("method, path, body, status, code", [
    ("GET", "/_chime_mock/nothing", None, 404, "NotFound"),
    ("PUT", "/_chime_mock/health", None, 405, "MethodNotAllowed"),
    ("POST", "/_chime_mock/meetings", b"{not json", 400, "BadRequest"),
    ("POST", "/_chime_mock/meetings", b"[1]", 400, "BadRequest"),
    ("POST", "/_chime_mock/meetings", {"Account": "12"}, 400, "BadRequest"),
    ("POST", "/_chime_mock/meetings", {"MediaRegion": "mars-1"}, 400, "BadRequest"),
    ("POST", "/_chime_mock/meetings", {"Nonsense": 1}, 400, "BadRequest"),
    ("POST", "/_chime_mock/meetings", {"ExternalMeetingId": "aws:reserved"}, 400, "BadRequest"),
    ("GET", "/_chime_mock/meetings/unknown", None, 404, "NotFound"),
    ("POST", "/_chime_mock/meetings/unknown/attendees", {"ExternalUserId": "abc"}, 404, "NotFound"),
    ("POST", "/_chime_mock/faults", {"Error": "ThrottlingExeption"}, 400, "BadRequest"),
    ("POST", "/_chime_mock/faults", {"Error": "ThrottlingException", "Times": 0}, 400, "BadRequest"),
    ("POST", "/_chime_mock/faults", {"Error": "ThrottlingException", "Operation": "GetMeting"}, 400, "BadRequest"),
    ("POST", "/_chime_mock/faults", {"Error": "NotFoundException", "RetryAfter": 3}, 400, "BadRequest"),
    ("POST", "/_chime_mock/faults", {"Error": "ThrottlingException", "Match": {"Nope": 1},
                                     "Operation": "GetMeeting"}, 400, "BadRequest"),
    ("DELETE", "/_chime_mock/faults/fault-0", None, 404, "NotFound"),
    ("POST", "/_chime_mock/clock", {"Advance": -1}, 400, "BadRequest"),
    ("POST", "/_chime_mock/clock", {}, 400, "BadRequest"),
    ("POST", "/_chime_mock/snapshot", {"chime_mock_snapshot": 99}, 400, "BadRequest"),
    ("GET", "/_chime_mock/journal?ok=maybe", None, 400, "BadRequest"),
])
def test_control_errors_are_enveloped(server, method, path, body, status, code):
    got, headers, payload = raw(server.url, method, path, body)
    data = json.loads(payload)
    assert (got, data["Code"]) == (status, code), data
    assert data["Message"] and headers["x-amzn-errortype"].startswith(code)


def test_bad_snapshot_leaves_state_unchanged(server):
    mid = server.client.add_meeting(ExternalMeetingId="keep")["MeetingId"]
    snapshot = server.client.snapshot()
    snapshot["regions"][0]["meetings"][0]["attendees"] = [{"attendee_id": "x"}]
    with pytest.raises(ChimeMockClientError) as caught:
        server.client.restore(snapshot)
    assert caught.value.status == 400 and "attendees[0]" in caught.value.message
    assert [m["MeetingId"] for m in server.client.meetings()] == [mid]


def test_control_client_covers_every_route(server):
    client = server.client
    assert client.health()["version"]
    meeting = client.add_meeting(ExternalMeetingId="py", MediaRegion="us-west-2")
    mid = meeting["MeetingId"]
    attendee = client.add_attendee(mid, "guest", {"Audio": "SendReceive", "Video": "None", "Content": "None"})
    client.set_connected(mid, attendee["AttendeeId"], True)
    assert client.meeting(mid)["Attendees"][0]["Connected"] is True
    assert [m["MeetingId"] for m in client.meetings(region="us-east-1")] == [mid]
    assert client.state()["now"] == pytest.approx(client.clock(), abs=5)
    fault = client.inject("ThrottlingException", "GetMeeting", times=None, match={"MeetingId": mid})
    assert client.faults()[0]["Id"] == fault["Id"]
    chime = boto_client(server.url)
    with pytest.raises(chime.exceptions.ThrottlingException):
        chime.get_meeting(MeetingId=mid)
    client.remove_fault(fault)
    client.inject("ResourceNotFoundException", ResourceName="arn:x")
    assert client.faults()[0]["Members"] == {"ResourceName": "arn:x"}
    client.clear_faults()
    assert client.faults() == []
    assert [c["Operation"] for c in client.journal()] == ["GetMeeting"]
    assert client.journal("GetMeeting", ok=True) == []
    client.clear_journal()
    assert client.journal() == []
    assert client.advance(10)["now"] == pytest.approx(client.clock(), abs=5)
    assert client.set_time(2e9)["now"] == pytest.approx(2e9, abs=5)
    snapshot = client.snapshot()
    assert client.end_meeting(mid) == [mid]
    client.restore(snapshot)
    assert client.meeting(mid)["ExternalMeetingId"] == "py"
    client.reset()
    assert client.meetings() == []
    with pytest.raises(ChimeMockClientError) as caught:
        client.meeting(mid)
    assert (caught.value.status, caught.value.code) == (404, "NotFound")
    with pytest.raises(ValueError):
        ChimeMockClient("localhost:4666")


def test_auto_end_through_the_clock():
    with ServerProcess(["--auto-end"]) as process:
        client = process.client
        idle = client.add_meeting(ExternalMeetingId="idle")["MeetingId"]
        busy = client.add_meeting(ExternalMeetingId="busy")["MeetingId"]
        attendee = client.add_attendee(busy, "here")
        client.set_connected(busy, attendee["AttendeeId"])
        assert client.advance(301)["Ended"] == [idle]
        assert [m["MeetingId"] for m in client.meetings()] == [busy]
        chime = boto_client(process.url)
        with pytest.raises(chime.exceptions.NotFoundException):
            chime.get_meeting(MeetingId=idle)


def test_dashboard_pages(server):
    for path in ("/_chime_mock/", "/_chime_mock", "/"):
        status, headers, body = raw(server.url, "GET", path)
        assert status == 200 and headers["content-type"].startswith("text/html"), path
        assert b"<html" in body.lower() or b"<!doctype html" in body.lower()


# -- what the front door refuses ---------------------------------------------------------------
@pytest.mark.parametrize("method, path, body, headers, status, error_type", [
    ("GET", "/no/such/path", None, {}, 404, "NotFoundException"),
    ("PATCH", "/meetings/abc", None, {}, 404, "NotFoundException"),
    ("DELETE", "/", None, {}, 404, "NotFoundException"),
    ("POST", "/meetings", b"{definitely not json", {"Content-Type": "application/json"}, 400, "BadRequestException"),
    ("POST", "/meetings", b"\xff\xfe\x00garbage", {}, 400, "BadRequestException"),
    ("POST", "/meetings", b"[]", {}, 400, "BadRequestException"),
    ("POST", "/meetings", {}, {}, 400, "BadRequestException"),
])
def test_junk_requests_get_enveloped_4xx(server, method, path, body, headers, status, error_type):
    got, answer_headers, payload = raw(server.url, method, path, body, headers)
    assert got == status
    assert answer_headers["x-amzn-errortype"] == error_type
    data = json.loads(payload)
    assert set(data) >= {"Code", "Message"}
    assert server.client.health()["status"] == "ok"


def _raw_exchange(url, data, read_timeout=10.0):
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and data.startswith(b"HEAD"):
                    break
        except socket.timeout:
            pass
    return b"".join(chunks)


def _status_and_json(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body) if body else None


def test_http_1_0_missing_host_and_garbage(server):
    status, data = _status_and_json(_raw_exchange(server.url, b"GET /_chime_mock/health HTTP/1.0\r\n\r\n"))
    assert (status, data["status"]) == (200, "ok")
    status, data = _status_and_json(_raw_exchange(server.url, b"GET /meetings/abc HTTP/1.0\r\n\r\n"))
    assert status in (400, 404) and data["Code"]
    status, data = _status_and_json(_raw_exchange(server.url, b"GET /meetings/abc HTTP/1.1\r\nConnection: close\r\n\r\n"))
    assert 400 <= status < 500 and data["Code"]
    status, data = _status_and_json(_raw_exchange(server.url, b"\x16\x03\x01\x02\x00garbage\r\n\r\n"))
    assert status == 400 and data["Code"] == "BadRequest"
    status, data = _status_and_json(_raw_exchange(
        server.url, b"POST /meetings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n"))
    assert status == 400 and data["Code"] == "BadRequest"
    assert server.client.health()["status"] == "ok"


def test_head_answers_carry_no_body(server):
    answer = _raw_exchange(server.url, b"HEAD /_chime_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""


@pytest.fixture(scope="module")
def small_body_server():
    """A server with a 1 MiB body limit (the default leaves room for big snapshots)."""
    from chime_mock.doors.server.client import ServerProcess

    with ServerProcess(["--max-body", str(1024 * 1024)]) as process:
        yield process


def test_big_body_is_refused_with_413_without_reading_it(small_body_server):
    server = small_body_server
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST /meetings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 50000000\r\n\r\n" + b" " * 1000)
        answer = read_until(sock)
    status, data = _status_and_json(answer)
    assert status == 413 and data["Code"] == "RequestEntityTooLarge"
    assert b"x-amzn-errortype: requestentitytoolargeexception" in answer.lower()
    # and a real client gets it as an error response, not a broken connection
    chime = boto_client(server.url)
    with pytest.raises(chime.exceptions.ClientError) as caught:
        chime.batch_create_attendee(MeetingId="0" * 8 + "-0000-4000-8000-" + "0" * 12,
                                    Attendees=[{"ExternalUserId": "u" * 64}] * 20000)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_chunked_request_body(server):
    mid = server.client.add_meeting()["MeetingId"]
    body = json.dumps({"ExternalUserId": "chunky"}).encode()
    half = len(body) // 2
    request = (f"POST /meetings/{mid}/attendees HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
               f"Content-Type: application/json\r\nConnection: close\r\n\r\n").encode()
    for part in (body[:half], body[half:]):
        request += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    request += b"0\r\n\r\n"
    status, data = _status_and_json(_raw_exchange(server.url, request))
    assert status == 200 and data["Attendee"]["ExternalUserId"] == "chunky"


def test_slow_clients_do_not_stall_others(server):
    parts = urlsplit(server.url)
    stalled = []
    try:
        for _ in range(40):   # more than the server's worker threads
            sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
            sock.sendall(b"POST /meetings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n{\"Client")
            stalled.append(sock)
        started = time.monotonic()
        mid = server.client.add_meeting()["MeetingId"]
        assert boto_client(server.url).get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid
        assert time.monotonic() - started < 5
    finally:
        for sock in stalled:
            sock.close()


# == found by an adversarial review of the server ==========================================
def test_many_idle_keep_alive_connections_do_not_lock_others_out(server):
    parts = urlsplit(server.url)
    idle = []
    try:
        for _ in range(150):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
            sock.sendall(b"GET /_chime_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.recv(65536)
            idle.append(sock)                     # answered, left open (keep-alive)
        started = time.monotonic()
        assert server.client.health()["status"] == "ok"
        assert time.monotonic() - started < 5
    finally:
        for sock in idle:
            sock.close()


def test_a_host_header_cannot_change_the_route(server):
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST /meetings HTTP/1.1\r\nHost: x/meetings/abc#\r\nContent-Length: 2\r\n"
                     b"Connection: close\r\n\r\n{}")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status, data = _status_and_json(answer)
    assert status == 400 and data["Code"] == "BadRequest" and "Host" in data["Message"]


@pytest.mark.parametrize("body", [b'{"Advance": NaN}', b'{"Time": Infinity}', b'{"Advance": 1' + b"0" * 400 + b"}",
                                  b'{"Time": -100}', b'{"Advance": 1e300}'])
def test_the_clock_takes_only_finite_sensible_times(server, body):
    before = server.client.clock()
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=10)
    connection.request("POST", "/_chime_mock/clock", body=body, headers={"Content-Type": "application/json"})
    answer = connection.getresponse()
    assert answer.status == 400, answer.read()
    assert abs(server.client.clock() - before) < 60
    json.loads(urlopen_json(server.url + "/_chime_mock/state"))   # still valid JSON


def urlopen_json(url):
    from urllib.request import urlopen
    with urlopen(url, timeout=10) as answer:
        return answer.read().decode()


@pytest.mark.parametrize("spoil", [
    lambda m: m.__setitem__("meeting_features", {"Attendee": {"MaxCount": "abc"}}),
    lambda m: m.__setitem__("meeting_features", {"Attendee": 5}),
    lambda m: m["attendees"].append(dict(m["attendees"][0], attendee_id="0" * 8 + "-1111-2222-3333-" + "4" * 12,
                                         seq=m["attendees"][0]["seq"] + 5)),   # same ExternalUserId twice
    lambda m: m.__setitem__("primary_meeting_id", m["meeting_id"]),
    lambda m: m.__setitem__("media_region", "mars-1"),
    lambda m: m.__setitem__("created_at", 1e999),
    lambda m: m["attendees"][0].__setitem__("capabilities", {"Audio": "Loud", "Video": "None", "Content": "None"}),
])
def test_a_restored_snapshot_must_be_a_state_the_api_could_reach(server, spoil):
    control = server.client
    meeting = control.add_meeting(ExternalMeetingId="kept")
    control.add_attendee(meeting["MeetingId"], "alice")
    good = control.snapshot()
    bad = json.loads(json.dumps(good))
    spoil(bad["regions"][0]["meetings"][0])
    with pytest.raises(ChimeMockClientError) as caught:
        control.restore(bad)
    assert caught.value.status == 400
    after = control.snapshot()
    after.pop("now", None), good.pop("now", None)
    assert after == good                                       # unchanged


def test_a_large_snapshot_round_trips(server):
    control = server.client
    for n in range(400):
        meeting = control.add_meeting(ExternalMeetingId=f"room-{n}")
        if n % 40 == 0:
            for a in range(5):
                control.add_attendee(meeting["MeetingId"], f"user-{a}")
    saved = control.snapshot()
    assert len(json.dumps(saved)) > 100_000
    control.reset()
    control.restore(saved)
    assert len(control.state()["meetings"]) == 400
