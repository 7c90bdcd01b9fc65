"""Hosts, regions and partitions come from botocore's endpoint data.

For every partition botocore ships: a boto3 client in one of its regions and
a plain ``requests`` call to each of its Chime hosts (plain, FIPS, dual-stack,
FIPS + dual-stack, trailing dot, user-info, explicit port) are answered by the
mock in that region, and the MeetingArn names that partition.  Custom
``endpoint_url``s (any host, a base path) are answered in the client's own
region.  No credential setup runs for a Chime client created under the mock.
"""
from __future__ import annotations


import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from chime_mock import mock_chime_meetings
from chime_mock.ground import endpoints
from chime_mock.doors.requests.adapter import INTERCEPTOR

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
PARTITIONS = endpoints.partitions()


def region_of(partition):
    return PARTITIONS[partition][0]


def media_for(region):
    return {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1"}.get(endpoints.partition_of(region), region)


def test_botocore_knows_the_partitions_we_claim():
    assert {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"} <= set(PARTITIONS)


@pytest.mark.parametrize("partition", sorted(PARTITIONS))
def test_client_in_every_partition_creates_a_meeting_there(chime_meetings, partition):
    region = region_of(partition)
    client = boto3.client("chime-sdk-meetings", region_name=region, config=NO_RETRY)
    m = client.create_meeting(ClientRequestToken="same-token", MediaRegion=media_for(region),
                              ExternalMeetingId="mtg")["Meeting"]
    assert m["MeetingArn"] == f"arn:{partition}:chime:{region}:{chime_meetings.account_id}:meeting/{m['MeetingId']}"
    assert client.get_meeting(MeetingId=m["MeetingId"])["Meeting"] == m
    # The same token in another region of the same partition (or us-east-1) is another meeting.
    other = next((r for r in PARTITIONS[partition][1:]), "us-east-1" if region != "us-east-1" else "us-west-2")
    client2 = boto3.client("chime-sdk-meetings", region_name=other, config=NO_RETRY)
    m2 = client2.create_meeting(ClientRequestToken="same-token", MediaRegion=media_for(other),
                                ExternalMeetingId="mtg")["Meeting"]
    assert m2["MeetingId"] != m["MeetingId"]
    assert {x.region for x in chime_meetings.meetings()} == {region, other}


def chime_urls(partition, region):
    suffixes = endpoints.dns_suffixes(partition)
    for suffix in suffixes.values():
        for prefix in ("meetings-chime", "meetings-chime-fips"):
            host = f"{prefix}.{region}.{suffix}"
            yield f"https://{host}/meetings"
            yield f"https://{host}./meetings"
            yield f"https://user:secret@{host}:443/meetings"
            yield f"http://{host.upper()}:8443/meetings?x=1"


@pytest.mark.parametrize("partition", sorted(PARTITIONS))
def test_requests_to_every_partitions_hosts_are_answered_in_their_region(chime_meetings, partition):
    region = region_of(partition)
    for i, url in enumerate(chime_urls(partition, region)):
        r = requests.post(url, json={"ClientRequestToken": f"tok-{i}", "MediaRegion": media_for(region),
                                     "ExternalMeetingId": "mtg"}, timeout=5)
        assert r.status_code == 200, (url, r.text)
        arn = r.json()["Meeting"]["MeetingArn"]
        assert arn.startswith(f"arn:{partition}:chime:{region}:"), (url, arn)


@pytest.mark.parametrize("host", [
    "meetings-chime.us-east-1.amazonaws.com.evil.example", "evil-meetings-chime.us-east-1.amazonaws.com",
    "meetings-chime.us-east-1.example.com", "meetings-chime.amazonaws.com",
])
def test_lookalike_hosts_are_not_chime(host):
    assert endpoints.region_from_host(host) is None
    assert not endpoints.is_chime_url(f"https://{host}/meetings")


def test_custom_endpoint_is_answered_in_the_clients_region(chime_meetings):
    for region, url in (("eu-central-1", "http://localhost:4566"),
                        ("ap-southeast-1", "http://meetings-chime.internal:8080")):
        client = boto3.client("chime-sdk-meetings", region_name=region, endpoint_url=url, config=NO_RETRY)
        m = client.create_meeting(ClientRequestToken="tok", MediaRegion="us-east-1", ExternalMeetingId="mtg")
        assert m["Meeting"]["MeetingArn"].startswith(f"arn:aws:chime:{region}:"), url


def test_a_chime_host_of_another_region_than_the_clients_is_refused_as_aws_refuses_it(chime_meetings):
    """The host names eu-west-2, the client signs for us-west-2: AWS answers
    403 InvalidSignatureException, and nothing is created."""
    client = boto3.client("chime-sdk-meetings", region_name="us-west-2",
                          endpoint_url="https://meetings-chime.eu-west-2.amazonaws.com", config=NO_RETRY)
    with pytest.raises(ClientError) as caught:
        client.create_meeting(ClientRequestToken="tok", MediaRegion="us-east-1", ExternalMeetingId="mtg")
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "Credential should be scoped to a valid region" in error["Error"]["Message"]
    assert chime_meetings.meetings() == [] and len(chime_meetings.journal) == 0


@pytest.mark.parametrize("base", ["http://localhost:4566/chime", "http://localhost:4566/chime/",
                                  "http://localhost:4566/a/meetings/b", "http://localhost:4566/meetings"])
def test_endpoint_url_with_a_base_path(chime_meetings, base):
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1", endpoint_url=base, config=NO_RETRY)
    m = client.create_meeting(ClientRequestToken="tok", MediaRegion="us-east-1", ExternalMeetingId="mtg")["Meeting"]
    mid = m["MeetingId"]
    assert client.get_meeting(MeetingId=mid)["Meeting"] == m
    a = client.create_attendee(MeetingId=mid, ExternalUserId="user-1")["Attendee"]
    assert client.get_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])["Attendee"] == a
    assert [x["AttendeeId"] for x in client.list_attendees(MeetingId=mid)["Attendees"]] == [a["AttendeeId"]]
    client.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": "k", "Value": "v"}])
    client.delete_meeting(MeetingId=mid)
    assert chime_meetings.meetings() == []


def test_head_through_requests_has_no_body(chime_meetings):
    r = requests.head("https://meetings-chime.us-east-1.amazonaws.com/meetings/00000000-0000-4000-8000-000000000000",
                      timeout=5)
    assert r.status_code == 404 and r.content == b""
    assert r.headers["x-amzn-ErrorType"] == "NotFoundException"


def test_responses_does_not_keep_every_call(chime_meetings):
    for _ in range(50):
        requests.get("https://meetings-chime.us-east-1.amazonaws.com/meetings/nope", timeout=5)
    rmock = INTERCEPTOR._rmock
    assert len(rmock.calls) <= 1
    assert all(len(route.calls) <= 1 for route in rmock.registered())
    assert chime_meetings.journal.count("GetMeeting") == 50


# -- credentials ----------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["broken", "chained", "sso"])
def test_no_credential_setup_runs_under_the_mock(broken_profile, monkeypatch, profile):
    monkeypatch.setenv("AWS_PROFILE", profile)
    with mock_chime_meetings() as mock:
        client = boto3.Session().client("chime-sdk-meetings", config=NO_RETRY)
        m = client.create_meeting(ClientRequestToken="tok", MediaRegion="us-east-1", ExternalMeetingId="mtg")
    assert m["Meeting"]["MeetingArn"].startswith("arn:aws:chime:eu-central-1:")
    assert len(mock.meetings()) == 1
    assert not broken_profile.exists()
    # Afterwards the real chain is untouched: the same profile still fails as it would without the mock.
    if profile == "broken":
        with pytest.raises(Exception):
            boto3.Session().client("chime-sdk-meetings")
        assert broken_profile.exists()


def test_client_made_under_the_mock_resolves_real_credentials_later(broken_profile, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "broken")
    with mock_chime_meetings():
        client = boto3.Session().client("chime-sdk-meetings", config=NO_RETRY)
    assert not broken_profile.exists()
    creds = client._request_signer._credentials
    with pytest.raises(Exception):
        creds.get_frozen_credentials()      # resolved only now, through the real (failing) chain
    assert broken_profile.exists()


def test_other_services_resolve_credentials_as_usual(broken_profile, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "broken")
    with mock_chime_meetings(), pytest.raises(Exception):
        boto3.Session().client("s3")
    assert broken_profile.exists()
