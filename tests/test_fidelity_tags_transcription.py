"""Fidelity tests: tagging (TagResource / UntagResource / ListTagsForResource on
the meeting ARN) and meeting transcription (D12), through real boto3 clients.

``Dn`` = decision n of docs/behaviour.md (anchor ``#dn``); ``§x.y`` = an
evidence section, located by the table at the end of docs/behaviour.md.
"""
from __future__ import annotations


import pytest
from botocore.exceptions import ClientError

from tests.helpers import (
    ACCOUNT, RAW, assert_valid_output, expect_error, unchanged,
)

UNKNOWN_MEETING = "fdee05b8-e3cd-41e4-a030-7b85a21c7979"


def new_meeting(client, token="tok-1", **kw):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="tag-tests", **kw)["Meeting"]


def tags_of(client, arn):
    resp = client.list_tags_for_resource(ResourceARN=arn)
    assert_valid_output("ListTagsForResource", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    return {t["Key"]: t["Value"] for t in resp["Tags"]}


def tag(client, arn, pairs):
    resp = client.tag_resource(ResourceARN=arn, Tags=[{"Key": k, "Value": v} for k, v in pairs.items()])
    assert_valid_output("TagResource", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    return resp


# == tagging ============================================================================

def test_tag_list_untag_round_trip(client, chime_meetings):
    """§4.7 [model]/[local], §2.4 [obs] (AWS tutorial passes Meeting.MeetingArn to
    tag-resource), D6: TagResource and UntagResource answer 204 with an empty body,
    ListTagsForResource 200 {"Tags": [...]}; tags given at CreateMeeting are listed;
    tagging an existing key replaces its value."""
    m = new_meeting(client, Tags=[{"Key": "team", "Value": "blue"}])
    arn = m["MeetingArn"]
    assert tags_of(client, arn) == {"team": "blue"}
    resp = tag(client, arn, {"team": "red", "cost-center": "42", "empty": ""})
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("content-length", "0") == "0"
    assert tags_of(client, arn) == {"team": "red", "cost-center": "42", "empty": ""}
    resp = client.untag_resource(ResourceARN=arn, TagKeys=["team", "empty"])
    assert_valid_output("UntagResource", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(client, arn) == {"cost-center": "42"}
    assert chime_meetings.tags(m["MeetingId"]) == {"cost-center": "42"}


def test_untag_absent_keys_is_fine(client, chime_meetings):
    """§4.7 [model doc]: UntagResource 'succeeds even if you attempt to remove tags ... that
    were already removed'; an empty key list is allowed too (TagKeyList min 0)."""
    m = new_meeting(client, Tags=[{"Key": "keep", "Value": "v"}])
    for keys in (["never-there"], ["keep-not"], []):
        resp = client.untag_resource(ResourceARN=m["MeetingArn"], TagKeys=keys)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(client, m["MeetingArn"]) == {"keep": "v"}


def test_empty_tag_list_is_fine(client, chime_meetings):
    """§7 [local]/§3 [model]: TagList min 0, so TagResource with no tags is a no-op 204."""
    m = new_meeting(client)
    tag(client, m["MeetingArn"], {})
    assert tags_of(client, m["MeetingArn"]) == {}


@pytest.mark.parametrize("arn", [
    "not-an-arn",
    "arn:",
    "arn:aws:s3:::my-bucket",
    f"arn:aws:chime:us-east-1:{ACCOUNT}:meeting",
    f"arn:aws:chime:us-east-1:{ACCOUNT}:meeting/",
    f"arn:aws:chime:us-east-1:12345:meeting/{UNKNOWN_MEETING}",
    f"arn:aws:chime::{ACCOUNT}:meeting:{UNKNOWN_MEETING}",
    "x" * 1012,
])
def test_malformed_arn_is_bad_request(client, chime_meetings, arn):
    """D4 + §2.4 [model] (AmazonResourceName 1-1011, '^arn:.*') and the meeting ARN format
    (arn:aws:chime:<region>:<account>:meeting/<id>, §2.4 [obs]; the media-pipeline form
    'arn:aws:chime::<acct>:meeting:<id>' is a different resource): anything that is not
    a meeting ARN -> BadRequestException 400 for all three tag operations."""
    new_meeting(client, Tags=[{"Key": "k", "Value": "v"}])
    for call in tag_calls(client, arn):
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "BadRequestException")


def tag_calls(client, arn):
    """The three tag operations on ``arn``, each as a thunk."""
    return [
        lambda: client.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "b"}]),
        lambda: client.untag_resource(ResourceARN=arn, TagKeys=["k"]),
        lambda: client.list_tags_for_resource(ResourceARN=arn),
    ]


def _arns_elsewhere(m):
    mid = m["MeetingId"]
    return [
        f"arn:aws:chime:us-east-1:{ACCOUNT}:meeting/{UNKNOWN_MEETING}",   # unknown meeting
        f"arn:aws:chime:eu-central-1:{ACCOUNT}:meeting/{mid}",           # other region
        f"arn:aws:chime:us-west-2:{ACCOUNT}:meeting/{mid}",
        f"arn:aws:chime:us-east-1:210987654321:meeting/{mid}",           # other account
    ]


def test_unknown_or_foreign_arn_is_resource_not_found(client, chime_meetings):
    """§4.7 [model] + D5/D7: a well-formed meeting ARN that names no meeting of this account
    and control region (unknown ID, other region, other account) ->
    ResourceNotFoundException 404 with ResourceName = the ARN in e.response, for all three
    operations; the real meeting keeps its tags."""
    m = new_meeting(client, Tags=[{"Key": "k", "Value": "v"}])
    for arn in _arns_elsewhere(m):
        for call in tag_calls(client, arn):
            with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
                call()
            expect_error(ei, "ResourceNotFoundException")
            assert ei.value.response["ResourceName"] == arn
            assert isinstance(ei.value, client.exceptions.ResourceNotFoundException)
    assert tags_of(client, m["MeetingArn"]) == {"k": "v"}


def test_arn_with_wrong_partition_is_not_the_meeting(client, chime_meetings):
    """D8 (MeetingArn is exactly arn:aws:chime:<control region>:<account>:meeting/<id>) and
    general ARN rules [inferred]: an ARN naming another partition (aws-cn, aws-us-gov) for
    a us-east-1 meeting does not address that meeting: it must not be tagged, untagged or
    listed (BadRequest or ResourceNotFound are both acceptable answers)."""
    m = new_meeting(client, Tags=[{"Key": "k", "Value": "v"}])
    for partition in ("aws-cn", "aws-us-gov"):
        arn = m["MeetingArn"].replace("arn:aws:", f"arn:{partition}:", 1)
        for call in tag_calls(client, arn):
            with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
                call()
            shape = type(ei.value).__name__
            assert shape in ("BadRequestException", "ResourceNotFoundException"), shape
            expect_error(ei, shape)


def test_meeting_arn_from_another_control_region_client(chime_meetings, make_client):
    """D7: a client of eu-central-1 cannot see the tags of a us-east-1 meeting, even with
    its exact ARN, nor a us-east-1 client those of an eu-central-1 meeting through an ARN
    rewritten to us-east-1 -> ResourceNotFoundException with ResourceName."""
    m = new_meeting(make_client("us-east-1"), Tags=[{"Key": "k", "Value": "v"}])
    central = make_client("eu-central-1")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        central.list_tags_for_resource(ResourceARN=m["MeetingArn"])
    expect_error(ei, "ResourceNotFoundException")
    assert ei.value.response["ResourceName"] == m["MeetingArn"]
    # ...and a us-east-1 client cannot reach an eu-central-1 meeting by rewriting the
    # region of its ARN to its own
    c = new_meeting(central, token="tok-c", Tags=[{"Key": "c", "Value": "v"}])
    rewritten = c["MeetingArn"].replace(":eu-central-1:", ":us-east-1:")
    for call in (lambda: make_client("us-east-1").list_tags_for_resource(ResourceARN=rewritten),
                 lambda: make_client("us-east-1").tag_resource(ResourceARN=rewritten,
                                                               Tags=[{"Key": "a", "Value": "b"}]),
                 lambda: make_client("us-east-1").untag_resource(ResourceARN=rewritten, TagKeys=["c"])):
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "ResourceNotFoundException")
        assert ei.value.response["ResourceName"] == rewritten


def test_more_than_50_tags_total_is_too_many_tags(client, chime_meetings):
    """§3/§4.7 [model] ('Each resource can have up to 50 tags'; TooManyTagsException 400
    carries ResourceName), D10: a TagResource that would leave more than 50 distinct keys
    -> TooManyTagsException with ResourceName and no change; replacing values of existing
    keys at 50 is fine; freeing a key makes room."""
    m = new_meeting(client, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(40)])
    arn = m["MeetingArn"]
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        tag(client, arn, {f"n{i}": "v" for i in range(11)})
    expect_error(ei, "TooManyTagsException")
    assert ei.value.response["ResourceName"] == arn
    tag(client, arn, {f"n{i}": "v" for i in range(10)})
    assert len(tags_of(client, arn)) == 50
    tag(client, arn, {"k0": "new", "n9": "new"})
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        tag(client, arn, {"one-more": "v"})
    expect_error(ei, "TooManyTagsException")
    client.untag_resource(ResourceARN=arn, TagKeys=["k1"])
    tag(client, arn, {"one-more": "v"})
    assert len(tags_of(client, arn)) == 50 and tags_of(client, arn)["k0"] == "new"


def test_51_tags_in_one_request_rejected(client, chime_meetings):
    """§3 [model] (TagList max 50), §7 [local] (botocore sends 51 unchecked): 51 tags in one
    TagResource is over both the list maximum (D4 -> BadRequest) and the resource limit
    (-> TooManyTags); which one AWS answers is [unknown], either is accepted; no change."""
    m = new_meeting(client)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    shape = type(ei.value).__name__
    assert shape in ("BadRequestException", "TooManyTagsException"), shape
    expect_error(ei, shape)


@pytest.mark.parametrize("key,value,field", [
    ("bad key", "v", "key"),
    ("bad!key", "v", "key"),
    ("k#1", "v", "key"),
    ("k" * 129, "v", "key"),
    ("ok", "v" * 257, "value"),
    ("ok", "bad#value", "value"),
    ("ok", "bad!value", "value"),
])
def test_tag_key_value_constraints(client, chime_meetings, key, value, field):
    """§3 [model] (key 1-128 '^[a-zA-Z+-=._:/]+$', value 0-256 '[\\s\\w+-=\\.:/@]*'; the
    '+-=' is a range, so digits and ',;<' are inside it for keys), D4: violations ->
    BadRequestException 400 naming the member, both on TagResource and on CreateMeeting;
    nothing changes."""
    m = new_meeting(client)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": key, "Value": value}])
    assert field in expect_error(ei, "BadRequestException")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        new_meeting(client, token="tok-2", Tags=[{"Key": key, "Value": value}])
    expect_error(ei, "BadRequestException")


def test_tag_edge_values_accepted(client, chime_meetings):
    """§3 [model]: a 128-char key, a 256-char value, an empty value, digits and ',;<' in
    keys (inside the '+-=' range), whitespace, '@', ':' and '/' in values are valid."""
    m = new_meeting(client)
    pairs = {"k" * 128: "v" * 256, "env2": "", "a,b;c<d": "x", "path/to:key.x_y-z+w=1": "a b@c:d/e.f-g+h=i_j"}
    tag(client, m["MeetingArn"], pairs)
    assert tags_of(client, m["MeetingArn"]) == pairs


def test_empty_tag_key_rejected_server_side(chime_meetings, make_client):
    """§7 [local]: botocore checks the key's 1-char minimum; without it the server still
    answers BadRequestException 400 (D4)."""
    client = make_client(config=RAW)
    m = new_meeting(client)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": "", "Value": "v"}])
    expect_error(ei, "BadRequestException")


@pytest.mark.parametrize("key", ["aws:cost", "AWS:Owner", "Aws:x"])
def test_aws_prefixed_tag_keys_rejected(client, chime_meetings, key):
    """§4.7 ([unknown] for this service; the general AWS tagging convention reserves
    'aws:' keys): TagResource and CreateMeeting reject them with BadRequestException
    400; nothing changes."""
    m = new_meeting(client, Tags=[{"Key": "k", "Value": "v"}])
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": "fine", "Value": "v"},
                                                               {"Key": key, "Value": "v"}])
    assert "aws:" in expect_error(ei, "BadRequestException")
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        new_meeting(client, token="tok-2", Tags=[{"Key": key, "Value": "v"}])
    expect_error(ei, "BadRequestException")


def test_duplicate_keys_in_one_request_rejected(client, chime_meetings):
    """chime_mock decision (AWS behaviour [unknown]): the same key twice in one request is
    ambiguous and is answered with BadRequestException 400, nothing changed."""
    m = new_meeting(client)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.tag_resource(ResourceARN=m["MeetingArn"], Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
    expect_error(ei, "BadRequestException")


def test_tags_go_with_the_meeting(client, chime_meetings):
    """§4.4 + §4.7: after DeleteMeeting the ARN names nothing: all three tag operations ->
    ResourceNotFoundException with ResourceName; a new meeting starts without tags."""
    m = new_meeting(client, Tags=[{"Key": "k", "Value": "v"}])
    client.delete_meeting(MeetingId=m["MeetingId"])
    arn = m["MeetingArn"]
    for call in (lambda: client.list_tags_for_resource(ResourceARN=arn),
                 lambda: client.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "b"}]),
                 lambda: client.untag_resource(ResourceARN=arn, TagKeys=["k"])):
        with pytest.raises(ClientError) as ei:
            call()
        expect_error(ei, "ResourceNotFoundException")
        assert ei.value.response["ResourceName"] == arn
    fresh = new_meeting(client, token="tok-1")
    assert tags_of(client, fresh["MeetingArn"]) == {}


# == transcription (D12, §4.6) ==============================================================

TRANSCRIBE = {"EngineTranscribeSettings": {"LanguageCode": "en-US", "Region": "auto"}}
MEDICAL = {"EngineTranscribeMedicalSettings": {"LanguageCode": "en-US", "Specialty": "PRIMARYCARE",
                                               "Type": "CONVERSATION"}}


def start(client, mid, config):
    resp = client.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=config)
    assert_valid_output("StartMeetingTranscription", resp)   # no output members: empty body
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(resp) == {"ResponseMetadata"}
    return resp


def stop(client, mid):
    resp = client.stop_meeting_transcription(MeetingId=mid)
    assert_valid_output("StopMeetingTranscription", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(resp) == {"ResponseMetadata"}
    return resp


@pytest.mark.parametrize("config", [TRANSCRIBE, MEDICAL, {"EngineTranscribeSettings": {}}])
def test_start_transcription_either_engine(client, chime_meetings, meeting, config):
    """D12, §4.6 [doc] (DG initiate-transcription.md: 'OK (200) with empty body'): start
    with EngineTranscribeSettings or EngineTranscribeMedicalSettings -> 200, empty body;
    the configuration is recorded."""
    start(client, meeting["MeetingId"], config)
    assert chime_meetings.transcription(meeting["MeetingId"]) == config


def test_start_again_replaces_configuration(client, chime_meetings, meeting):
    """D12, §4.6 [doc]: calling StartMeetingTranscription again updates (replaces) the
    configuration, no error."""
    mid = meeting["MeetingId"]
    start(client, mid, TRANSCRIBE)
    start(client, mid, MEDICAL)
    assert chime_meetings.transcription(mid) == MEDICAL
    other = {"EngineTranscribeSettings": {"LanguageCode": "de-DE"}}
    start(client, mid, other)
    assert chime_meetings.transcription(mid) == other


@pytest.mark.parametrize("config", [
    {},
    {**TRANSCRIBE, **MEDICAL},
])
def test_exactly_one_engine_required(client, chime_meetings, meeting, config):
    """D12, §4.6 [model]: the configuration must contain exactly one of the two engine
    settings; none or both -> BadRequestException 400 and the running configuration stays."""
    mid = meeting["MeetingId"]
    start(client, mid, TRANSCRIBE)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=config)
    expect_error(ei, "BadRequestException")
    assert chime_meetings.transcription(mid) == TRANSCRIBE


@pytest.mark.parametrize("config,field", [
    ({"EngineTranscribeSettings": {"LanguageCode": "xx-XX"}}, "languageCode"),
    ({"EngineTranscribeSettings": {"Region": "mars-1"}}, "region"),
    ({"EngineTranscribeSettings": {"VocabularyFilterMethod": "blur"}}, "vocabularyFilterMethod"),
    ({"EngineTranscribeSettings": {"PartialResultsStability": "extreme"}}, "partialResultsStability"),
    ({"EngineTranscribeSettings": {"LanguageModelName": "bad name!"}}, "languageModelName"),
    ({"EngineTranscribeSettings": {"PiiEntityTypes": "x" * 301}}, "piiEntityTypes"),
    ({"EngineTranscribeMedicalSettings": {"LanguageCode": "de-DE", "Specialty": "PRIMARYCARE",
                                          "Type": "CONVERSATION"}}, "languageCode"),
    ({"EngineTranscribeMedicalSettings": {"LanguageCode": "en-US", "Specialty": "DENTISTRY",
                                          "Type": "CONVERSATION"}}, "specialty"),
    ({"EngineTranscribeMedicalSettings": {"LanguageCode": "en-US", "Specialty": "PRIMARYCARE",
                                          "Type": "CHAT"}}, "type"),
])
def test_transcription_constraint_violations(chime_meetings, make_client, config, field):
    """§7 [local] (enums, maxima, patterns are not checked by botocore; sent here with
    parameter_validation=False) + D4: BadRequestException 400 naming the field and the
    constraint; nothing starts."""
    client = make_client(config=RAW)
    mid = client.create_meeting(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                ExternalMeetingId="m1")["Meeting"]["MeetingId"]
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=config)
    message = expect_error(ei, "BadRequestException")
    assert field in message and "constraint" in message, message
    assert chime_meetings.transcription(mid) is None


def test_stop_is_always_200_on_a_live_meeting(client, chime_meetings, meeting):
    """D12 (§4.6: stop when nothing runs [unknown]): StopMeetingTranscription answers 200 with
    an empty body whether or not transcription runs, and removes the configuration."""
    mid = meeting["MeetingId"]
    stop(client, mid)
    start(client, mid, TRANSCRIBE)
    stop(client, mid)
    assert chime_meetings.transcription(mid) is None
    stop(client, mid)
    start(client, mid, MEDICAL)
    assert chime_meetings.transcription(mid) == MEDICAL


def test_transcription_on_unknown_or_deleted_meeting_not_found(client, chime_meetings, meeting):
    """D12, §4.6 [doc]: unknown meeting -> NotFoundException 404 'Meeting <id> not found'
    for start and stop; after DeleteMeeting too (ending the meeting stops transcription)."""
    mid = meeting["MeetingId"]
    start(client, mid, TRANSCRIBE)
    client.delete_meeting(MeetingId=mid)
    for target in (UNKNOWN_MEETING, mid):
        for call in (lambda: client.start_meeting_transcription(MeetingId=target, TranscriptionConfiguration=TRANSCRIBE),
                     lambda: client.stop_meeting_transcription(MeetingId=target)):
            with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
                call()
            assert expect_error(ei, "NotFoundException") == f"Meeting <{target}> not found"


def test_transcription_is_per_meeting(client, chime_meetings, meeting):
    """§4.6: the configuration belongs to one meeting; others are unaffected."""
    other = new_meeting(client, token="tok-other")["MeetingId"]
    start(client, meeting["MeetingId"], TRANSCRIBE)
    assert chime_meetings.transcription(other) is None
    stop(client, other)
    assert chime_meetings.transcription(meeting["MeetingId"]) == TRANSCRIBE
