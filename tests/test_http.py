"""Plain HTTP callers (the ``requests`` library) reach the same backend."""
from __future__ import annotations

import http.server
import json
import threading

import boto3
import pytest
import requests

from chime_mock.doors.requests import adapter as chime_http
from chime_mock import mock_chime_meetings

BASE = "https://meetings-chime.us-east-1.amazonaws.com"


def test_requests_create_then_boto3_sees_it(chime_meetings):
    answer = requests.post(f"{BASE}/meetings", data=json.dumps({
        "ClientRequestToken": "raw-token", "MediaRegion": "us-west-2", "ExternalMeetingId": "raw"}))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    meeting = answer.json()["Meeting"]
    assert answer.headers["x-amzn-RequestId"]
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
    assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting

    created = requests.post(f"{BASE}/meetings/{meeting['MeetingId']}/attendees?operation=batch-create",
                            json={"Attendees": [{"ExternalUserId": f"u{i}"} for i in range(3)]})
    assert created.status_code == 200 and len(created.json()["Attendees"]) == 3
    page = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}/attendees", params={"max-results": "2"})
    assert page.status_code == 200
    assert len(page.json()["Attendees"]) == 2 and page.json()["NextToken"]
    rest = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}/attendees",
                        params={"max-results": "2", "next-token": page.json()["NextToken"]})
    assert [a["ExternalUserId"] for a in rest.json()["Attendees"]] == ["u2"]
    assert "NextToken" not in rest.json()

    gone = requests.delete(f"{BASE}/meetings/{meeting['MeetingId']}")
    assert gone.status_code == 204 and gone.content == b""
    missing = requests.get(f"{BASE}/meetings/{meeting['MeetingId']}")
    assert missing.status_code == 404
    assert missing.headers["x-amzn-ErrorType"] == "NotFoundException"
    body = missing.json()
    assert body["Code"] == "NotFound"
    assert body["Message"] == f"Meeting <{meeting['MeetingId']}> not found"
    assert body["RequestId"] == missing.headers["x-amzn-RequestId"]


def test_raw_callers_get_server_side_validation(chime_meetings):
    # botocore would have stopped these client-side; a raw caller reaches the service.
    missing = requests.post(f"{BASE}/meetings", json={"MediaRegion": "us-east-1"})
    assert missing.status_code == 400
    assert "Member must not be null" in missing.json()["Message"]
    wrong_type = requests.get(f"{BASE}/meetings/0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713/attendees",
                              params={"max-results": "ten"})
    assert wrong_type.status_code == 400
    not_json = requests.post(f"{BASE}/meetings", data=b"{not json")
    assert not_json.status_code == 400 and not_json.json()["Code"] == "BadRequest"
    unknown = requests.get(f"{BASE}/nothing/here")
    assert unknown.status_code == 404


def test_region_comes_from_the_host(chime_meetings):
    answer = requests.post("https://meetings-chime.eu-central-1.amazonaws.com/meetings", json={
        "ClientRequestToken": "raw-token", "MediaRegion": "eu-central-1", "ExternalMeetingId": "raw"})
    meeting = answer.json()["Meeting"]
    assert meeting["MeetingArn"].startswith("arn:aws:chime:eu-central-1:")
    assert chime_meetings.meeting(meeting["MeetingId"]).region == "eu-central-1"


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"untouched"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_other_urls_pass_through_untouched(chime_meetings, local_server):
    assert requests.get(f"{local_server}/anything").text == "untouched"


def test_nothing_is_intercepted_after_stop(local_server):
    with mock_chime_meetings():
        pass
    from requests import Session
    from requests.adapters import HTTPAdapter
    import responses
    assert HTTPAdapter.send is responses._real_send
    # The door stays installed, inert: every URL, Chime's included, gets requests' own adapter.
    assert type(Session().get_adapter(f"{local_server}/x")) is HTTPAdapter
    assert type(Session().get_adapter("https://meetings-chime.us-east-1.amazonaws.com/meetings")) is HTTPAdapter
    assert requests.get(f"{local_server}/x").text == "untouched"


moto = pytest.importorskip("moto")


@pytest.mark.parametrize("order", ["chime-outside", "moto-outside"])
def test_beside_moto_responses(order, local_server):
    first = mock_chime_meetings() if order == "chime-outside" else moto.mock_aws()
    second = moto.mock_aws() if order == "chime-outside" else mock_chime_meetings()
    with first, second:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="raw-bucket")
        s3.put_object(Bucket="raw-bucket", Key="k", Body=b"moto-served", ACL="public-read")
        # moto keeps serving its services to plain HTTP callers ...
        assert requests.get("https://raw-bucket.s3.amazonaws.com/k").content == b"moto-served"
        # ... other URLs still pass through ...
        assert requests.get(f"{local_server}/x").text == "untouched"
        # ... and Chime URLs reach chime_mock.
        answer = requests.post(f"{BASE}/meetings", json={
            "ClientRequestToken": "tok", "MediaRegion": "us-east-1", "ExternalMeetingId": "raw"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["Meeting"]["MeetingId"]
