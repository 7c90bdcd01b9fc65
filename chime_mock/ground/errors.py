"""Errors: the service's modeled exceptions (answered over the wire) and the
mock's own failures (raised in the caller's thread, never sent as HTTP).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

# Shape name -> the short ``Code`` the Chime family puts in the JSON body
# (docs/behaviour.md#d5).  A shape missing here (a future botocore addition)
# falls back to its name without the ``Exception`` suffix.
SHORT_CODES: Dict[str, str] = {
    "BadRequestException": "BadRequest",
    "ConflictException": "Conflict",
    "ForbiddenException": "Forbidden",
    "NotFoundException": "NotFound",
    "LimitExceededException": "ResourceLimitExceeded",
    "ServiceFailureException": "ServiceFailure",
    "ServiceUnavailableException": "ServiceUnavailable",
    "ThrottlingException": "Throttling",
    "UnauthorizedException": "Unauthorized",
    "UnprocessableEntityException": "Unprocessable",
    "ResourceNotFoundException": "ResourceNotFound",
    "TooManyTagsException": "TooManyTags",
}


def short_code(shape_name: str) -> str:
    code = SHORT_CODES.get(shape_name)
    if code is None:
        code = shape_name[: -len("Exception")] if shape_name.endswith("Exception") else shape_name
    return code


class ServiceError(Exception):
    """A modeled error of the service, answered with the envelope of docs/behaviour.md#d5.

    ``shape`` is the exception shape's name (``NotFoundException``...);
    ``members`` are the shape's extra members (``ResourceName``,
    ``RetryAfterSeconds``...).
    """

    shape: str = "ServiceFailureException"
    injected: bool = False   # raised by a test's Fault rather than by the service rules
    #: For a request the model check rejected: the parameters that could be
    #: parsed (the journal records them), else None.
    params: Optional[Dict[str, Any]] = None
    #: The HTTP status of a shape the model does not declare (a modeled
    #: shape's own ``httpStatusCode`` wins).
    status: int = 400

    def __init__(self, message: str, shape: Optional[str] = None, **members: Any) -> None:
        super().__init__(message)
        if shape is not None:
            self.shape = shape
        self.message = message
        self.members = members

    @property
    def code(self) -> str:
        return short_code(self.shape)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.shape}: {self.message!r})"


class BadRequest(ServiceError):
    shape = "BadRequestException"


class NotFound(ServiceError):
    shape = "NotFoundException"


class LimitExceeded(ServiceError):
    shape = "LimitExceededException"


class Conflict(ServiceError):
    shape = "ConflictException"


class ResourceNotFound(ServiceError):
    shape = "ResourceNotFoundException"


class TooManyTags(ServiceError):
    shape = "TooManyTagsException"


class InvalidSignature(ServiceError):
    """What AWS answers a request whose SigV4 credential scope names another
    region than the endpoint it was sent to (not a modeled shape)."""
    shape = "InvalidSignatureException"
    status = 403


class ChimeMockError(Exception):
    """Base class of failures of chime_mock itself (not of the service)."""


class UnsupportedOperationError(ChimeMockError, NotImplementedError):
    """The installed botocore knows an operation the backend does not implement.

    Raised in the caller instead of letting the request reach AWS.
    """


class ChimeMockInternalError(ChimeMockError):
    """A bug inside chime_mock; raised (never retried) with the operation named."""


class MediaNotFound(ChimeMockError, LookupError):
    """A simulated client action (join, leave, video...) names a meeting that
    is not live (never created, deleted, ended) or an attendee that is not in
    it (never added, deleted), or presents a JoinToken that is not one."""


class MediaConflict(ChimeMockError, ValueError):
    """A simulated client action that the attendee's state does not allow:
    joining twice, leaving while not joined, video without a sending Video
    capability, content share without a sending Content capability..."""


class EventTimeout(ChimeMockError, TimeoutError):
    """No matching meeting event was emitted within the time waited for."""
