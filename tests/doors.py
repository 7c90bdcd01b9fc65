"""The front doors the operation and fidelity tests run through.

Each door builds ``chime-sdk-meetings`` clients with the boto3 interface the
tests are written against, and each sends the call through a different door
of chime_mock:

* ``botocore``    plain boto3; botocore's event hooks answer in-process.
* ``requests``    the same boto3 calls, but every prepared request is re-sent
                  with ``requests`` to the real Chime URL and answered by
                  chime_mock's ``requests`` door (the ``responses`` adapter);
                  botocore only builds the request and parses the answer.
* ``aiobotocore`` an aiobotocore client behind a small sync facade that runs
                  each call on an event loop (aiobotocore's hooks answer).
* ``server``      boto3 with ``endpoint_url`` of an in-thread server
                  (``ThreadedChimeServer``), signed with fake keys, over HTTP.

In every door the test's ``chime_meetings`` handle is the plugin's own,
active one; the server door serves that handle's service, so the handle's
reads and seeds act on exactly the state the server answers from.  Its
clients have chime_mock's in-process hooks detached, as a client in a
process without the mock would be, so the server answers them.
"""
from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, Callable, Dict, List, Optional, Tuple

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})
DOORS = ("botocore", "requests", "aiobotocore", "server")
HAVE_AIOBOTOCORE = importlib.util.find_spec("aiobotocore") is not None
# Headers chime_mock's botocore hooks add for themselves; a plain HTTP caller never sends them.
_IN_PROCESS_HEADERS = ("x-chime-mock-region", "x-chime-mock-client")


class Door:
    """One door for the whole session (per xdist worker).  Its clients are
    kept for the session, one per (region, arguments), as a module-level
    client would be: building a client costs more than most tests.  A client
    whose event hooks a test changed is dropped at the end of that test."""

    name = "botocore"

    def __init__(self) -> None:
        self._cache: Dict[Tuple[Any, ...], List[Any]] = {}     # key -> [client, kwargs, changed]

    def begin(self, handle: Any) -> None:
        """Called before each test with its ``chime_meetings`` handle."""

    def end(self) -> None:
        """Called after each test: forget the clients whose hooks it changed."""
        for key, entry in list(self._cache.items()):
            if entry[2]:
                del self._cache[key]
                self._close(entry[0])

    def client(self, region: str = "us-east-1", **kwargs: Any) -> Any:
        kwargs.setdefault("config", NO_RETRY)
        key = (region, *sorted((name, id(value)) for name, value in kwargs.items()))
        entry = self._cache.get(key)
        if entry is None:
            entry = [self._build(region, **kwargs), kwargs, False]   # kwargs kept alive: ids stay theirs
            self._watch(entry)
            self._cache[key] = entry
        return entry[0]

    @staticmethod
    def _watch(entry: List[Any]) -> None:
        events = entry[0].meta.events
        for method in ("register", "register_first", "register_last", "unregister"):
            original = getattr(events, method)

            def changed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
                entry[2] = True
                return _original(*args, **kwargs)
            setattr(events, method, changed)

    def _build(self, region: str, **kwargs: Any) -> Any:
        return boto3.client("chime-sdk-meetings", region_name=region, **kwargs)

    @staticmethod
    def _close(client: Any) -> None:
        close = getattr(client, "close", None)
        if close is not None:
            close()

    def close(self) -> None:
        for entry in self._cache.values():
            self._close(entry[0])
        self._cache.clear()

    def __repr__(self) -> str:
        return f"<door {self.name}>"


class RequestsDoor(Door):
    """boto3 builds and parses; ``requests`` carries the request to the Chime URL."""

    name = "requests"

    def __init__(self) -> None:
        super().__init__()
        import requests

        self.session = requests.Session()
        self.sent = 0

    def _build(self, region: str, **kwargs: Any) -> Any:
        from chime_mock.doors.botocore import hooks as botocore_hooks

        client = super()._build(region, **kwargs)
        # botocore runs every before-send handler and takes the first answer: chime_mock's
        # in-process handler is detached from this client, so only the requests door answers.
        client.meta.events.unregister("before-send.chime-sdk-meetings", botocore_hooks.before_send)
        client.meta.events.register_first("before-send.chime-sdk-meetings", self._send)
        return client

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        import requests

        from chime_mock.doors.requests.adapter import ChimeAdapter
        from chime_mock.doors.botocore.hooks import RawBody

        # Only ever chime_mock's requests door: a URL it would not take is a test bug, never a
        # request to the network.
        adapter = self.session.get_adapter(request.url)
        if not isinstance(adapter, ChimeAdapter):
            raise AssertionError(f"the requests door would send {request.url} past chime_mock "
                                 f"(adapter {type(adapter).__name__})")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _IN_PROCESS_HEADERS}
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        prepared = requests.Request(request.method, request.url, headers=headers, data=body or None).prepare()
        answer = self.session.send(prepared, allow_redirects=False)
        self.sent += 1
        return AWSResponse(request.url, answer.status_code, dict(answer.headers), RawBody(answer.content))

    def close(self) -> None:
        super().close()
        self.session.close()


class _SyncPaginator:
    def __init__(self, paginator: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._paginator = paginator
        self._loop = loop

    def paginate(self, **kwargs: Any) -> List[Any]:
        async def pages() -> List[Any]:
            return [page async for page in self._paginator.paginate(**kwargs)]
        return self._loop.run_until_complete(pages())


class SyncAioClient:
    """A sync face of an aiobotocore client: each API call runs to completion
    on the door's event loop; everything else (``meta``, ``exceptions``) is
    the aiobotocore client's own."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop
        self._operations = set(client.meta.method_to_api_mapping)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name in self._operations:
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._loop.run_until_complete(attribute(*args, **kwargs))
            call.__name__ = name
            return call
        if name == "get_paginator":
            return lambda operation: _SyncPaginator(attribute(operation), self._loop)
        return attribute

    def close(self) -> None:
        self._loop.run_until_complete(self._client.__aexit__(None, None, None))


class AiobotocoreDoor(Door):
    name = "aiobotocore"
    _session: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()

    def _build(self, region: str, **kwargs: Any) -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        if AiobotocoreDoor._session is None:      # one session: its loader caches the model
            AiobotocoreDoor._session = get_session()
        config = kwargs.pop("config", None)
        if config is not None and not isinstance(config, AioConfig):
            config = AioConfig(**config._user_provided_options)
        creator = AiobotocoreDoor._session.create_client("chime-sdk-meetings", region_name=region,
                                                         config=config, **kwargs)
        return SyncAioClient(self.loop.run_until_complete(creator.__aenter__()), self.loop)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.loop.close()


class ServerDoor(Door):
    """boto3 over HTTP to the session's in-thread server, which serves the
    test's own service."""

    name = "server"

    def __init__(self, server: Any) -> None:
        super().__init__()
        self.server = server

    def begin(self, handle: Any) -> None:
        self.server.service = handle.service

    def _build(self, region: str, **kwargs: Any) -> Any:
        from chime_mock.doors.botocore import hooks as botocore_hooks

        kwargs.setdefault("endpoint_url", self.server.url)
        kwargs.setdefault("aws_access_key_id", "testing")
        kwargs.setdefault("aws_secret_access_key", "testing")
        client = super()._build(region, **kwargs)
        for event, handler, _ in botocore_hooks._HANDLERS:
            client.meta.events.unregister(event, handler)
        client.meta.events.register("before-send.chime-sdk-meetings", self._check_target)
        return client

    def _check_target(self, request: Any, **_: Any) -> None:
        if not request.url.startswith(self.server.url + "/"):
            raise AssertionError(f"the server door would send {request.url}, not to {self.server.url}")


def make_door(name: str, *, server: Optional[Callable[[], Any]] = None) -> Door:
    if name == "botocore":
        return Door()
    if name == "requests":
        return RequestsDoor()
    if name == "aiobotocore":
        return AiobotocoreDoor()
    if name == "server":
        assert server is not None
        return ServerDoor(server())
    raise ValueError(f"unknown door {name!r}; the doors are {', '.join(DOORS)}")


__all__ = ["DOORS", "HAVE_AIOBOTOCORE", "Door", "make_door", "NO_RETRY"]
