"""``chime-mock`` (also ``python -m chime_mock``): the command line.

    chime-mock serve [--host 127.0.0.1] [--port 0] [--account-id ID] [--seed N]
                     [--quotas aws] [--auto-end] [--state FILE] [--max-body BYTES]
                     [--save-interval S] [--journal-limit N] [--event-limit N] [--idle-timeout S]
                     [--connection-limit N] [--allow-host NAME]...
                     [--eventbridge-endpoint URL] [--sqs-endpoint URL] [--sns-endpoint URL]
                     [--aws-endpoint URL]

``serve`` answers the Chime SDK Meetings API and the control API over HTTP
(``server.make_app``), hosted by waitress (``pip install "chime-mock[server]"``).
Its first line on stdout is exactly ``chime_mock listening on http://HOST:PORT``
(the real port when ``--port 0`` picked one), flushed.  SIGINT and SIGTERM stop
it cleanly: it stops accepting connections, answers every request already
under way (for up to ``--grace`` seconds), saves ``--state`` and exits 0
(1, with one line saying why, when the state cannot be saved).

With ``--state`` the file is locked (a lock file beside it) so a second
server on it refuses to start, and it is saved every ``--save-interval``
seconds when the state changed (write to a temporary file, then rename), so
a ``kill -9`` loses at most that much.  docs/server-security.md says what
the server protects against.

Why waitress: its asynchronous front end buffers each request before a worker
thread sees it, so clients that send slowly, or send half a request and
stall, never hold a worker (with a thread-per-connection pool they would);
and it was the fastest of the candidates measured (see setup.cfg).
"""
from __future__ import annotations

import argparse
import errno
import glob
import ipaddress
import json
import logging
import os
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from typing import IO, TYPE_CHECKING, Any, List, Optional, Tuple, Union, cast

from chime_mock.ground import strictjson
from chime_mock.ground.errors import ChimeMockError

if TYPE_CHECKING:  # the server module is imported only when serving
    from chime_mock.service.pipeline import ChimeService
    from chime_mock.doors.server.app import ChimeApp

log = logging.getLogger("chime_mock.server")

DEFAULT_SAVE_INTERVAL = 5.0
DEFAULT_JOURNAL_LIMIT = 10000
DEFAULT_EVENT_LIMIT = 10000
DEFAULT_IDLE_TIMEOUT = 30.0
#: A connection whose client has not read for this long while its answer fills
#: the write buffer (so a worker waits on it) is closed (or after --idle-timeout if shorter).
STALL_TIMEOUT = 5.0
#: The most bytes a --state file may have (a snapshot of thousands of meetings is a few MB).
MAX_STATE_BYTES = 512 * 1024 * 1024


class StateError(ChimeMockError):
    """--state cannot be used: one line saying why (exit 2 at start, 1 at stop)."""


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


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        raise argparse.ArgumentTypeError(f"must be a whole number (0 or more), got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds (0 or more), got {text!r}")
    if value != value or value > 10 ** 9:
        raise argparse.ArgumentTypeError(f"must be a number of seconds (0 to 1e9), got {text!r}")
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
                       help="load a snapshot from FILE at start (if it exists), save one there every "
                            "--save-interval seconds when something changed and on a clean stop; the file "
                            "is locked, so a second server on it refuses to start")
    serve.add_argument("--save-interval", type=_seconds, default=DEFAULT_SAVE_INTERVAL, metavar="SECONDS",
                       help=f"with --state, save this often when the state changed (default "
                            f"{DEFAULT_SAVE_INTERVAL:g}; 0: only on a clean stop)")
    serve.add_argument("--journal-limit", type=_count, default=DEFAULT_JOURNAL_LIMIT, metavar="N",
                       help=f"keep only the newest N calls in the journal (default {DEFAULT_JOURNAL_LIMIT}; "
                            f"0: keep all, memory grows with every call)")
    serve.add_argument("--event-limit", type=_positive, default=DEFAULT_EVENT_LIMIT, metavar="N",
                       help=f"keep only the newest N meeting events (and delivery records) for "
                            f"/_chime_mock/events (default {DEFAULT_EVENT_LIMIT})")
    serve.add_argument("--idle-timeout", type=_seconds, default=DEFAULT_IDLE_TIMEOUT, metavar="SECONDS",
                       help=f"close a connection idle this long, or one whose client stopped reading its "
                            f"answer (default {DEFAULT_IDLE_TIMEOUT:g})")
    serve.add_argument("--connection-limit", type=_positive, default=None, metavar="N",
                       help="the most open connections; more wait to be accepted (default: what the "
                            "process's open-file limit leaves room for, at most 4000)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer requests whose Host is NAME (repeatable; '*' for any). By default "
                            "only 127.0.0.1, localhost, [::1] and the bound address are answered, which "
                            "keeps web pages from reaching the server through DNS rebinding")
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


def _target(path: str) -> str:
    """Where ``path`` points (a symlink's target, so saving keeps the link)."""
    return os.path.realpath(path)


def _temp_prefix(target: str) -> str:
    return f".{os.path.basename(target)}.chime_mock-tmp-"


def check_state_path(path: str) -> None:
    """Refuse at start a --state FILE the server could not read or write
    (a folder, a FIFO, a device, a missing or read-only folder)."""
    target = _target(path)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise ValueError(f"--state {path}: is a directory, not a file")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ValueError(f"--state {path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(f"--state {path}: is not a regular file (a FIFO, device or socket cannot hold a snapshot)")
    if not os.path.isdir(directory):
        raise ValueError(f"--state {path}: the folder {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(f"--state {path}: the folder {directory} is not writable, so the state could not be saved")


def load_state(service: Any, path: str) -> bool:
    """Restore ``service`` from the snapshot in ``path``; False if there is no
    file.  Anything unusable is a ValueError of one line (never a traceback)."""
    target = _target(path)
    try:
        # O_NONBLOCK: a FIFO put there after the check must not hang the start
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ValueError(f"--state {path}: cannot read a snapshot: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ValueError(f"--state {path}: is not a regular file")
            raw = handle.read(MAX_STATE_BYTES + 1)
        if len(raw) > MAX_STATE_BYTES:
            raise ValueError(f"--state {path}: larger than {MAX_STATE_BYTES} bytes, not a snapshot")
        data = strictjson.loads(raw)
    except RecursionError:
        raise ValueError(f"--state {path}: cannot read a snapshot: it nests too deeply") from None
    except (OSError, ValueError) as exc:
        text = str(exc) if str(exc).startswith("--state") else f"--state {path}: cannot read a snapshot: {exc}"
        raise ValueError(text) from None
    try:
        service.restore(data)
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ValueError(f"--state {path}: not a usable snapshot: {exc}") from None
    return True


def remove_stale_temporaries(path: str) -> List[str]:
    """Delete what an interrupted save left beside ``path`` (call with the lock held)."""
    target = _target(path)
    removed = []
    for leftover in glob.glob(os.path.join(glob.escape(os.path.dirname(target)),
                                           glob.escape(_temp_prefix(target)) + "*")):
        try:
            os.unlink(leftover)
            removed.append(leftover)
        except OSError:
            pass
    return removed


def snapshot_text(service: Any) -> str:
    return json.dumps(service.snapshot(), separators=(",", ":"))


def save_state(service: Any, path: str, text: Optional[str] = None) -> None:
    """Write the service's snapshot (or ``text``) to ``path`` atomically: a
    temporary file beside the target, synced, then renamed over it.  A
    symlink is written through (its target replaced, the link kept) and the
    file's permission bits are kept."""
    target = _target(path)
    directory = os.path.dirname(target)
    if text is None:
        text = snapshot_text(service)
    try:
        mode: Optional[int] = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    fd, temporary = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            else:  # a new file: the usual mode for the user's umask, not mkstemp's 0600
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(handle.fileno(), 0o666 & ~umask)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some file systems cannot sync a folder
        pass


class StateLock:
    """An exclusive ``flock`` on ``.<name>.lock`` beside the state file, held
    while the server runs; removed at a clean stop."""

    def __init__(self, path: str) -> None:
        target = _target(path)
        self.path = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.lock")
        self._handle: Optional[IO[bytes]] = None

    def acquire(self) -> None:
        import fcntl

        for _ in range(20):
            try:
                handle = open(self.path, "ab")
            except OSError as exc:
                raise StateError(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                handle.close()
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise StateError("is in use by another chime-mock serve (it holds the lock "
                                     f"{self.path}); stop that one or use another file") from None
                raise StateError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
            try:  # the lock is ours only if the path still names the file locked
                same = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except OSError:
                same = False
            if same:
                self._handle = handle
                return
            handle.close()
        raise StateError(f"cannot lock {self.path}")  # pragma: no cover

    def release(self) -> None:
        if self._handle is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self._handle.close()
        self._handle = None


class PeriodicSaver:
    """Saves the state every ``interval`` seconds when it changed (a daemon thread)."""

    def __init__(self, service: Any, path: str, interval: float) -> None:
        self.service = service
        self.path = path
        self.interval = interval
        self._saved: Optional[str] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._last_error: Optional[str] = None
        self.saves = 0

    @staticmethod
    def _comparable(text: str) -> str:
        data = json.loads(text)
        data.pop("now", None)
        return json.dumps(data, sort_keys=True)

    def mark_saved(self) -> None:
        self._saved = self._comparable(snapshot_text(self.service))

    def save(self, force: bool = False) -> bool:
        """Save if the state changed since the last save (or ``force``); True if written."""
        with self._lock:
            text = snapshot_text(self.service)
            key = self._comparable(text)
            if not force and key == self._saved:
                return False
            save_state(self.service, self.path, text)
            self._saved = key
            self.saves += 1
            return True

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="chime_mock-saver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
                self._last_error = None
            except Exception as exc:  # keep serving; say it once per distinct failure
                text = f"{type(exc).__name__}: {exc}"
                if text != self._last_error:
                    log.warning("chime_mock: could not save the state to %s: %s", self.path, text)
                    print(f"chime_mock: could not save the state to {self.path}: {exc}", file=sys.stderr,
                          flush=True)
                self._last_error = text

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``chime-mock serve`` until SIGINT/SIGTERM; the exit code."""
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        from waitress.server import create_server
    except ImportError:
        print("chime-mock serve needs waitress: pip install \"chime-mock[server]\"", file=sys.stderr)
        return 2
    service = _make_service(args, parser)
    app, address = _make_app(service, args, parser)
    state = _open_state(service, args)
    if isinstance(state, int):
        return state
    lock, saver = state
    if not ipaddress.ip_address(address.split("%")[0]).is_loopback:
        print(f"chime_mock: --host {args.host} binds {address}: other machines can reach this server "
              f"(it has no authentication; see docs/server-security.md)", file=sys.stderr)
    idle = args.idle_timeout if args.idle_timeout > 0 else DEFAULT_IDLE_TIMEOUT
    try:
        deliveries = _start_deliveries(service, args)
    except ValueError as exc:  # an endpoint variable that is not a URL
        if lock is not None:
            lock.release()
        parser.error(str(exc))
    try:
        server = create_server(app, host=address, port=args.port, threads=args.threads, ident="chime_mock",
                               max_request_body_size=args.max_body,
                               clear_untrusted_proxy_headers=True, channel_timeout=idle,
                               cleanup_interval=max(1, int(min(STALL_TIMEOUT / 2, idle / 3))),
                               connection_limit=args.connection_limit or _connection_limit())
    except OSError as exc:
        print(f"chime_mock: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        deliveries.close(timeout=0)
        if lock is not None:
            lock.release()
        return 1
    _use_envelope_errors(server)
    _drop_stalled_readers(server, idle)
    if saver is not None:
        saver.start()
    _run_with_signals(server, app, address, args.grace)
    deliveries.close(timeout=min(args.grace, 5.0))
    return _close_state(lock, saver, args.state)


def _make_service(args: argparse.Namespace, parser: argparse.ArgumentParser) -> "ChimeService":
    from chime_mock.service.pipeline import ChimeService

    config = {}
    if args.account_id:
        config["account_id"] = args.account_id
    try:
        service = ChimeService(default_region=args.region, seed=args.seed, quotas=args.quotas,
                               auto_end=args.auto_end, **config)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc).replace("default_region", "--region"))
    service.journal.limit = args.journal_limit or None
    service.events.limit = args.event_limit
    return service


def _make_app(service: "ChimeService", args: argparse.Namespace,
              parser: argparse.ArgumentParser) -> Tuple["ChimeApp", str]:
    """The WSGI app, answering the names the server is reached by, and the address to bind."""
    from chime_mock.doors.server.app import make_app

    try:
        family, address = _bind_address(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    allowed = [address, args.host] + list(args.allow_host)
    if address in ("0.0.0.0", "::"):
        allowed.remove(address)  # not a name a client uses: list the names with --allow-host
    try:
        return make_app(service, max_body=args.max_body, allowed_hosts=allowed), address
    except ValueError as exc:
        parser.error(str(exc).replace("allowed_hosts", "--allow-host"))


def _open_state(service: "ChimeService", args: argparse.Namespace
                ) -> Union[int, Tuple[Optional["StateLock"], Optional["PeriodicSaver"]]]:
    """With ``--state``: lock the file, clean up after an interrupted save,
    load it; one line on stderr and exit code 2 (never a traceback) when it
    cannot be used."""
    if not args.state:
        return None, None
    lock: Optional[StateLock] = None
    try:
        check_state_path(args.state)
        lock = StateLock(args.state)
        lock.acquire()
        for leftover in remove_stale_temporaries(args.state):
            log.warning("removed %s, left by an interrupted save", leftover)
        if load_state(service, args.state):
            log.info("state loaded from %s", args.state)
    except (ValueError, StateError) as exc:
        text = str(exc) if str(exc).startswith("--state") else f"--state {args.state}: {exc}"
        print(f"chime-mock serve: error: {text}", file=sys.stderr)
        if lock is not None:
            lock.release()
        return 2
    saver = PeriodicSaver(service, args.state, args.save_interval)
    saver.mark_saved()
    return lock, saver


def _run_with_signals(server: Any, app: "ChimeApp", address: str, grace: float) -> None:
    """Say where it listens, then serve until SIGINT/SIGTERM (and drain)."""
    stopping: List[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"chime_mock listening on http://{_url_host(address)}:{server.effective_port}", flush=True)
        _run_until_signal(server, app, grace, stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _close_state(lock: Optional["StateLock"], saver: Optional["PeriodicSaver"], path: Optional[str]) -> int:
    """The last save and the lock's release; 1 (with one line saying why) when the save fails."""
    if saver is None or lock is None:
        return 0
    saver.stop()
    try:
        saver.save(force=True)
        log.info("state saved to %s", path)
    except Exception as exc:  # say what failed, in one line, and exit non-zero
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"chime_mock: could not save the state to {path}: {detail}", file=sys.stderr)
        lock.release()
        return 1
    lock.release()
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

        def send_continue(self) -> None:
            # A request refused already (a Content-Length over --max-body) gets
            # its 413 at once, not "100 Continue" inviting the client to send the body.
            if self.request is not None and self.request.error is not None:
                self.request.expect_continue = False
                return
            super().send_continue()

    server.channel_class = EnvelopeChannel


def _drop_stalled_readers(server: Any, idle: float) -> None:
    """Close connections whose client stopped reading an answer: after
    ``STALL_TIMEOUT`` seconds when the answer fills the write buffer (a worker
    waits on it), else after ``idle`` seconds.  Waitress closes idle connections only between requests; one
    whose answer fills its write buffer holds a worker thread until the
    client reads or goes, so a few clients that never read could freeze
    every worker."""
    original = server.maintenance
    stalled = min(idle, STALL_TIMEOUT)
    high_watermark = server.adj.outbuf_high_watermark

    def maintenance(now: float) -> None:
        original(now)
        for channel in list(server.active_channels.values()):
            if not (channel.requests and channel.total_outbufs_len):
                continue
            # a worker blocks once an answer fills the write buffer: free it sooner
            cutoff = now - (stalled if channel.total_outbufs_len > high_watermark else idle)
            if channel.last_activity < cutoff:
                log.info("closing a connection whose client has not read its answer for %ss", idle)
                try:
                    channel.handle_close()
                except Exception:  # pragma: no cover - closing must not stop the loop
                    log.exception("closing a stalled connection failed")

    server.maintenance = maintenance


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


__all__ = ["main", "build_parser", "serve", "load_state", "save_state", "StateLock", "PeriodicSaver",
           "DEFAULT_SAVE_INTERVAL", "DEFAULT_JOURNAL_LIMIT", "DEFAULT_IDLE_TIMEOUT"]
