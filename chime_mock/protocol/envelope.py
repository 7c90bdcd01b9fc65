"""The one builder of AWS's JSON error envelope (docs/behaviour.md#d5).

Status line, ``x-amzn-ErrorType: <ShapeName>``, ``x-amzn-RequestId`` and a
JSON body ``{"Code": <short code>, "Message": ..., "RequestId": ...}`` plus
any extra body members.  The protocol engine uses it for modeled errors
(adding the shape's members and status), and the doors for what they refuse
before the service sees a request (a wrong credential scope, a body too
large, a request that is not HTTP the server can read).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from chime_mock.ground import fastjson
from chime_mock.ground.errors import short_code

_DUMPS = fastjson.dumps   # json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode, faster


class WireResponse:
    """A raw HTTP answer: status, headers and body bytes."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def error_envelope(status: int, shape: str, message: str, request_id: Optional[str] = None, *,
                   body_members: Optional[Mapping[str, Any]] = None,
                   header_members: Optional[Mapping[str, str]] = None) -> WireResponse:
    """An error answer in AWS's envelope for exception shape ``shape``."""
    headers = {"x-amzn-ErrorType": shape}
    body: Dict[str, Any] = {"Code": short_code(shape), "Message": message}
    if request_id is not None:
        headers["x-amzn-RequestId"] = request_id
        body["RequestId"] = request_id
    headers["Content-Type"] = "application/json"
    if header_members:
        headers.update(header_members)
    if body_members:
        body.update(body_members)
    # A message may quote what the request sent, a lone surrogate included
    # (JSON's \ud800 escape), which UTF-8 cannot hold: it is written back as that
    # same escape (valid JSON, the same string once read).
    data = _DUMPS(body).encode("utf-8", "backslashreplace")
    headers["Content-Length"] = str(len(data))
    return WireResponse(status, headers, data)


__all__ = ["WireResponse", "error_envelope"]
