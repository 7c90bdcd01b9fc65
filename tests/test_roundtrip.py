"""The protocol engine proven against botocore itself, for every operation.

* requests: botocore's own rest-json serializer -> chime_mock's router and
  parser gives back exactly the call's parameters;
* responses: chime_mock's serializer -> botocore's own rest-json parser gives
  back exactly the result dict;
* errors: chime_mock's error envelope -> botocore's parser and error factory
  gives the modeled ``client.exceptions`` class with its members.
"""
from __future__ import annotations

import json
import sys

import boto3
import pytest
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from chime_mock.activation.handle import protocol
from chime_mock.ground.errors import ServiceError, short_code
from chime_mock.ground.endpoints import host_of

from .helpers import MODEL

GUID = "0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713"
ATTENDEE = "192c2b76-a471-f07b-fa53-22e700aeb8bd"
ARN = f"arn:aws:chime:us-east-1:123456789012:meeting/{GUID}"
CAPS = {"Audio": "SendReceive", "Video": "Receive", "Content": "None"}
ENDPOINT = "https://meetings-chime.us-east-1.amazonaws.com"

# One call per operation, touching every location the operation uses.
CALLS = {
    "BatchCreateAttendee": {"MeetingId": GUID, "Attendees": [{"ExternalUserId": "u-1"}, {"ExternalUserId": "u-2", "Capabilities": CAPS}]},
    "BatchUpdateAttendeeCapabilitiesExcept": {"MeetingId": GUID, "ExcludedAttendeeIds": [{"AttendeeId": ATTENDEE}], "Capabilities": CAPS},
    "CreateAttendee": {"MeetingId": GUID, "ExternalUserId": "user 1 «ü»", "Capabilities": CAPS},
    "CreateMeeting": {
        "ClientRequestToken": "token-1", "MediaRegion": "eu-west-2", "ExternalMeetingId": "m-1",
        "MeetingHostId": "host-1", "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}, "Attendee": {"MaxCount": 5}},
        "NotificationsConfiguration": {"SqsQueueArn": "arn:aws:sqs:us-east-1:123456789012:q"},
        "TenantIds": ["tenant-1"], "Tags": [{"Key": "team", "Value": "blue"}], "MediaPlacementNetworkType": "DualStack",
    },
    "CreateMeetingWithAttendees": {
        "ClientRequestToken": "token-2", "MediaRegion": "us-east-1", "ExternalMeetingId": "m-2",
        "Attendees": [{"ExternalUserId": "a-1"}], "PrimaryMeetingId": GUID,
    },
    "DeleteAttendee": {"MeetingId": GUID, "AttendeeId": ATTENDEE},
    "DeleteMeeting": {"MeetingId": GUID},
    "GetAttendee": {"MeetingId": GUID, "AttendeeId": ATTENDEE},
    "GetMeeting": {"MeetingId": GUID},
    "ListAttendees": {"MeetingId": GUID, "NextToken": "abc/+=def", "MaxResults": 7},
    "ListTagsForResource": {"ResourceARN": ARN},
    "StartMeetingTranscription": {"MeetingId": GUID, "TranscriptionConfiguration": {"EngineTranscribeSettings": {
        "LanguageCode": "en-US", "EnablePartialResultsStabilization": True, "PartialResultsStability": "high"}}},
    "StopMeetingTranscription": {"MeetingId": GUID},
    "TagResource": {"ResourceARN": ARN, "Tags": [{"Key": "k", "Value": "v"}]},
    "UntagResource": {"ResourceARN": ARN, "TagKeys": ["k"]},
    "UpdateAttendeeCapabilities": {"MeetingId": GUID, "AttendeeId": ATTENDEE, "Capabilities": CAPS},
}


def test_every_operation_of_the_model_is_covered():
    assert set(CALLS) == set(MODEL.operation_names)
    assert set(protocol().operations) == set(MODEL.operation_names)


def installed(value, shape):
    """``value`` without members the installed botocore's model does not have
    (older botocore releases lack fields added since), so the round trips run
    against whatever model is installed."""
    if shape.type_name == "structure":
        return {k: installed(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list":
        return [installed(v, shape.member) for v in value]
    return value


@pytest.fixture(autouse=True)
def _calls_for_installed_model(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CALLS", {
        op: installed(params, MODEL.operation_model(op).input_shape) for op, params in CALLS.items()})


def _wire_request(operation: str, params: dict):
    op_model = MODEL.operation_model(operation)
    request_dict = create_serializer("rest-json").serialize_to_request(params, op_model)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    return create_request_object(request_dict).prepare()


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_botocore_serializer_to_chime_mock_parser(operation):
    request = _wire_request(operation, CALLS[operation])
    proto = protocol()
    host, path, raw_query = proto.split_url(request.url)
    query = proto.parse_query(raw_query)
    assert host == "meetings-chime.us-east-1.amazonaws.com"
    routed = proto.route(request.method, path, query)  # routing from the raw request alone
    assert routed.name == operation
    assert routed.parse(path, query, request.headers, request.body or b"") == CALLS[operation]


def _example(shape, depth=0):
    """A value for ``shape`` exercising every member (nested one level of lists)."""
    t = shape.type_name
    if t == "structure":
        return {name: _example(member, depth + 1) for name, member in shape.members.items()
                if member.serialization.get("location") != "header"}
    if t == "list":
        return [_example(shape.member, depth + 1), _example(shape.member, depth + 1)]
    if t == "map":
        return {"k": _example(shape.value, depth + 1)}
    if t == "string":
        return shape.enum[-1] if shape.enum else f"{shape.name}-value"
    if t == "integer":
        return shape.metadata.get("max", 3)
    if t == "boolean":
        return True
    raise AssertionError(f"no example for {t}")


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_chime_mock_serializer_to_botocore_parser(operation):
    op_model = MODEL.operation_model(operation)
    op = protocol().operations[operation]
    result = _example(op_model.output_shape) if op_model.output_shape is not None else None
    wire = op.serialize(result, "11111111-2222-4333-8444-555555555555")
    assert wire.status == op_model.http.get("responseCode", 200)
    assert wire.headers["x-amzn-RequestId"] == "11111111-2222-4333-8444-555555555555"
    if wire.status == 204 or op_model.output_shape is None:
        assert wire.body == b""
    parsed = create_parser("rest-json").parse(
        {"status_code": wire.status, "headers": HeadersDict(wire.headers), "body": wire.body}, op_model.output_shape)
    parsed.pop("ResponseMetadata", None)
    expected = result or {}
    if wire.status == 204:
        expected = {}
    assert parsed == expected


ERROR_CASES = sorted({(op, shape.name) for op in CALLS for shape in MODEL.operation_model(op).error_shapes})


@pytest.mark.parametrize("operation,shape_name", ERROR_CASES)
def test_error_envelope_maps_to_modeled_exception(operation, shape_name):
    op_model = MODEL.operation_model(operation)
    shape = MODEL.shape_for(shape_name)
    members = {}
    if "ResourceName" in shape.members:
        members["ResourceName"] = ARN
    if "RetryAfterSeconds" in shape.members:
        members["RetryAfterSeconds"] = "7"
    wire = protocol().error_response(ServiceError("it went wrong", shape=shape_name, **members), "req-1")
    assert wire.status == shape.metadata["error"]["httpStatusCode"]
    assert wire.headers["x-amzn-ErrorType"] == shape_name
    body = json.loads(wire.body)
    assert body == {"Code": short_code(shape_name), "Message": "it went wrong", "RequestId": "req-1",
                    **({"ResourceName": ARN} if "ResourceName" in members else {})}
    parser = create_parser("rest-json")
    response = {"status_code": wire.status, "headers": HeadersDict(wire.headers), "body": wire.body}
    parsed = parser.parse(response, op_model.output_shape)
    assert parsed["Error"]["Code"] == shape_name
    assert parsed["Error"]["Message"] == "it went wrong"
    modeled = parser.parse(response, shape)  # what botocore merges into e.response
    assert modeled["Code"] == short_code(shape_name)
    assert modeled["RequestId"] == "req-1"
    if members.get("RetryAfterSeconds"):
        assert modeled["RetryAfterSeconds"] == "7"
    if members.get("ResourceName"):
        assert modeled["ResourceName"] == ARN
    client = boto3.client("chime-sdk-meetings", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="y")
    assert client.exceptions.from_code(parsed["Error"]["Code"]).__name__ == shape_name


def test_every_error_shape_has_a_short_code_of_the_family():
    for shape in MODEL.error_shapes:
        assert short_code(shape.name) in {
            "BadRequest", "Conflict", "Forbidden", "NotFound", "ResourceLimitExceeded", "ServiceFailure",
            "ServiceUnavailable", "Throttling", "Unauthorized", "Unprocessable", "ResourceNotFound", "TooManyTags"}


def test_capabilities_path_wins_over_attendee_id_path():
    proto = protocol()
    put = proto.route("PUT", f"/meetings/{GUID}/attendees/capabilities", {"operation": ["batch-update-except"]})
    assert put.name == "BatchUpdateAttendeeCapabilitiesExcept"
    put = proto.route("PUT", f"/meetings/{GUID}/attendees/{ATTENDEE}/capabilities", {})
    assert put.name == "UpdateAttendeeCapabilities"
    for query, name in (({}, "CreateMeeting"), ({"operation": ["create-attendees"]}, "CreateMeetingWithAttendees")):
        assert proto.route("POST", "/meetings", query).name == name


@pytest.mark.parametrize("url,expected", [
    ("https://meetings-chime.us-east-1.amazonaws.com/meetings/abc?x=1#frag",
     ("meetings-chime.us-east-1.amazonaws.com", "/meetings/abc", "x=1")),
    ("http://user:pw@LOCALHOST:4566/meetings", ("localhost", "/meetings", "")),
    ("http://[::1]:8080/tags?arn=a%3Ab", ("::1", "/tags", "arn=a%3Ab")),
    ("https://meetings-chime.eu-west-2.amazonaws.com", ("meetings-chime.eu-west-2.amazonaws.com", "/", "")),
    ("https://meetings-chime.eu-west-2.amazonaws.com?operation=x", ("meetings-chime.eu-west-2.amazonaws.com", "/", "operation=x")),
    # a slash in the query or a fragment right after the authority does not end the host
    ("http://localhost:4566?next=/meetings", ("localhost", "/", "next=/meetings")),
    ("http://localhost:4566#/meetings", ("localhost", "/", "")),
])
def test_split_url(url, expected):
    assert protocol().split_url(url) == expected
    assert host_of(url) == expected[0]    # the doors' region rule reads the same host
