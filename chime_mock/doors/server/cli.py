"""``chime-mock`` (also ``python -m chime_mock``): the command line.

    chime-mock serve [--host 127.0.0.1] [--port 0] [--account-id ID] [--seed N]
                     [--quotas aws] [--auto-end] [--state FILE] [--max-body BYTES]
                     [--eventbridge-endpoint URL] [--sqs-endpoint URL] [--sns-endpoint URL]
                     [--aws-endpoint URL]

``serve`` answers the Chime SDK Meetings API and the control API over HTTP
(``server.make_app``), hosted by waitress (``pip install "chime-mock[server]"``).
Its first line on stdout is exactly ``chime_mock listening on http://HOST:PORT``
(the real port when ``--port 0`` picked one), flushed.  SIGINT and SIGTERM stop
it cleanly: it stops accepting connections, answers every request already
under way (for up to ``--grace`` seconds), saves ``--state`` and exits 0.

Why waitress: its asynchronous front end buffers each request before a worker
thread sees it, so clients that send slowly, or send half a request and
stall, never hold a worker (with a thread-per-connection pool they would);
and it was the fastest of the candidates measured (see setup.cfg).
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any, List, Optional, Tuple, cast

if TYPE_CHECKING:  # the server module is imported only when serving
    from chime_mock.doors.server.app import ChimeApp

log = logging.getLogger("chime_mock.server")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number (0-65535), got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number (0-65535), got {text!r}")
    return value


def _account(text: str) -> str:
    if not (len(text) == 12 and text.isdigit()):
        raise argparse.ArgumentTypeError(f"must be 12 digits, got {text!r}")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds (0 or more), got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from chime_mock.doors.server.app import DEFAULT_MAX_BODY

    parser = argparse.ArgumentParser(prog="chime-mock", description="chime_mock: an in-memory Amazon Chime "
                                     "SDK Meetings service for tests.")
    from chime_mock.ground.version import __version__
    parser.add_argument("--version", action="version", version=f"chime-mock {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve", help="serve the Chime SDK Meetings API and the control API over HTTP",
        description="Serve the Chime SDK Meetings API (point AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS at the "
                    "printed URL) and the control API under /_chime_mock/. The first line on stdout is "
                    "'chime_mock listening on http://HOST:PORT'.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1, loopback only; anything else is reachable "
                            "from other machines)")
    serve.add_argument("--port", type=_port, default=4666,
                       help="port to bind; 0 picks a free one (default 4666)")
    serve.add_argument("--account-id", type=_account, default=None,
                       help="the account of requests whose access key id is not 12 digits (default 123456789012)")
    serve.add_argument("--region", default=None,
                       help="the control region of requests that name none (default: the one boto3 would use, "
                            "else us-east-1)")
    serve.add_argument("--seed", type=int, default=None, help="make every ID, token and RequestId reproducible")
    serve.add_argument("--quotas", choices=["aws"], default=None,
                       help="enforce AWS's starting quotas (250 active meetings, 4 replicas, 10 requests/s)")
    serve.add_argument("--auto-end", action="store_true",
                       help="end meetings as the service does (24 hours; 5 minutes with nobody connected)")
    serve.add_argument("--state", metavar="FILE", default=None,
                       help="load a snapshot from FILE at start (if it exists) and save one there on a clean stop")
    serve.add_argument("--max-body", type=_positive, default=DEFAULT_MAX_BODY, metavar="BYTES",
                       help=f"refuse request bodies larger than this with 413 (default {DEFAULT_MAX_BODY})")
    serve.add_argument("--threads", type=_positive, default=8, help="worker threads (default 8)")
    serve.add_argument("--grace", type=_seconds, default=10.0, metavar="SECONDS",
                       help="on SIGINT/SIGTERM, how long to finish requests under way (default 10)")
    _add_delivery_options(serve)
    serve.add_argument("--log-level", default="WARNING",
                       choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log level on stderr (default WARNING)")
    return parser


def _endpoint_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL, got {text!r}")
    return text


def _add_delivery_options(serve: argparse.ArgumentParser) -> None:
    """Where meeting events are delivered (another emulator's AWS endpoints)."""
    group = serve.add_argument_group(
        "event deliveries", "Deliver meeting events to another emulator (moto_server, LocalStack): to the "
        "default EventBridge bus of the meeting's account and region, and to the meeting's "
        "NotificationsConfiguration SQS queue and SNS topic. Each defaults to the standard variable "
        "(AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_SNS, then AWS_ENDPOINT_URL); "
        "with none, nothing is delivered.")
    group.add_argument("--eventbridge-endpoint", type=_endpoint_url, metavar="URL", default=None,
                       help="EventBridge endpoint for PutEvents")
    group.add_argument("--sqs-endpoint", type=_endpoint_url, metavar="URL", default=None,
                       help="SQS endpoint for NotificationsConfiguration queues")
    group.add_argument("--sns-endpoint", type=_endpoint_url, metavar="URL", default=None,
                       help="SNS endpoint for NotificationsConfiguration topics")
    group.add_argument("--aws-endpoint", type=_endpoint_url, metavar="URL", default=None,
                       help="one endpoint for all three (an option for one service wins over it)")


def _start_deliveries(service: Any, args: argparse.Namespace) -> Any:
    from chime_mock.deliveries import Endpoints, attach

    endpoints = Endpoints.resolve(eventbridge=args.eventbridge_endpoint, sqs=args.sqs_endpoint,
                                  sns=args.sns_endpoint, aws=args.aws_endpoint)
    if endpoints:
        log.info("delivering events to EventBridge %s, SQS %s, SNS %s", endpoints.eventbridge or "-",
                 endpoints.sqs or "-", endpoints.sns or "-")
    return attach(service, endpoints=endpoints)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args, parser)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


def _bind_address(host: str) -> Tuple[int, str]:
    """(family, address) for ``host``: the first address it resolves to."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValueError(f"--host {host!r} does not resolve: {exc}") from None
    family, _, _, _, sockaddr = infos[0]
    return family, cast(str, sockaddr[0])  # an IP address: the host was a name or address


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _connection_limit() -> int:
    """As many open connections as the process's file limit leaves room for
    (waitress's default of 100 lets 100 idle keep-alive clients lock others out)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 1000
    if soft == resource.RLIM_INFINITY:
        return 4000
    return max(100, min(4000, int(soft) - 64))


def check_state_path(path: str) -> None:
    """Refuse at start a --state FILE the server could not write at its stop."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"--state {path}: is a directory, not a file")
    if not os.path.isdir(directory):
        raise ValueError(f"--state {path}: the folder {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(f"--state {path}: the folder {directory} is not writable, so the state could not be saved")


def load_state(service: Any, path: str) -> bool:
    """Restore ``service`` from the snapshot in ``path``; False if there is no file."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle, parse_constant=_no_constant)
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise ValueError(f"--state {path}: cannot read a snapshot: {exc}") from None
    try:
        service.restore(data)
    except ValueError as exc:
        raise ValueError(f"--state {path}: not a usable snapshot: {exc}") from None
    return True


def save_state(service: Any, path: str) -> None:
    """Write the service's snapshot to ``path`` atomically (a temporary file renamed over it)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".chime_mock-state-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(service.snapshot(), handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        from waitress.server import create_server
    except ImportError:
        print("chime-mock serve needs waitress: pip install \"chime-mock[server]\"", file=sys.stderr)
        return 2
    from chime_mock.doors.server.app import make_app
    from chime_mock.service.pipeline import ChimeService

    config = {}
    if args.account_id:
        config["account_id"] = args.account_id
    try:
        service = ChimeService(default_region=args.region, seed=args.seed, quotas=args.quotas,
                               auto_end=args.auto_end, **config)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc).replace("default_region", "--region"))
    if args.state:
        try:
            check_state_path(args.state)
            if load_state(service, args.state):
                log.info("state loaded from %s", args.state)
        except ValueError as exc:
            parser.error(str(exc))
    try:
        family, address = _bind_address(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
        print(f"chime_mock: --host {args.host} binds {address}: other machines can reach this server",
              file=sys.stderr)
    try:
        deliveries = _start_deliveries(service, args)
    except ValueError as exc:  # an endpoint variable that is not a URL
        parser.error(str(exc))
    app = make_app(service, max_body=args.max_body)
    try:
        server = create_server(app, host=address, port=args.port, threads=args.threads, ident="chime_mock",
                               max_request_body_size=args.max_body,
                               clear_untrusted_proxy_headers=True, channel_timeout=120,
                               connection_limit=_connection_limit())
    except OSError as exc:
        print(f"chime_mock: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    _use_envelope_errors(server)
    stopping: List[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"chime_mock listening on http://{_url_host(address)}:{server.effective_port}", flush=True)
        _run_until_signal(server, app, args.grace, stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    deliveries.close(timeout=min(args.grace, 5.0))
    if args.state:
        save_state(service, args.state)
        log.info("state saved to %s", args.state)
    return 0


def _use_envelope_errors(server: Any) -> None:
    """Errors waitress answers itself (malformed HTTP, a body over the limit,
    headers too large) in AWS's JSON envelope too, like every other answer."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    from chime_mock.doors.server.wire import error_answer

    names = {400: "BadRequestException", 413: "RequestEntityTooLargeException",
             431: "RequestHeaderFieldsTooLargeException", 501: "NotImplementedException"}

    class EnvelopeErrorTask(ErrorTask):  # type: ignore[misc]  # waitress is untyped
        def execute(self) -> None:
            error = self.request.error
            code = int(getattr(error, "code", 400))
            reason = getattr(error, "reason", "Bad Request")
            detail = getattr(error, "body", "") or ""
            status, headers, body = error_answer(code, names.get(code, "BadRequestException"),
                                                 f"{reason}: {detail}" if detail else reason)
            self.status = f"{code} {reason}"
            self.response_headers.extend(h for h in headers if h[0] != "Content-Length")
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class EnvelopeChannel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
        error_task_class = EnvelopeErrorTask

    server.channel_class = EnvelopeChannel


def _run_until_signal(server: Any, app: ChimeApp, grace: float, stopping: List[int]) -> None:
    """Serve until ``stopping`` gets a signal number, then drain: stop
    accepting, finish every request already under way (received in part or
    whole, or being answered) and flush its answer, for at most ``grace`` seconds."""
    from waitress import wasyncore
    from waitress.channel import HTTPChannel

    socket_map = server._map
    try:
        while not stopping:
            wasyncore.loop(timeout=0.5, map=socket_map, use_poll=True, count=1)
        log.info("signal %s: draining", stopping[0])
        wasyncore.dispatcher.close(server)      # stop accepting; keep the trigger for the workers

        def busy() -> bool:
            for channel in list(socket_map.values()):
                if isinstance(channel, HTTPChannel) and (
                        channel.requests or channel.total_outbufs_len
                        or (channel.request is not None and channel.request.header_bytes_received)):
                    return True
            return app.in_flight > 0

        deadline = time.monotonic() + grace
        while busy() and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)
    finally:
        server.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(socket_map)


__all__ = ["main", "build_parser", "serve", "load_state", "save_state"]
