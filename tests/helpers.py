"""Shared test helpers: an output checker independent of chime_mock's own code."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.validate import ParamValidator

_SESSION = botocore.session.get_session()
MODEL = _SESSION.get_service_model("chime-sdk-meetings")


def output_problems(operation: str, response: dict) -> list:
    """Everything in ``response`` that breaks the operation's output shape:
    botocore's ParamValidator plus enums, patterns, lengths and ranges."""
    shape = MODEL.operation_model(operation).output_shape
    data = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if shape is None:
        return [f"unexpected output {data}"] if data else []
    problems = []
    report = ParamValidator().validate(data, shape)
    if report.has_errors():
        problems.extend(line for line in report.generate_report().splitlines()[1:] if not _known_exception(line))
    _walk(shape, data, operation, problems)
    return [p for p in problems if not _known_exception(p)]


def _known_exception(problem: str) -> bool:
    """The one place the model and the real service disagree, on purpose
    (docs/behaviour.md#d9): a meeting created without TenantIds comes back with
    ``TenantIds: []``, although TenantIdList has ``min: 1``.  Callers written
    against AWS index it, so the mock returns it as AWS does."""
    return "TenantIds" in problem and ("min length: 1" in problem or "shorter than 1" in problem)


def _walk(shape, value: Any, path: str, problems: list) -> None:
    meta = shape.metadata
    t = shape.type_name
    if t == "structure":
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _walk(member, value[name], f"{path}.{name}", problems)
        return
    if t == "list":
        for i, item in enumerate(value):
            _walk(shape.member, item, f"{path}[{i}]", problems)
    if t in ("string", "list", "map"):
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: longer than {meta['max']}")
    if t in ("integer", "long"):
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: below {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: above {meta['max']}")
    if t == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
        if "pattern" in meta and not re.search(meta["pattern"], value):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")


def assert_valid_output(operation: str, response: dict) -> None:
    problems = output_problems(operation, response)
    assert not problems, "\n".join(problems)


def assert_error_envelope(exc, shape_name: str, status: int) -> None:
    """The D5 envelope as boto3 exposes it."""
    response = exc.response
    assert type(exc).__name__ == shape_name
    assert response["Error"]["Code"] == shape_name
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    request_id = response["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request_id)
    assert response["RequestId"] == request_id
    assert response["Message"] == response["Error"]["Message"] and response["Message"]
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == shape_name
    assert headers["x-amzn-requestid"] == request_id


# -- shared by the fidelity tests ---------------------------------------------------
# The D5 envelope as the tests expect it, written out by hand (not read from
# chime_mock): shape -> (HTTP status, short body Code).
ENVELOPE = {
    "BadRequestException": (400, "BadRequest"),
    "ConflictException": (409, "Conflict"),
    "ForbiddenException": (403, "Forbidden"),
    "NotFoundException": (404, "NotFound"),
    "LimitExceededException": (400, "ResourceLimitExceeded"),
    "ResourceNotFoundException": (404, "ResourceNotFound"),
    "ServiceFailureException": (500, "ServiceFailure"),
    "ServiceUnavailableException": (503, "ServiceUnavailable"),
    "ThrottlingException": (429, "Throttling"),
    "TooManyTagsException": (400, "TooManyTags"),
    "UnauthorizedException": (401, "Unauthorized"),
    "UnprocessableEntityException": (422, "Unprocessable"),
}
SHORT_CODES = {shape: code for shape, (_, code) in ENVELOPE.items()}
STATUS = {shape: status for shape, (status, _) in ENVELOPE.items()}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
HEX_8_4_4_4_12 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACCOUNT = "123456789012"
ALL_SR = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}
# No client-side checks (to send what botocore would refuse), no retries.
RAW = Config(parameter_validation=False, retries={"max_attempts": 0, "mode": "standard"})


def expect_error(excinfo, shape: str) -> str:
    """The D5 envelope plus the body's short ``Code``; returns the message."""
    exc = excinfo.value
    assert_error_envelope(exc, shape, STATUS[shape])
    assert exc.response["Code"] == SHORT_CODES[shape]
    return exc.response["Message"]


def snapshot(mock) -> dict:
    """Everything a request could change, read through the mock handle."""
    state = {}
    for m in mock.meetings():
        state[(m.account, m.region, m.meeting_id)] = (
            m.to_wire(), sorted(m.replicas), m.client_request_token,
            [a.to_wire() for a in mock.attendees(m.meeting_id)],
            mock.tags(m.meeting_id), mock.transcription(m.meeting_id),
        )
    return state


@contextmanager
def unchanged(mock):
    """Assert the block (a rejected request) left the service state as it was."""
    before = snapshot(mock)
    yield
    assert snapshot(mock) == before, "a rejected request changed the service state"


def read_until(sock, marker: bytes = b"") -> bytes:
    """What a raw socket receives until ``marker`` has arrived (none: until
    the server closes the connection)."""
    answer = b""
    while not marker or marker not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


def types(events) -> list:
    """The ``type`` of each meeting event, in order."""
    return [e.type for e in events]
