"""The HTTP front door: a standard WSGI application serving one ``ChimeService``.

    app = make_app(ChimeService())      # any WSGI server can host it

Every request whose path does not start with ``/_chime_mock/`` goes to
``ChimeService.handle`` as raw method, URL, headers and body, and its answer
goes back unchanged: the same wire bytes a boto3 client gets in-process.  Region
and account follow the one rule of ``chime_mock.doors.request`` (the Host
when it names a Chime region, else the SigV4 credential scope of the
``Authorization`` header, else the default; clients sign with any fake
credentials and the signature is not checked; an access key id of 12 ASCII
digits names the account, so one server holds several accounts apart).

Requests under ``/_chime_mock/`` are the control API (``control_api``);
``GET /_chime_mock/`` and a plain ``GET /`` serve the dashboard page.

Nothing here knows an operation: routing, parsing, rules and serializing are
the service's.  This module only moves bytes, refuses what is not a request
of the API (too large a body: 413; a bug: 500 ``ServiceFailureException``,
logged) and never lets a traceback reach a client.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import time
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import quote

from chime_mock.ground.errors import ChimeMockError
from chime_mock.doors.request import answer, scope_of
from chime_mock.doors.server.control import ControlAPI
from chime_mock.doors.server.wire import Answer, error_answer
from chime_mock.ground.endpoints import region_from_host
from chime_mock.protocol.restjson import RouteNotFound, protocol
from chime_mock.service.pipeline import ChimeService

log = logging.getLogger("chime_mock.server")

#: Default limit of a request body; the largest legitimate request of the API
#: (100 attendees in one BatchCreateAttendee) is a few tens of kilobytes.
#: The largest request body accepted (API calls and control routes alike).  An
#: API request is far smaller (a 100-attendee batch is under 40 KB); the limit
#: leaves room for restoring a snapshot of a large state (400 meetings with 5
#: attendees each is about 1.2 MB).  ``chime-mock serve --max-body`` changes it.
DEFAULT_MAX_BODY = 16 * 1024 * 1024
CONTROL_PREFIX = "/_chime_mock/"
DASHBOARD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard.html")

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
            429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
            503: "Service Unavailable"}

_STATUS_LINES = {status: f"{status} {reason}" for status, reason in _REASONS.items()}

StartResponse = Callable[..., Any]

_PLACEHOLDER = (
    "<!doctype html><html><head><meta charset='utf-8'><title>chime_mock</title></head><body>"
    "<h1>chime_mock</h1><p>Amazon Chime SDK Meetings mock server. Control API under "
    "<a href='/_chime_mock/state'>/_chime_mock/</a> (state, journal, faults, clock, snapshot); "
    "<a href='/_chime_mock/health'>health</a>.</p></body></html>")


class RequestTooLarge(ChimeMockError):
    pass


#: Host names every server answers to: its own loopback names.  ``chime-mock
#: serve`` adds the address it binds and each ``--allow-host``.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "localhost.localdomain"})
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_HOST_CHARS = frozenset("/?#@\\ \t")
#: Targets ``ChimeApp.answer``'s short way leaves to the general path: control routes and
#: the dashboard's ``/`` (with a query; ``/`` alone is compared whole).
_NOT_API_PREFIXES = ("/_chime_mock", "/?")
#: How many accepted ``Host`` values an app remembers (cleared when full).
_API_HOSTS_KEPT = 64
_SCOPES: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
_SCOPES_KEPT = 256


def credential_scope(authorization: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """``scope_of`` of an ``Authorization`` header value (from the environ).

    Its answer depends on the ``Credential=...`` element alone (from the first
    ``Credential=`` to the next comma): that part is the same on every
    request a client signs with one key on one day and service, while the
    signature changes, so the answers of recent parts are kept.  A part
    ``scope_of`` finds nothing in is looked up in the whole value, as
    ``scope_of`` would, and not kept."""
    if not authorization:
        return None, None
    start = authorization.find("Credential=")
    if start < 0:
        return None, None
    end = authorization.find(",", start)
    part = authorization[start:end] if end >= 0 else authorization[start:]
    found = _SCOPES.get(part)
    if found is None:
        found = scope_of({"Authorization": part})
        if found == (None, None):
            return scope_of({"Authorization": authorization})
        if len(_SCOPES) >= _SCOPES_KEPT:
            _SCOPES.clear()
        _SCOPES[part] = found
    return found


@functools.lru_cache(maxsize=256)
def host_name(host: str) -> Optional[str]:
    """The name of a ``Host`` header value (``name``, ``name:port``,
    ``[v6]:port``), lower case without a trailing dot; None when it is not
    a host name at all."""
    if not host or not host.isprintable() or not host.isascii() or not _NO_HOST_CHARS.isdisjoint(host):
        return None
    host = host.lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0 or (host[end + 1:] and not re.fullmatch(r":[0-9]{1,5}", host[end + 1:])):
            return None
        return host[1:end]
    name, colon, port = host.partition(":")
    if colon and not re.fullmatch(r"[0-9]{1,5}", port):
        return None
    return name.rstrip(".") or None


def read_body(environ: Dict[str, Any], limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (``RequestTooLarge`` beyond,
    without reading the rest).  Honours ``Content-Length``; without one (a
    chunked request the server decodes for us) reads to the end."""
    stream = environ.get("wsgi.input")
    length_text = environ.get("CONTENT_LENGTH")
    if length_text:
        if length_text.isdecimal() and len(length_text) < 16:   # the usual value: a number to int()
            length = int(length_text)
        else:
            try:
                length = int(length_text)
            except ValueError:
                raise ValueError(f"Content-Length {length_text!r} is not a number") from None
            if length < 0:
                raise ValueError(f"Content-Length {length_text!r} is negative")
        if length > limit:
            raise RequestTooLarge(length)
        if length == 0 or stream is None:
            return b""
        body: bytes = stream.read(length)   # the whole body at once from a buffered stream
        if len(body) >= length or not body:
            return body
        parts = [body]
        remaining = length - len(body)
        while remaining > 0:
            chunk = stream.read(remaining)
            if not chunk:
                break
            parts.append(chunk)
            remaining -= len(chunk)
        return b"".join(parts)
    if stream is None or not (environ.get("wsgi.input_terminated")
                              or "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower()):
        return b""
    chunk = stream.read(min(65536, limit + 1))
    if not chunk:                          # no body (a GET): one read of an empty stream
        return b""
    parts = [chunk]
    size = len(chunk)
    while True:
        if size > limit:
            raise RequestTooLarge(size)
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def request_headers(environ: Dict[str, Any]) -> Dict[str, str]:
    """The request's headers with their HTTP names in lower case."""
    headers: Dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        value = environ.get(key)
        if value:
            headers[name] = value
    return headers


class EnvironHeaders(Mapping[str, str]):
    """The request's headers read from the WSGI environ when asked (a request
    is answered after reading three or four of them): the same names and
    values as ``request_headers``, looked up in any case."""

    __slots__ = ("_environ",)

    def __init__(self, environ: Dict[str, Any]) -> None:
        self._environ = environ

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _key(name: str) -> str:
        key = name.upper().replace("-", "_")
        return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key

    def __getitem__(self, name: str) -> str:
        value = self._environ.get(self._key(name))
        if value is None or (not value and name.lower() in ("content-type", "content-length")):
            raise KeyError(name)
        return value  # type: ignore[no-any-return]

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(request_headers(self._environ))

    def __len__(self) -> int:
        return len(request_headers(self._environ))


def request_target(environ: Dict[str, Any]) -> str:
    """The raw request target (path and query, still percent-encoded)."""
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if target:
        if "://" in target:            # absolute-form target (a proxy-style request)
            rest = target.split("://", 1)[1]
            slash = rest.find("/")
            target = rest[slash:] if slash >= 0 else "/"
        return target
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    target = quote(path.encode("latin-1").decode("utf-8", "surrogateescape"), safe="/-_.~!$&'()*+,;=:@%")
    query = environ.get("QUERY_STRING")
    return target + ("?" + query if query else "")


class ChimeApp:
    """The WSGI application (see the module docstring)."""

    def __init__(self, service: ChimeService, *, max_body: int = DEFAULT_MAX_BODY,
                 allowed_hosts: Iterable[str] = ()) -> None:
        if not isinstance(service, ChimeService):
            raise TypeError(f"service must be a chime_mock.ChimeService, got {service!r}")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
            raise ValueError(f"max_body must be a positive number of bytes, got {max_body!r}")
        if isinstance(allowed_hosts, str):
            allowed_hosts = [allowed_hosts]
        hosts = set(LOOPBACK_HOSTS)
        for item in allowed_hosts:
            name = host_name(item) if isinstance(item, str) else None
            if item == "*":
                name = "*"
            if name is None:
                raise ValueError(f"allowed_hosts must hold host names such as 'chime.test', got {item!r}")
            hosts.add(name)
        self._api_hosts: Dict[str, bool] = {}
        self.allowed_hosts = frozenset(hosts)
        self.service = service
        self.max_body = max_body
        self.controls = ControlAPI(service)
        # One item per request being answered: list.append and list.pop are
        # atomic, so a request takes no lock for the bookkeeping.
        self._busy: List[None] = []
        protocol()  # compile the model now, not on the first request

    @property
    def allowed_hosts(self) -> FrozenSet[str]:
        """The ``Host`` names this app answers (besides AWS endpoint names on API routes); "*": any."""
        return self._allowed_hosts

    @allowed_hosts.setter
    def allowed_hosts(self, hosts: FrozenSet[str]) -> None:
        self._allowed_hosts = frozenset(hosts)
        # ``Host`` values accepted on API routes, for ``answer``'s short way: judged by the names above
        self._api_hosts = {}

    # -- in-flight bookkeeping, for a clean shutdown -----------------------------------------
    @property
    def in_flight(self) -> int:
        return len(self._busy)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._busy:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.005, left))
        return True

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        busy = self._busy
        busy.append(None)
        try:
            get = environ.get
            method = get("REQUEST_METHOD")
            try:
                status, headers, body = self.answer(environ)
            except Exception:  # never a traceback on the wire: a bug is a logged 500
                log.exception("chime_mock server failed on %s %s", method, get("PATH_INFO"))
                status, headers, body = error_answer(
                    500, "ServiceFailureException", "chime_mock failed while answering this request; "
                    "see the server's log", self.service.ids.uuid4())
            start_response(_STATUS_LINES.get(status) or f"{status} {_REASONS.get(status, 'Status')}", headers)
            return [b""] if method == "HEAD" else [body]
        finally:
            busy.pop()

    def answer(self, environ: Dict[str, Any]) -> Answer:
        """The answer to one request.  An API call (its target neither a
        control route nor the dashboard's ``/``) whose ``Host`` value was
        accepted before takes the short way here: ``_answer`` without the
        checks that cannot fail for it.  Everything else (control routes,
        the dashboard, a new or refused ``Host``, no ``Host``) takes the
        general one, which gives the same answer to any request."""
        get = environ.get
        target = get("REQUEST_URI") or get("RAW_URI")
        host = get("HTTP_HOST")
        if host in self._api_hosts and target and target != "/" and "://" not in target \
                and not target.startswith(_NOT_API_PREFIXES):
            try:
                body = read_body(environ, self.max_body)
            except (RequestTooLarge, ValueError) as error:
                return self._refused_body(environ, error)
            access_key, scope_region = credential_scope(get("HTTP_AUTHORIZATION"))
            wire = answer(self.service, get("REQUEST_METHOD") or "GET",
                          f"{get('wsgi.url_scheme', 'http')}://{host}{target}", EnvironHeaders(environ), body,
                          scope_region=scope_region, access_key=access_key)
            return wire.status, list(wire.headers.items()), wire.body
        return self._answer(environ)

    def _refused_body(self, environ: Dict[str, Any], error: Exception) -> Answer:
        """The 413 (``RequestTooLarge``) or 400 (``ValueError``) answer for a body ``read_body`` refused."""
        if isinstance(error, RequestTooLarge):
            environ["chime_mock.close"] = True
            return error_answer(413, "RequestEntityTooLargeException",
                                f"The request body is larger than this server accepts ({self.max_body} bytes)")
        return error_answer(400, "BadRequestException", str(error))

    def _body(self, environ: Dict[str, Any]) -> Tuple[bytes, Optional[Answer]]:
        """The request's body, or the 413/400 answer when it cannot be read."""
        try:
            return read_body(environ, self.max_body), None
        except (RequestTooLarge, ValueError) as error:
            return b"", self._refused_body(environ, error)

    def _answer(self, environ: Dict[str, Any]) -> Answer:
        method = environ.get("REQUEST_METHOD") or "GET"
        target = request_target(environ)
        path = target.partition("?")[0]
        headers = EnvironHeaders(environ)
        control = path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/")
        refused = self.refusal(method, headers, control)
        if refused is not None:
            environ["chime_mock.close"] = True
            return refused
        body, unreadable = self._body(environ)
        if unreadable is not None:
            return unreadable
        if control:
            if method in ("GET", "HEAD") and path in (CONTROL_PREFIX, CONTROL_PREFIX.rstrip("/")):
                return self.dashboard()
            return self.controls.answer(method, target, body)
        if path == "/" and method in ("GET", "HEAD") and not self._is_api_call(method, target):
            return self.dashboard()
        host = headers.get("host") or environ.get("SERVER_NAME") or "localhost"
        if host_name(host) is None:
            return error_answer(400, "BadRequestException", "The Host header is not a host name")
        if host == environ.get("HTTP_HOST"):
            # refusal() let this Host value through on an API route: remember it for answer's short way
            api_hosts = self._api_hosts
            if len(api_hosts) >= _API_HOSTS_KEPT:
                api_hosts.clear()
            api_hosts[host] = True
        url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{target}"
        access_key, scope_region = credential_scope(environ.get("HTTP_AUTHORIZATION"))
        wire = answer(self.service, method, url, headers, body, scope_region=scope_region, access_key=access_key)
        return wire.status, list(wire.headers.items()), wire.body

    def host_allowed(self, name: str, api: bool) -> bool:
        if "*" in self.allowed_hosts or name in self.allowed_hosts:
            return True
        # An AWS endpoint name (a client that keeps the real Host): nobody
        # else's web page can have such a name resolve to this server.
        return api and name.endswith(".amazonaws.com") and region_from_host(name) is not None

    def refusal(self, method: str, headers: Mapping[str, str], control: bool) -> Optional[Answer]:
        """The 4xx for a request a web browser could have been tricked into
        sending (see docs/server-security.md), else None: a ``Host`` that is
        not one of this server's names (DNS rebinding), on a state-changing
        control request an ``Origin`` of another site or a body that is not
        ``application/json`` (a plain HTML form)."""
        host = headers.get("host")
        if host is not None:
            name = host_name(host)
            if name is None:
                return error_answer(400, "BadRequestException", "The Host header is not a host name")
            if not self.host_allowed(name, api=not control):
                return error_answer(403, "ForbiddenException",
                                    f"Host {name!r} is not a name of this server; start it with "
                                    f"--allow-host {name} if clients reach it under that name")
        if not control or method not in _STATE_CHANGING:
            return None
        origin = headers.get("origin")
        if origin is not None:
            scheme, sep, rest = origin.partition("://")
            name = host_name(rest) if sep and scheme.lower() in ("http", "https") else None
            if name is None or not self.host_allowed(name, api=False):
                shown = origin if len(origin) <= 100 else origin[:100] + "..."
                return error_answer(403, "ForbiddenException",
                                    f"A control request from the web page at {shown!r} is refused: "
                                    f"only this server's own pages may change its state")
        content_type = headers.get("content-type")
        length = headers.get("content-length")
        has_body = content_type is not None or (length not in (None, "", "0")) \
            or "chunked" in headers.get("transfer-encoding", "").lower()
        if has_body and method != "DELETE" or content_type is not None:
            media = (content_type or "").partition(";")[0].strip().lower()
            if media != "application/json":
                return error_answer(415, "UnsupportedMediaTypeException",
                                    f"A control request body must be JSON with Content-Type: application/json, "
                                    f"got {(content_type or 'none')[:100]!r}")
        return None

    @staticmethod
    def _is_api_call(method: str, target: str) -> bool:
        proto = protocol()
        try:
            proto.route(method if method != "HEAD" else "GET", "/", proto.parse_query(target.partition("?")[2]))
        except RouteNotFound:
            return False
        return True

    def dashboard(self) -> Answer:
        try:
            with open(DASHBOARD_FILE, "rb") as handle:
                page = handle.read()
        except OSError:
            page = _PLACEHOLDER.encode()
        return 200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                     ("Content-Length", str(len(page)))], page


def make_app(service: Optional[ChimeService] = None, *, max_body: int = DEFAULT_MAX_BODY,
             allowed_hosts: Iterable[str] = ()) -> ChimeApp:
    """A WSGI application answering the Chime SDK Meetings API and the control
    API from ``service`` (a new ``ChimeService()`` when not given).  It
    answers requests whose ``Host`` is a loopback name (127.0.0.1, localhost,
    [::1]) or one of ``allowed_hosts`` ("*": any), see docs/server-security.md."""
    return ChimeApp(service if service is not None else ChimeService(), max_body=max_body,
                    allowed_hosts=allowed_hosts)


__all__ = ["make_app", "ChimeApp", "LOOPBACK_HOSTS", "host_name", "DEFAULT_MAX_BODY", "CONTROL_PREFIX",
           "error_answer"]
