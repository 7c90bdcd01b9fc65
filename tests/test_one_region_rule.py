"""One region/account rule for every door (chime_mock.doors.request.decide).

The same request, sent through the botocore door, the ``requests`` door and
the HTTP server, lands in the same (region, account) or is refused the same
way: a Chime host decides the region; a credential scope naming another
region is AWS's 403 InvalidSignatureException; a host naming no region leaves
it to the scope, then the default; a 12-ASCII-digit access key names the
account.
"""
from __future__ import annotations

import json
import threading

import boto3
import pytest
import requests
from botocore.config import Config

from chime_mock import ChimeService, mock_chime_meetings
from chime_mock.doors.request import decide

waitress = pytest.importorskip("waitress")

CHIME_HOST = "meetings-chime.us-east-1.amazonaws.com"
BODY = {"ClientRequestToken": "tok", "MediaRegion": "us-east-1", "ExternalMeetingId": "one-rule"}
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def _auth(key: str, region: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/chime/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature=00")


def via_botocore(service, host, region, key):
    url = f"https://{host}" if host != "localhost" else "http://localhost:4566"
    with mock_chime_meetings(service=service):
        client = boto3.client("chime-sdk-meetings", region_name=region, endpoint_url=url, config=NO_RETRY,
                              aws_access_key_id=key, aws_secret_access_key="secret")
        try:
            meeting = client.create_meeting(**BODY)["Meeting"]
        except client.exceptions.ClientError as exc:
            return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
        return 200, meeting["MeetingArn"]


def via_requests(service, host, region, key):
    with mock_chime_meetings(service=service):
        answer = requests.post(f"https://{host}/meetings", data=json.dumps(BODY),
                               headers={"Authorization": _auth(key, region), "Content-Type": "application/json"})
    if answer.status_code != 200:
        return answer.status_code, answer.headers["x-amzn-ErrorType"]
    return 200, answer.json()["Meeting"]["MeetingArn"]


@pytest.fixture(scope="module")
def server():
    service = ChimeService()
    from chime_mock.doors.server.app import make_app

    httpd = waitress.create_server(make_app(service), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield service, f"http://127.0.0.1:{httpd.effective_port}"
    httpd.close()
    thread.join(5)


def via_server(server, host, region, key):
    service, url = server
    headers = {"Authorization": _auth(key, region), "Content-Type": "application/json"}
    if host != "localhost":
        headers["Host"] = host
    answer = requests.post(f"{url}/meetings", data=json.dumps(BODY), headers=headers)
    if answer.status_code != 200:
        return answer.status_code, answer.headers["x-amzn-ErrorType"]
    return 200, answer.json()["Meeting"]["MeetingArn"]


CASES = [
    # host, scope region, access key -> expected
    (CHIME_HOST, "us-east-1", "111122223333", (200, "arn:aws:chime:us-east-1:111122223333:meeting/")),
    (CHIME_HOST, "eu-central-1", "111122223333", (403, "InvalidSignatureException")),
    (CHIME_HOST, "us-east-1", "\u00b2" * 12, (200, "arn:aws:chime:us-east-1:123456789012:meeting/")),
    (CHIME_HOST, "us-east-1", "AKIAEXAMPLE", (200, "arn:aws:chime:us-east-1:123456789012:meeting/")),
    ("localhost", "eu-central-1", "444455556666", (200, "arn:aws:chime:eu-central-1:444455556666:meeting/")),
]


@pytest.mark.parametrize("host,region,key,expected", CASES)
def test_every_door_applies_the_same_rule(server, host, region, key, expected):
    outcomes = {"botocore": via_botocore(ChimeService(), host, region, key), "server": via_server(server, host, region, key)}
    if host != "localhost":   # the requests door intercepts Chime hosts only
        outcomes["requests"] = via_requests(ChimeService(), host, region, key)
    for door, (status, detail) in outcomes.items():
        assert status == expected[0], (door, status, detail)
        if status == 200:
            assert detail.startswith(expected[1]), (door, detail)
        else:
            assert detail == expected[1], (door, detail)


def test_a_refused_scope_changes_nothing_and_is_not_journaled():
    service = ChimeService()
    assert via_requests(service, CHIME_HOST, "eu-central-1", "111122223333")[0] == 403
    assert service.meetings() == [] and len(service.journal) == 0


def test_decide_directly():
    assert decide(CHIME_HOST, None, None, "eu-west-1", "123456789012") == ("us-east-1", "123456789012")
    assert decide("localhost", None, "999988887777", "eu-west-1", "123456789012") == ("eu-west-1", "999988887777")
    assert decide("meetings-chime-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", None, "us-east-1",
                  "123456789012") == ("us-gov-west-1", "123456789012")
