"""Fidelity tests: meetings (CreateMeeting, CreateMeetingWithAttendees,
GetMeeting, DeleteMeeting), called through real boto3 clients.

Every test names the AWS behaviour it assumes and where that comes from:
``Dn`` is decision n of docs/behaviour.md (anchor ``#dn``), ``§x.y`` an evidence
section, located by the table at the end of docs/behaviour.md (with its evidence
tag: [model], [doc], [obs], [inferred], [unknown]).
"""
from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.helpers import (
    ACCOUNT, HEX_8_4_4_4_12, MODEL, RAW, UUID4, assert_valid_output, expect_error, unchanged,
)



def create(client, token="tok-1", media="us-east-1", ext="meeting-1", **kw):
    resp = client.create_meeting(ClientRequestToken=token, MediaRegion=media, ExternalMeetingId=ext, **kw)
    assert_valid_output("CreateMeeting", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    return resp["Meeting"]


# Short media-region codes actually seen in real responses (§2.5 [obs]).
OBSERVED_CODES = {
    "us-east-1": "ue1", "us-east-2": "ue2", "us-west-2": "uw2", "eu-west-1": "ew1", "eu-west-2": "ew2",
    "eu-central-1": "ec1", "ap-southeast-1": "as1", "ap-northeast-1": "an1", "ap-northeast-2": "an2",
}
COMMERCIAL_MEDIA = [
    "af-south-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
]
MEDIA_PLACEMENT_MEMBERS = set(MODEL.shape_for("MediaPlacement").members)


def media_code(meeting) -> str:
    match = re.fullmatch(r"wss://signal\.m\d\.([a-z0-9]+)\.app\.chime\.aws/control/.*",
                         meeting["MediaPlacement"]["SignalingUrl"])
    assert match, meeting["MediaPlacement"]["SignalingUrl"]
    return match.group(1)


def check_media_placement(meeting, control_region: str, code: str = r"[a-z0-9]+") -> None:
    """§2.5 observed formats; ``{rc}`` is the media region's code, the TURN host
    uses the control region and the MeetingId's last 4 hex."""
    mp = meeting["MediaPlacement"]
    mid = re.escape(meeting["MeetingId"])
    assert set(mp) == MEDIA_PLACEMENT_MEMBERS
    for name, value in mp.items():
        assert isinstance(value, str) and value, name
    base = rf"(m[1-3])\.({code})\.app\.chime\.aws"
    patterns = {
        "AudioHostUrl": rf"[0-9a-f]{{32}}\.k\.{base}:3478",
        "AudioFallbackUrl": rf"wss://(?:haxrp|wss\.k)\.{base}:443/calls/{mid}",
        "SignalingUrl": rf"wss://signal\.{base}/control/{mid}",
        "ScreenDataUrl": rf"wss://bitpw\.{base}:443/v2/screen/{mid}",
        "ScreenSharingUrl": rf"wss://bitpw\.{base}:443/v2/screen/{mid}",
        "ScreenViewingUrl": (rf"wss://bitpw\.{base}:443/ws/connect\?passcode=null&viewer_uuid=null"
                             rf"&X-BitHub-Call-Id={mid}"),
    }
    clusters, codes = set(), set()
    for name, pattern in patterns.items():
        match = re.fullmatch(pattern, mp[name])
        assert match, f"{name}={mp[name]!r} does not match {pattern}"
        clusters.add(match.group(1))
        codes.add(match.group(2))
    assert len(clusters) == 1 and len(codes) == 1, (clusters, codes)
    assert mp["ScreenSharingUrl"] == mp["ScreenDataUrl"]
    last4 = meeting["MeetingId"][-4:]
    assert mp["TurnControlUrl"] == f"https://{last4}.cell.{control_region}.meetings.chime.aws/v2/turn_sessions"
    assert re.fullmatch(r"https://data\.svc\.[a-z0-9]+\.ingest\.chime\.aws/v1/client-events", mp["EventIngestionUrl"])


# == identifiers and payload (D8, D9) ==============================================

def test_create_meeting_payload_shape(client, chime_meetings):
    """D8/D9, §2.1, §2.4, §2.6: MeetingId is a lowercase UUID v4 [obs]; MeetingArn is
    arn:aws:chime:<control region>:<account>:meeting/<id> [obs]; TenantIds is [] when not
    given [obs]; MeetingFeatures, MeetingHostId and PrimaryMeetingId are absent when not
    sent; the request's ExternalMeetingId and MediaRegion are echoed."""
    m = create(client, media="us-east-1", ext="Team Sync")
    assert UUID4.fullmatch(m["MeetingId"])
    assert m["MeetingArn"] == f"arn:aws:chime:us-east-1:{ACCOUNT}:meeting/{m['MeetingId']}"
    assert m["TenantIds"] == []
    assert m["ExternalMeetingId"] == "Team Sync"
    assert m["MediaRegion"] == "us-east-1"
    for absent in ("MeetingFeatures", "MeetingHostId", "PrimaryMeetingId", "NotificationsConfiguration"):
        assert absent not in m
    check_media_placement(m, "us-east-1", "ue1")
    got = client.get_meeting(MeetingId=m["MeetingId"])
    assert_valid_output("GetMeeting", got)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Meeting"] == m


def test_meeting_ids_are_distinct_random_v4(client, chime_meetings):
    """D8: every MeetingId is a fresh random UUID v4, lowercase (§2.1 [obs])."""
    ids = [create(client, token=f"tok-{i}")["MeetingId"] for i in range(20)]
    assert len(set(ids)) == 20
    assert all(UUID4.fullmatch(i) for i in ids)


def test_arn_and_turn_url_use_control_region_not_media_region(chime_meetings, make_client):
    """§2.4/§2.5 [obs]: a meeting created via us-east-1 with MediaRegion eu-west-2 has an
    ARN in us-east-1 and a TurnControlUrl on the us-east-1 cell; the media URLs use the
    media region's code (ew2)."""
    m = create(make_client("us-east-1"), media="eu-west-2")
    assert m["MeetingArn"] == f"arn:aws:chime:us-east-1:{ACCOUNT}:meeting/{m['MeetingId']}"
    check_media_placement(m, "us-east-1", "ew2")

    m2 = create(make_client("eu-central-1"), media="us-east-1")
    assert m2["MeetingArn"] == f"arn:aws:chime:eu-central-1:{ACCOUNT}:meeting/{m2['MeetingId']}"
    check_media_placement(m2, "eu-central-1", "ue1")


@pytest.mark.parametrize("media_region,code", sorted(OBSERVED_CODES.items()))
def test_media_placement_uses_observed_region_code(client, chime_meetings, media_region, code):
    """§2.5 [obs]: short media-region codes seen in real MediaPlacement hosts
    (us-east-1 -> ue1, eu-west-2 -> ew2, ...)."""
    m = create(client, media=media_region)
    check_media_placement(m, "us-east-1", code)


def test_every_documented_media_region_gets_its_own_code(client, chime_meetings):
    """§3 MediaRegion [model doc]: all 18 documented commercial media regions can be used
    from a commercial control region; each gets a valid host label, distinct per region
    (codes beyond the observed ones are [unknown]/[inferred] — only their shape is
    checked)."""
    codes = {}
    for i, region in enumerate(COMMERCIAL_MEDIA):
        m = create(client, token=f"tok-{i}", media=region)
        check_media_placement(m, "us-east-1")
        codes[region] = media_code(m)
    assert len(set(codes.values())) == len(codes), codes


def test_meeting_features_echoed_exactly_as_sent(client, chime_meetings):
    """D9, §2.6 [obs]: MeetingFeatures is echoed as sent, nothing filled in (no default
    Content/Video added), on CreateMeeting and on GetMeeting."""
    variants = [
        {"Audio": {"EchoReduction": "AVAILABLE"}},
        {"Audio": {"EchoReduction": "UNAVAILABLE"}, "Video": {"MaxResolution": "HD"}, "Attendee": {"MaxCount": 3}},
        {"Video": {"MaxResolution": "None"}},
        {"Content": {"MaxResolution": "None"}, "Video": {"MaxResolution": "None"}},
        {"Video": {"MaxResolution": "FHD"}, "Attendee": {"MaxCount": 25}},
        {"Content": {"MaxResolution": "UHD"}, "Attendee": {"MaxCount": 10}},
    ]
    for i, features in enumerate(variants):
        m = create(client, token=f"tok-{i}", MeetingFeatures=features)
        assert m["MeetingFeatures"] == features
        assert client.get_meeting(MeetingId=m["MeetingId"])["Meeting"]["MeetingFeatures"] == features


def test_optional_members_echoed_when_given(client, chime_meetings):
    """§2.6/§4.2 [model]: TenantIds, MeetingHostId and the ExternalMeetingId (with the
    punctuation and Latin-1 letters the documented pattern allows) come back as sent."""
    ext = "Q3 Review: Sales & Ops (EMEA) #2 «Café» [x] {y} a@b+c=d,e|f'g\"h"
    assert len(ext) <= 64
    m = create(client, ext=ext, MeetingHostId="host-user_1", TenantIds=["tenant-1", "t2"])
    assert m["ExternalMeetingId"] == ext
    assert m["MeetingHostId"] == "host-user_1"
    assert m["TenantIds"] == ["tenant-1", "t2"]


# aiobotocore: http_response.content is a coroutine there, which this sync after-call hook cannot read.
@pytest.mark.doors("botocore", "requests", "server")
def test_notifications_configuration_never_returned(client, chime_meetings):
    """D9, §4.1 [model]: NotificationsConfiguration is accepted but the Meeting shape has no
    such member, so it is never returned (CreateMeeting, CreateMeetingWithAttendees,
    GetMeeting). Checked on the raw response body too, since botocore drops unknown
    members while parsing but other SDKs (JS v3, CLI with --debug) would show them."""
    raw_bodies = []
    client.meta.events.register(   # after-call carries the raw HTTP response in every botocore
        "after-call.chime-sdk-meetings",
        lambda http_response=None, **_: raw_bodies.append(http_response.content))
    config = {"SnsTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:meeting-events",
              "SqsQueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:meeting-events",
              "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:events"}
    m = create(client, NotificationsConfiguration=config)
    assert "NotificationsConfiguration" not in m
    assert "NotificationsConfiguration" not in client.get_meeting(MeetingId=m["MeetingId"])["Meeting"]
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-2", MediaRegion="us-east-1", ExternalMeetingId="m2",
        NotificationsConfiguration=config, Attendees=[{"ExternalUserId": "user-1"}])
    assert_valid_output("CreateMeetingWithAttendees", resp)
    assert "NotificationsConfiguration" not in resp["Meeting"]
    assert len(raw_bodies) == 3
    for body in raw_bodies:
        assert b"NotificationsConfiguration" not in body and b"meeting-events" not in body


def test_whole_responses_survive_json_dumps(client, chime_meetings):
    """How real backends use it (docs/behaviour.md#d9): backends hand the raw response (ResponseMetadata included) to
    json.dumps; every member must be JSON-native and round-trip unchanged."""
    m = client.create_meeting(ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="m1",
                              MeetingFeatures={"Attendee": {"MaxCount": 5}})
    a = client.create_attendee(MeetingId=m["Meeting"]["MeetingId"], ExternalUserId="user-1")
    both = client.create_meeting_with_attendees(ClientRequestToken="tok-2", MediaRegion="eu-west-2",
                                                ExternalMeetingId="m2", Attendees=[{"ExternalUserId": "u-1"}])
    listed = client.list_attendees(MeetingId=m["Meeting"]["MeetingId"])
    for resp in (m, a, both, listed, {"Meeting": m["Meeting"], "Attendee": a["Attendee"]}):
        assert json.loads(json.dumps(resp)) == resp


def test_create_meeting_with_attendees_payload(client, chime_meetings):
    """§4.1 [model], §2.2/§2.3 [obs], D8: CreateMeetingWithAttendees returns the Meeting in
    the same form as CreateMeeting, Attendees in request order with valid IDs/tokens, and
    Errors [] when all succeed; HTTP 200."""
    resp = client.create_meeting_with_attendees(
        ClientRequestToken="tok-1", MediaRegion="ap-northeast-1", ExternalMeetingId="m1",
        Attendees=[{"ExternalUserId": f"user-{i}"} for i in range(5)])
    assert_valid_output("CreateMeetingWithAttendees", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    m = resp["Meeting"]
    assert UUID4.fullmatch(m["MeetingId"]) and m["TenantIds"] == []
    check_media_placement(m, "us-east-1", "an1")
    assert [a["ExternalUserId"] for a in resp["Attendees"]] == [f"user-{i}" for i in range(5)]
    for a in resp["Attendees"]:
        assert HEX_8_4_4_4_12.fullmatch(a["AttendeeId"])
        assert len(a["JoinToken"]) == 98
        raw = base64.b64decode(a["JoinToken"] + "=" * (-len(a["JoinToken"]) % 4)).decode()
        assert raw.split(":")[0] == a["AttendeeId"]
    assert resp["Errors"] == []
    assert len(chime_meetings.attendees(m["MeetingId"])) == 5


# == MediaRegion and partitions ========================================================

@pytest.mark.parametrize("media_region", ["mars-east-1", "US-EAST-1", "us-east-1 ", "cn-north-1", "us-east-9"])
def test_unknown_media_region_rejected(client, chime_meetings, media_region):
    """§3 MediaRegion [model doc] + D4: MediaRegion is a plain string in the model, the
    documented list of values is enforced server-side -> BadRequestException 400 naming
    mediaRegion; nothing is created."""
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(ClientRequestToken="tok-1", MediaRegion=media_region, ExternalMeetingId="m1")
    assert "mediaRegion" in expect_error(ei, "BadRequestException")
    assert chime_meetings.meetings() == []


def test_media_region_without_control_endpoint_is_fine(client, chime_meetings):
    """§1 [doc]: any control region can create meetings in any media region of the same
    partition, including media-only regions such as sa-east-1 or eu-north-1."""
    for i, region in enumerate(("sa-east-1", "eu-north-1", "us-west-1")):
        assert create(client, token=f"tok-{i}", media=region)["MediaRegion"] == region


@pytest.mark.parametrize("control,media", [
    ("us-east-1", "us-gov-east-1"), ("eu-central-1", "us-gov-west-1"),
    ("us-gov-west-1", "us-east-1"), ("us-gov-east-1", "eu-west-2"),
])
def test_partition_mix_rejected(chime_meetings, make_client, control, media):
    """§1 [doc]: GovCloud control regions only create GovCloud meetings (and a commercial
    control region cannot place media in GovCloud) -> BadRequestException 400; nothing
    is created in either region."""
    client = make_client(control)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(ClientRequestToken="tok-1", MediaRegion=media, ExternalMeetingId="m1")
    expect_error(ei, "BadRequestException")
    with pytest.raises(ClientError) as ei:
        client.create_meeting_with_attendees(ClientRequestToken="tok-1", MediaRegion=media, ExternalMeetingId="m1",
                                             Attendees=[{"ExternalUserId": "user-1"}])
    expect_error(ei, "BadRequestException")
    assert chime_meetings.meetings() == []


def test_govcloud_meeting_in_govcloud(chime_meetings, make_client):
    """§1 [doc]: a GovCloud control region creates GovCloud meetings; D7 puts the control
    region in the ARN (GovCloud ARNs use the aws-us-gov partition, the general AWS ARN
    rule [inferred])."""
    client = make_client("us-gov-west-1")
    for i, media in enumerate(("us-gov-west-1", "us-gov-east-1")):
        m = create(client, token=f"tok-{i}", media=media)
        assert m["MeetingArn"] == f"arn:aws-us-gov:chime:us-gov-west-1:{ACCOUNT}:meeting/{m['MeetingId']}"
        check_media_placement(m, "us-gov-west-1")


# == ExternalMeetingId / MeetingHostId / other request constraints (D4) ================

@pytest.mark.parametrize("member,field", [("ExternalMeetingId", "externalMeetingId"), ("MeetingHostId", "meetingHostId")])
@pytest.mark.parametrize("value,constraint", [
    ("x" * 65, "length less than or equal to 64"),
    ("bad<script>", "regular expression pattern"),
    ("semi;colon", "regular expression pattern"),
    ("100%", "regular expression pattern"),
    ("aws:reserved", "aws:"),
    ("AWS:Reserved", "aws:"),
    ("Aws:mixed", "aws:"),
])
def test_external_meeting_and_host_id_rules(client, chime_meetings, member, field, value, constraint):
    """§3 [model]/[doc], D4: ExternalMeetingId and MeetingHostId are 2-64 chars, must
    match the documented pattern, and values starting with 'aws:' (case-insensitive) are
    reserved -> BadRequestException 400 whose message names the field and the
    constraint; nothing is created (also through CreateMeetingWithAttendees)."""
    params = {"ClientRequestToken": "tok-1", "MediaRegion": "us-east-1", "ExternalMeetingId": "ok-meeting"}
    params[member] = value
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(**params)
    message = expect_error(ei, "BadRequestException")
    assert field in message and constraint in message, message
    if "length" in constraint:
        assert message.startswith("1 validation error detected: ")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting_with_attendees(Attendees=[{"ExternalUserId": "user-1"}], **params)
    expect_error(ei, "BadRequestException")
    assert chime_meetings.meetings() == []


def test_external_meeting_id_edge_values_accepted(client, chime_meetings):
    """§3 [model]/[doc]: exactly 2 and 64 characters are allowed; 'aws' without the colon
    or 'aws:' later in the value is not reserved; whitespace and À-ÿ letters are in the
    documented pattern."""
    for i, value in enumerate(["ab", "y" * 64, "awsome", "my-aws:room", "Ünïcödé ÿ À", "tab\there"]):
        assert create(client, token=f"tok-{i}", ext=value)["ExternalMeetingId"] == value


def test_one_char_external_meeting_id_rejected_server_side(chime_meetings, make_client):
    """§7 [local] + D4: botocore checks the 2-char minimum client-side; a caller that skips
    it (parameter_validation=False, raw HTTP) still gets BadRequestException 400."""
    client = make_client(config=RAW)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="a")
    assert "externalMeetingId" in expect_error(ei, "BadRequestException")


@pytest.mark.parametrize("params,field", [
    ({"ClientRequestToken": "bad token!"}, "clientRequestToken"),
    ({"ClientRequestToken": "t" * 65}, "clientRequestToken"),
    ({"TenantIds": ["t1", "t2", "t3", "t4", "t5", "t6"]}, "tenantIds"),
    ({"TenantIds": ["aaaa-tenant"]}, "tenantIds"),
    ({"TenantIds": ["bad tenant"]}, "tenantIds"),
    ({"MeetingFeatures": {"Attendee": {"MaxCount": 251}}}, "maxCount"),
    ({"MeetingFeatures": {"Video": {"MaxResolution": "4K"}}}, "maxResolution"),
    ({"MeetingFeatures": {"Audio": {"EchoReduction": "ON"}}}, "echoReduction"),
    ({"MediaPlacementNetworkType": "IPv6Only"}, "mediaPlacementNetworkType"),
    ({"NotificationsConfiguration": {"SnsTopicArn": "not an arn"}}, "snsTopicArn"),
    ({"Tags": [{"Key": "bad key!", "Value": "v"}]}, "key"),
    ({"Tags": [{"Key": "aws:cost", "Value": "v"}]}, "key"),
    ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, "tags"),
])
def test_create_meeting_constraints_botocore_does_not_check(client, chime_meetings, params, field):
    """§7 [local] + D4/D10: maxima, patterns and enums of the model (token pattern/length,
    1-5 TenantIds and their no-4-repeats pattern, MaxCount 1-250, resolution enums, ARN
    pattern, tag key pattern, 'aws:' tag keys, 0-50 tags) are checked server-side ->
    BadRequestException 400 naming the field; nothing created and the token stays free."""
    missing = set(params) - set(MODEL.operation_model("CreateMeeting").input_shape.members)
    if missing:
        pytest.skip(f"the installed botocore's model has no {missing} (added in a later release)")
    base = {"ClientRequestToken": "tok-1", "MediaRegion": "us-east-1", "ExternalMeetingId": "m1"}
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(**{**base, **params})
    assert field in expect_error(ei, "BadRequestException")
    assert chime_meetings.meetings() == []
    # the rejected request did not consume the (valid) token
    m = create(client, token="tok-1", ext="second-try")
    assert m["ExternalMeetingId"] == "second-try"


# == FHD video / UHD content (mock decision on §3 [unknown]) ============================

@pytest.mark.parametrize("features", [
    {"Video": {"MaxResolution": "FHD"}},
    {"Video": {"MaxResolution": "FHD"}, "Attendee": {"MaxCount": 26}},
    {"Video": {"MaxResolution": "FHD"}, "Attendee": {"MaxCount": 250}},
    {"Content": {"MaxResolution": "UHD"}},
    {"Content": {"MaxResolution": "UHD"}, "Attendee": {"MaxCount": 26}},
    {"Video": {"MaxResolution": "FHD"}, "Content": {"MaxResolution": "UHD"}, "Attendee": {"MaxCount": 100}},
])
def test_high_resolution_needs_max_count_at_most_25(client, chime_meetings, features):
    """§3 [model doc]: FHD video / UHD content lower the attendee ceiling to 25 and 'must
    also provide' Attendee.MaxCount. The server check is [unknown]; chime_mock's decision
    (backend._check_meeting_request): MaxCount missing or above 25 -> BadRequestException
    400, nothing created."""
    for call in ("create_meeting", "create_meeting_with_attendees"):
        extra = {"Attendees": [{"ExternalUserId": "user-1"}]} if call == "create_meeting_with_attendees" else {}
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            getattr(client, call)(ClientRequestToken="tok-1", MediaRegion="us-east-1", ExternalMeetingId="m1",
                                  MeetingFeatures=features, **extra)
        assert "MaxCount" in expect_error(ei, "BadRequestException")
    assert chime_meetings.meetings() == []


@pytest.mark.parametrize("features", [
    {"Video": {"MaxResolution": "FHD"}, "Attendee": {"MaxCount": 25}},
    {"Content": {"MaxResolution": "UHD"}, "Attendee": {"MaxCount": 1}},
    {"Video": {"MaxResolution": "FHD"}, "Content": {"MaxResolution": "UHD"}, "Attendee": {"MaxCount": 25}},
    {"Video": {"MaxResolution": "HD"}, "Content": {"MaxResolution": "FHD"}, "Attendee": {"MaxCount": 250}},
])
def test_high_resolution_with_small_max_count_accepted(client, chime_meetings, features):
    """§3 [model doc]: FHD/UHD with Attendee.MaxCount <= 25 is the documented way to use
    them; HD/FHD (the defaults) allow MaxCount up to 250."""
    assert create(client, MeetingFeatures=features)["MeetingFeatures"] == features


# == ClientRequestToken idempotency (D1) ================================================

def test_same_token_returns_same_meeting_unchanged(client, chime_meetings):
    """D1 (§4.1 [doc]/[obs], window and mismatch behaviour [unknown]): the same
    ClientRequestToken in the same account and control region returns the existing meeting
    unchanged, 200, whatever the other parameters; nothing new is created."""
    first = create(client, token="same-token", media="us-east-1", ext="original",
                   Tags=[{"Key": "team", "Value": "a"}])
    again = create(client, token="same-token", media="eu-west-2", ext="different", MeetingHostId="host-1",
                   TenantIds=["tenant-x"], MeetingFeatures={"Attendee": {"MaxCount": 2}},
                   Tags=[{"Key": "team", "Value": "b"}, {"Key": "extra", "Value": "c"}])
    assert again == first
    assert client.get_meeting(MeetingId=first["MeetingId"])["Meeting"] == first
    assert len(chime_meetings.meetings()) == 1
    assert chime_meetings.tags(first["MeetingId"]) == {"team": "a"}


def test_same_token_with_primary_meeting_id_returns_the_original(client, chime_meetings):
    """D1 + §4.1 [obs] (aws/amazon-chime-sdk-js #2433/#2438): re-using a token while adding
    PrimaryMeetingId gave back the same MeetingId as the original meeting, not a replica."""
    primary = create(client, token="tok-primary")
    again = create(client, token="tok-primary", PrimaryMeetingId=primary["MeetingId"])
    assert again == primary and "PrimaryMeetingId" not in again
    assert len(chime_meetings.meetings()) == 1


def test_token_shared_between_create_meeting_and_with_attendees(client, chime_meetings):
    """D1 (revised): the token is shared by CreateMeeting and CreateMeetingWithAttendees; a
    replay through either returns the existing meeting unchanged, 200, and a replayed
    CreateMeetingWithAttendees answers for each attendee it lists as BatchCreateAttendee
    would: known ExternalUserIds come back as they are, new ones join the meeting."""
    m = create(client, token="tok-a")
    resp = client.create_meeting_with_attendees(ClientRequestToken="tok-a", MediaRegion="us-east-1",
                                                ExternalMeetingId="other",
                                                Attendees=[{"ExternalUserId": "user-1"}, {"ExternalUserId": "user-2"}])
    assert_valid_output("CreateMeetingWithAttendees", resp)
    assert resp["Meeting"] == m
    assert resp.get("Errors", []) == []
    assert [a.to_wire() for a in chime_meetings.attendees(m["MeetingId"])] == resp["Attendees"]
    assert [a["ExternalUserId"] for a in resp["Attendees"]] == ["user-1", "user-2"]

    both = client.create_meeting_with_attendees(ClientRequestToken="tok-b", MediaRegion="us-east-1",
                                                ExternalMeetingId="with-people",
                                                Attendees=[{"ExternalUserId": "user-1"}, {"ExternalUserId": "user-2"}])
    before = [a.to_wire() for a in chime_meetings.attendees(both["Meeting"]["MeetingId"])]
    assert create(client, token="tok-b", ext="ignored") == both["Meeting"]
    replay = client.create_meeting_with_attendees(
        ClientRequestToken="tok-b", MediaRegion="us-west-2", ExternalMeetingId="ignored",
        Attendees=[{"ExternalUserId": "user-1"}, {"ExternalUserId": "user-3"}])
    assert_valid_output("CreateMeetingWithAttendees", replay)
    assert replay["Meeting"] == both["Meeting"]
    assert replay["Attendees"][0] == both["Attendees"][0]
    assert replay["Attendees"][1]["ExternalUserId"] == "user-3"
    after = [a.to_wire() for a in chime_meetings.attendees(both["Meeting"]["MeetingId"])]
    assert after == before + [replay["Attendees"][1]]
    assert len(chime_meetings.meetings()) == 2


def test_token_free_again_after_delete_or_end(client, chime_meetings):
    """D1: after the meeting is deleted or ends, the token creates a new meeting."""
    first = create(client, token="tok-1", ext="first")
    client.delete_meeting(MeetingId=first["MeetingId"])
    second = create(client, token="tok-1", ext="second")
    assert second["MeetingId"] != first["MeetingId"] and second["ExternalMeetingId"] == "second"

    chime_meetings.end_meeting(second["MeetingId"])
    third = client.create_meeting_with_attendees(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                                 ExternalMeetingId="third", Attendees=[{"ExternalUserId": "u-1"}])
    assert third["Meeting"]["MeetingId"] not in (first["MeetingId"], second["MeetingId"])
    assert third["Meeting"]["ExternalMeetingId"] == "third"
    assert len(third["Attendees"]) == 1


def test_token_is_per_control_region(chime_meetings, make_client):
    """D1/D7: idempotency holds within one account and control region; the same token in
    another control region creates another meeting."""
    east = create(make_client("us-east-1"), token="tok-1")
    central = create(make_client("eu-central-1"), token="tok-1")
    assert central["MeetingId"] != east["MeetingId"]
    assert ":eu-central-1:" in central["MeetingArn"]
    assert create(make_client("eu-central-1"), token="tok-1") == central


# == control-region isolation (D7) ========================================================

def test_meeting_invisible_from_another_control_region(chime_meetings, make_client):
    """D7, §1 [doc] ('a meeting created via eu-central-1 can only be modified via
    eu-central-1'); reads from elsewhere [unknown] -> NotFound by D7. Every meeting
    operation from eu-central-1 on a us-east-1 meeting is NotFoundException and changes
    nothing."""
    east = make_client("us-east-1")
    m = create(east)
    attendee = east.create_attendee(MeetingId=m["MeetingId"], ExternalUserId="user-1")["Attendee"]
    central = make_client("eu-central-1")
    mid, aid = m["MeetingId"], attendee["AttendeeId"]
    caps = {"Audio": "SendReceive", "Video": "None", "Content": "None"}
    calls = [
        lambda: central.get_meeting(MeetingId=mid),
        lambda: central.delete_meeting(MeetingId=mid),
        lambda: central.create_attendee(MeetingId=mid, ExternalUserId="user-2"),
        lambda: central.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "user-2"}]),
        lambda: central.list_attendees(MeetingId=mid),
        lambda: central.get_attendee(MeetingId=mid, AttendeeId=aid),
        lambda: central.delete_attendee(MeetingId=mid, AttendeeId=aid),
        lambda: central.update_attendee_capabilities(MeetingId=mid, AttendeeId=aid, Capabilities=caps),
        lambda: central.batch_update_attendee_capabilities_except(
            MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": aid}], Capabilities=caps),
        lambda: central.start_meeting_transcription(
            MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}}),
        lambda: central.stop_meeting_transcription(MeetingId=mid),
        lambda: central.create_meeting(ClientRequestToken="tok-r", MediaRegion="us-east-1",
                                       ExternalMeetingId="replica", PrimaryMeetingId=mid),
    ]
    for call in calls:
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "NotFoundException")
    assert east.get_meeting(MeetingId=mid)["Meeting"] == m


# == replicas (D14) ========================================================================

def test_replica_meeting_echoes_primary(client, chime_meetings):
    """§4.2 [doc]/[model], D14: PrimaryMeetingId naming a live primary creates a replica,
    possibly in another MediaRegion, whose response echoes PrimaryMeetingId."""
    primary = create(client, token="tok-p")
    replica = create(client, token="tok-r", media="eu-west-2", PrimaryMeetingId=primary["MeetingId"])
    assert replica["MeetingId"] != primary["MeetingId"]
    assert replica["PrimaryMeetingId"] == primary["MeetingId"]
    assert "PrimaryMeetingId" not in client.get_meeting(MeetingId=primary["MeetingId"])["Meeting"]


@pytest.mark.parametrize("primary_id", ["fdee05b8-e3cd-41e4-a030-7b85a21c7979", "not-a-meeting-id"])
def test_replica_of_unknown_primary_is_not_found(client, chime_meetings, primary_id):
    """D14 (§4.2 error [unknown]): a PrimaryMeetingId that names no live meeting (the model
    gives it no GUID pattern) -> NotFoundException 404, nothing created."""
    create(client, token="tok-p")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(ClientRequestToken="tok-r", MediaRegion="us-east-1", ExternalMeetingId="replica",
                              PrimaryMeetingId=primary_id)
    expect_error(ei, "NotFoundException")


def test_replica_of_deleted_primary_is_not_found(client, chime_meetings):
    """D14: the primary must be live."""
    primary = create(client, token="tok-p")
    client.delete_meeting(MeetingId=primary["MeetingId"])
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(ClientRequestToken="tok-r", MediaRegion="us-east-1", ExternalMeetingId="replica",
                              PrimaryMeetingId=primary["MeetingId"])
    expect_error(ei, "NotFoundException")


def test_replica_of_a_replica_is_bad_request(client, chime_meetings):
    """§4.2 [doc] ('giving the ID of a replica makes the call fail'), D14: 400
    BadRequestException, nothing created (also via CreateMeetingWithAttendees)."""
    primary = create(client, token="tok-p")
    replica = create(client, token="tok-r", PrimaryMeetingId=primary["MeetingId"])
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting(ClientRequestToken="tok-rr", MediaRegion="us-east-1", ExternalMeetingId="rr",
                              PrimaryMeetingId=replica["MeetingId"])
    expect_error(ei, "BadRequestException")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.create_meeting_with_attendees(ClientRequestToken="tok-rr", MediaRegion="us-east-1",
                                             ExternalMeetingId="rr", PrimaryMeetingId=replica["MeetingId"],
                                             Attendees=[{"ExternalUserId": "user-1"}])
    expect_error(ei, "BadRequestException")


def test_deleting_primary_deletes_replicas(client, chime_meetings):
    """§4.2 [doc] (DG media-replication.md), D14: deleting a primary deletes all its
    replicas (with their attendees); other meetings are untouched; the replicas' tokens
    are free again (D1)."""
    primary = create(client, token="tok-p")
    replicas = [create(client, token=f"tok-r{i}", PrimaryMeetingId=primary["MeetingId"]) for i in range(3)]
    other = create(client, token="tok-other")
    client.create_attendee(MeetingId=replicas[0]["MeetingId"], ExternalUserId="viewer-1")
    resp = client.delete_meeting(MeetingId=primary["MeetingId"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    for r in replicas:
        with pytest.raises(ClientError) as ei:
            client.get_meeting(MeetingId=r["MeetingId"])
        expect_error(ei, "NotFoundException")
    assert [m.meeting_id for m in chime_meetings.meetings()] == [other["MeetingId"]]
    assert create(client, token="tok-r0")["MeetingId"] != replicas[0]["MeetingId"]


def test_deleting_a_replica_keeps_the_primary(client, chime_meetings):
    """§4.2 [doc]: replicas go away with their primary, not the other way round."""
    primary = create(client, token="tok-p")
    replica = create(client, token="tok-r", PrimaryMeetingId=primary["MeetingId"])
    client.delete_meeting(MeetingId=replica["MeetingId"])
    assert client.get_meeting(MeetingId=primary["MeetingId"])["Meeting"] == primary
    again = create(client, token="tok-r2", PrimaryMeetingId=primary["MeetingId"])
    assert again["PrimaryMeetingId"] == primary["MeetingId"]


# == delete and NotFound =====================================================================

def test_delete_cascades_and_get_says_not_found(client, chime_meetings):
    """§4.4 [model]/[obs], D6: DeleteMeeting answers 204 with an empty body and removes the
    meeting with its attendees, tags and transcription; GetMeeting afterwards is
    NotFoundException 404 with the real message 'Meeting <id> not found' (angle brackets,
    aws/amazon-chime-sdk-js #1569); attendee, tag and transcription calls then fail too."""
    m = create(client, Tags=[{"Key": "k", "Value": "v"}])
    mid = m["MeetingId"]
    aid = client.create_attendee(MeetingId=mid, ExternalUserId="user-1")["Attendee"]["AttendeeId"]
    client.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration={
        "EngineTranscribeSettings": {"LanguageCode": "en-US"}})
    resp = client.delete_meeting(MeetingId=mid)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("content-length", "0") == "0"
    assert_valid_output("DeleteMeeting", resp)
    assert chime_meetings.meeting(mid) is None and chime_meetings.meetings() == []

    with pytest.raises(ClientError) as ei:
        client.get_meeting(MeetingId=mid)
    assert expect_error(ei, "NotFoundException") == f"Meeting <{mid}> not found"
    for call in (lambda: client.get_attendee(MeetingId=mid, AttendeeId=aid),
                 lambda: client.list_attendees(MeetingId=mid),
                 lambda: client.create_attendee(MeetingId=mid, ExternalUserId="user-2"),
                 lambda: client.stop_meeting_transcription(MeetingId=mid)):
        with pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "NotFoundException")
    with pytest.raises(ClientError) as ei:
        client.list_tags_for_resource(ResourceARN=m["MeetingArn"])
    expect_error(ei, "ResourceNotFoundException")


def test_second_delete_is_not_found(client, chime_meetings):
    """client-usage.md + §4.4: a second DeleteMeeting raises NotFoundException (cleanup
    code treats it as success); a never-existing valid GUID too."""
    m = create(client)
    client.delete_meeting(MeetingId=m["MeetingId"])
    for mid in (m["MeetingId"], str(uuid.uuid4())):
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            client.delete_meeting(MeetingId=mid)
        assert expect_error(ei, "NotFoundException") == f"Meeting <{mid}> not found"


def test_unknown_meeting_not_found_message(client, chime_meetings):
    """§4.3/§4.4 [obs]: NotFound for a meeting reads 'Meeting <id> not found'."""
    mid = str(uuid.uuid4())
    with pytest.raises(ClientError) as ei:
        client.get_meeting(MeetingId=mid)
    assert expect_error(ei, "NotFoundException") == f"Meeting <{mid}> not found"


def test_not_found_is_catchable_the_ways_users_catch_it(client, chime_meetings):
    """The two ways real backends catch it (docs/behaviour.md#error-envelope): Error.Code 'NotFoundException' and the
    modeled client.exceptions.NotFoundException class (not ResourceNotFoundException)."""
    with pytest.raises(client.exceptions.NotFoundException) as ei:
        client.get_meeting(MeetingId=str(uuid.uuid4()))
    assert ei.value.response["Error"]["Code"] == "NotFoundException"
    assert not isinstance(ei.value, client.exceptions.ResourceNotFoundException)


MALFORMED_IDS = ["not-a-guid", "12345", "c3226b73-7846-4763-80a4-3704c34c070", "c3226b73-7846-4763-80a4-3704c34c0706x",
                 "g3226b73-7846-4763-80a4-3704c34c0706"]


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
@pytest.mark.parametrize("operation", [
    "get_meeting", "delete_meeting", "create_attendee", "batch_create_attendee", "list_attendees",
    "get_attendee", "delete_attendee", "update_attendee_capabilities",
    "batch_update_attendee_capabilities_except", "start_meeting_transcription", "stop_meeting_transcription",
])
def test_malformed_meeting_id_in_path_is_bad_request(client, chime_meetings, meeting, operation, bad_id):
    """D4 (§7 [local]: botocore sends non-GUID path IDs unchecked; the real answer is
    [unknown]): a MeetingId that breaks the GuidString pattern -> BadRequestException 400
    naming meetingId, nothing changed."""
    caps = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
    aid = "0b1c1beb-5c8c-c05e-5d24-934bfc1d762a"
    extra = {
        "create_attendee": {"ExternalUserId": "user-1"},
        "batch_create_attendee": {"Attendees": [{"ExternalUserId": "user-1"}]},
        "get_attendee": {"AttendeeId": aid}, "delete_attendee": {"AttendeeId": aid},
        "update_attendee_capabilities": {"AttendeeId": aid, "Capabilities": caps},
        "batch_update_attendee_capabilities_except": {"ExcludedAttendeeIds": [{"AttendeeId": aid}],
                                                      "Capabilities": caps},
        "start_meeting_transcription": {"TranscriptionConfiguration": {
            "EngineTranscribeSettings": {"LanguageCode": "en-US"}}},
    }.get(operation, {})
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        getattr(client, operation)(MeetingId=bad_id, **extra)
    assert "meetingId" in expect_error(ei, "BadRequestException")
