"""What every door does to a request before the service sees it.

One rule turns a request into the (region, account) it is answered in, and
every door calls it (botocore events, ``requests``, aiobotocore, the HTTP
server), so the same request lands in the same place whichever way it came:

* **Region.** A host that names a Chime region (``meetings-chime.<region>.
  amazonaws.com``, any partition, FIPS, dual-stack) decides.  A SigV4
  credential scope (in-process: the client's signing region) that names a
  different region is refused as AWS refuses it: 403
  ``InvalidSignatureException``, "Credential should be scoped to a valid
  region".  A host that names no region (``localhost``, a custom endpoint):
  the scope decides; with neither, the service's default region.
* **Account.** An access key id of exactly 12 ASCII digits names the account
  (as LocalStack reads it); otherwise the service's configured account.

The doors also share :func:`as_bytes` (a body in whatever form the client
keeps it) and :func:`scope_of` (access key and region of an
``Authorization`` header).
"""
from __future__ import annotations

import re
from email.message import Message
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from chime_mock.ground.accounts import account_from_key
from chime_mock.ground.endpoints import region_from_host, split_url
from chime_mock.ground.errors import InvalidSignature, ServiceError

if TYPE_CHECKING:  # pragma: no cover
    from chime_mock.protocol.envelope import WireResponse
    from chime_mock.service.pipeline import ChimeService

# "AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request, ..."
_SCOPE = re.compile(r"Credential=([^/,\s]*)/(?:\d{8}/([a-z0-9-]+)/)?")


def header_text(headers: Mapping[str, Any], name: str) -> Optional[str]:
    """A header's value as text, or None (botocore keeps some values as bytes;
    a plain dict is looked up as given and in lower case)."""
    if isinstance(headers, Message):   # botocore's HTTPHeaders: already case-insensitive
        value = headers.get(name)
    else:
        value = headers.get(name) or headers.get(name.lower())
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return str(value) if value else None


def scope_of(headers: Mapping[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """(access key id, credential-scope region) of a SigV4 ``Authorization``
    header; (None, None) for an unsigned request."""
    auth = header_text(headers, "Authorization")
    if not auth:
        return None, None
    match = _SCOPE.search(auth)
    if match is None:
        return None, None
    return match.group(1) or None, match.group(2)


def decide(host: str, scope_region: Optional[str], access_key: Optional[str],
           default_region: str, default_account: str) -> Tuple[str, str]:
    """(region, account) of a request, by the rule of this module's docstring.

    Raises ``InvalidSignature`` (a 403 in AWS's envelope) when the host names
    one region and the credential scope another."""
    region = region_from_host(host) if host else None
    if region is None:
        region = scope_region or default_region
    elif scope_region is not None and scope_region != region:
        raise InvalidSignature(
            f"Credential should be scoped to a valid region, not '{scope_region}'. "
            f"This endpoint serves '{region}'.")
    return region, account_from_key(access_key) or default_account


#: ``decide``'s recent answers: every call of every door asks, and a process
#: talks to few (host, scope, key, default region, account) combinations.
#: Bounded (emptied when full); refusals are never kept.
_DECIDED: Dict[Tuple[str, Optional[str], Optional[str], str, str], Tuple[str, str]] = {}
_DECIDED_KEPT = 256


def answer(service: "ChimeService", method: str, url: str, headers: Mapping[str, Any], body: bytes, *,
           scope_region: Optional[str] = None, access_key: Optional[str] = None,
           operation: Optional[str] = None) -> "WireResponse":
    """Decide the request's (region, account) and have ``service`` answer it;
    a refused scope is answered in AWS's envelope without reaching the service."""
    key = (split_url(url)[0], scope_region, access_key, service.default_region, service.account_id)
    place = _DECIDED.get(key)
    if place is None:
        try:
            place = decide(*key)
        except ServiceError as error:
            return service.refuse(error)
        if len(_DECIDED) >= _DECIDED_KEPT:
            _DECIDED.clear()
        _DECIDED[key] = place
    return service.handle(method, url, headers, body, region=place[0], account=place[1], operation=operation)


def as_bytes(body: Any) -> bytes:
    """A request body as bytes, whatever form the HTTP client keeps it in."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)
        return data if isinstance(data, bytes) else str(data).encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    # A streamed body (generator or iterable of chunks).
    return b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8") for chunk in body)


__all__ = ["header_text", "scope_of", "decide", "answer", "as_bytes"]
