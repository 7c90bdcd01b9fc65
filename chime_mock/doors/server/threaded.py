"""An in-thread server: ``chime-mock serve`` without a subprocess.

    from chime_mock import ThreadedChimeServer

    with ThreadedChimeServer() as server:            # a free loopback port
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1",
                              endpoint_url=server.url,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_meeting(...)
        assert len(server.service.meetings()) == 1   # read the state directly

It hosts the same WSGI application as ``chime-mock serve`` (``make_app``:
the API, the control API under ``/_chime_mock/`` and the dashboard) with
waitress, on a daemon thread of the calling process, so starting it costs
milliseconds and a test reads and seeds ``server.service`` directly while
other processes (the AWS CLI, a browser, the JS SDK) talk to ``server.url``.
Like moto's ``ThreadedMotoServer``.

It binds loopback only: a host that is not a loopback address is refused
unless ``allow_remote=True`` says other machines may reach it.

The in-process mock (``mock_chime_meetings``) answers every
``chime-sdk-meetings`` client whatever its ``endpoint_url``; while one is
active in the same process, boto3 clients pointed at this server are
answered in-process, not by the server.  Other processes are unaffected.
"""
from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.request
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from chime_mock.doors.server.app import CONTROL_PREFIX, DEFAULT_MAX_BODY, ChimeApp, make_app
from chime_mock.service.pipeline import ChimeService

if TYPE_CHECKING:  # pragma: no cover
    from chime_mock.backend.rules import Quotas
    from chime_mock.doors.server.client import ChimeMockClient

_CONFIG = ("account_id", "default_region", "seed", "quotas", "auto_end", "clock")


class ThreadedChimeServer:
    """``chime-mock serve`` on a background thread of this process.

    :param host: address to bind (default ``127.0.0.1``); a non-loopback
        address needs ``allow_remote=True``.
    :param port: port to bind; 0 (the default) picks a free one at each
        ``start()`` (read it from ``url`` or ``port``).
    :param service: the ``ChimeService`` to serve (share one with an
        in-process handle: ``ChimeMeetingsMock(service=server.service)``);
        by default a new one configured with ``account_id``,
        ``default_region``, ``seed``, ``quotas``, ``auto_end``, ``clock``
        (the keywords of ``ChimeService``; not together with ``service``).
    :param max_body: the largest request body accepted (413 beyond).
    :param threads: waitress worker threads.
    :param grace: on ``stop()``, how long to finish requests under way.
    :param allow_remote: allow binding an address other machines can reach.

    ``start()`` returns the server once it answers; ``stop()`` stops
    accepting, finishes requests under way, frees the port and ends every
    thread it started.  A stopped server can be started again: the state
    (``service``) is kept, ``reset()`` empties it.  Also a context manager.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, service: Optional[ChimeService] = None,
                 account_id: Optional[str] = None, default_region: Optional[str] = None,
                 seed: Optional[int] = None, quotas: Union["Quotas", str, None] = None,
                 auto_end: Optional[bool] = None, clock: Optional[Callable[[], float]] = None,
                 max_body: int = DEFAULT_MAX_BODY, threads: int = 4, grace: float = 5.0,
                 allow_remote: bool = False) -> None:
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a host name or address, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a port number (0-65535), got {port!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive whole number, got {threads!r}")
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
            raise ValueError(f"grace must be a number of seconds (0 or more), got {grace!r}")
        if not isinstance(allow_remote, bool):
            raise TypeError(f"allow_remote must be True or False, got {allow_remote!r}")
        config: Dict[str, Any] = {name: value for name, value in zip(
            _CONFIG, (account_id, default_region, seed, quotas, auto_end, clock)) if value is not None}
        if service is not None:
            if not isinstance(service, ChimeService):
                raise TypeError(f"service must be a chime_mock.ChimeService, got {service!r}")
            if config:
                raise TypeError(f"give either service= or configuration ({', '.join(config)}), not both: "
                                f"the service carries its own configuration")
        else:
            service = ChimeService(**config)
        from chime_mock.doors.server.cli import _bind_address

        try:
            _, address = _bind_address(host)
        except ValueError as exc:
            raise ValueError(str(exc).replace("--host", "host", 1)) from None
        if not allow_remote and not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            raise ValueError(f"host {host!r} binds {address}, which other machines can reach; "
                             f"pass allow_remote=True to serve on it")
        self.host = host
        self._address = address
        self._port = port
        self.grace = float(grace)
        self.threads = threads
        self._service: ChimeService = service
        #: The WSGI application (the same as ``chime-mock serve``'s).
        self.app: ChimeApp = make_app(service, max_body=max_body)
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._stopping: List[int] = []
        self._url: Optional[str] = None
        self._client: Optional["ChimeMockClient"] = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, timeout: float = 30.0) -> "ThreadedChimeServer":
        """Bind, serve on a daemon thread, and return once the server answers
        (``RuntimeError`` if it does not within ``timeout`` seconds).
        Starting a running server is an error."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"{self!r} is already running")
            try:
                from waitress.server import create_server
            except ImportError:  # pragma: no cover - waitress is the server extra
                raise RuntimeError('ThreadedChimeServer needs waitress: pip install "chime-mock[server]"') \
                    from None
            from chime_mock.doors.server.cli import _connection_limit, _url_host, _use_envelope_errors

            server = create_server(self.app, host=self._address, port=self._port, threads=self.threads,
                                   ident="chime_mock", max_request_body_size=self.app.max_body,
                                   clear_untrusted_proxy_headers=True, channel_timeout=120,
                                   connection_limit=_connection_limit())
            _use_envelope_errors(server)
            self._server = server
            self._stopping = []
            self._url = f"http://{_url_host(self._address)}:{server.effective_port}"
            self._client = None
            self._thread = threading.Thread(target=self._serve, args=(server, self._stopping),
                                            name=f"chime_mock server {self._url}", daemon=True)
            self._thread.start()
        try:
            self._wait_until_answering(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self, server: Any, stopping: List[int]) -> None:
        from chime_mock.doors.server.cli import _run_until_signal

        _run_until_signal(server, self.app, self.grace, stopping)

    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        health = f"{self._url}{CONTROL_PREFIX}health"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # loopback: never a proxy
        while True:
            try:
                with opener.open(health, timeout=max(0.1, deadline - time.monotonic())) as answer:
                    if json.loads(answer.read()).get("status") == "ok":
                        return
            except (OSError, ValueError):
                pass
            thread = self._thread
            if thread is None or not thread.is_alive():
                raise RuntimeError(f"the chime_mock server thread for {self._url} ended before answering")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the chime_mock server at {self._url} did not answer within {timeout} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop accepting, finish requests under way (up to ``grace``
        seconds), close every connection and the listening socket, and end
        the server's threads.  Stopping a stopped server does nothing."""
        with self._lock:
            thread, server = self._thread, self._server
            if thread is None:
                return
            self._stopping.append(0)
            try:
                server.trigger.pull_trigger()   # wake the loop now rather than at its next timeout
            except Exception:  # pragma: no cover - the loop already closed the trigger
                pass
            thread.join()
            self._thread = None
            self._server = None

    def __enter__(self) -> "ThreadedChimeServer":
        return self.start() if not self.running else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- where and what --------------------------------------------------------------------------
    @property
    def service(self) -> ChimeService:
        """The service answering every request (read and seed it directly).
        Assigning another ``ChimeService`` serves it from the next request on
        (e.g. an in-process handle's: ``server.service = handle.service``);
        assign between requests, not while one is under way."""
        return self._service

    @service.setter
    def service(self, service: ChimeService) -> None:
        if not isinstance(service, ChimeService):
            raise TypeError(f"service must be a chime_mock.ChimeService, got {service!r}")
        if service is self._service:
            return
        from chime_mock.doors.server.control import ControlAPI

        self.app.controls = ControlAPI(service)
        self.app.service = service
        self._service = service

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._url is None or self._thread is None:
            raise RuntimeError(f"{self!r} is not running: call start() first")
        return self._url

    @property
    def port(self) -> int:
        """The port it listens on (the one picked when created with ``port=0``)."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def client(self) -> "ChimeMockClient":
        """A control-API client of this server (``chime_mock.ChimeMockClient``)."""
        url = self.url
        if self._client is None:
            from chime_mock.doors.server.client import ChimeMockClient

            self._client = ChimeMockClient(url)
        return self._client

    @property
    def env(self) -> Dict[str, str]:
        """An environment for a subprocess (AWS CLI, another SDK) pointed at
        this server with fake credentials (see ``chime_mock.client_env``)."""
        from chime_mock.doors.server.client import client_env

        return client_env(self.url)

    def reset(self) -> None:
        """Empty the state, the journal and the faults (``ChimeService.reset``)."""
        self.service.reset()

    def __repr__(self) -> str:
        where = self._url if self._thread is not None else "stopped"
        return f"ThreadedChimeServer({where})"


__all__ = ["ThreadedChimeServer"]
