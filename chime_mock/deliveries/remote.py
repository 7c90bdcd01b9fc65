"""Deliveries to the AWS endpoints of another emulator (moto_server, LocalStack).

A background worker thread sends them with botocore clients (dummy
credentials whose access key id is the event's account, the event's region,
short timeouts, no retries), fed by a bounded queue: an API call only puts
the event on the queue, never waits for a delivery.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

log = logging.getLogger("chime_mock.deliveries")

#: How long a delivery may take to connect, and to get its answer (seconds).
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
#: Events waiting for the worker; beyond this a delivery is recorded as dropped.
QUEUE_SIZE = 1000


def _check_url(value: Optional[str], name: str) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class Endpoints:
    """Where server mode delivers: an endpoint URL per service (None: not there)."""
    eventbridge: Optional[str] = None
    sqs: Optional[str] = None
    sns: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ("eventbridge", "sqs", "sns"):
            object.__setattr__(self, name, _check_url(getattr(self, name), name))

    @classmethod
    def resolve(cls, *, eventbridge: Optional[str] = None, sqs: Optional[str] = None, sns: Optional[str] = None,
                aws: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> "Endpoints":
        """Each service's URL: the one given, else ``aws``, else the standard variables
        ``AWS_ENDPOINT_URL_EVENTBRIDGE`` / ``_SQS`` / ``_SNS``, else ``AWS_ENDPOINT_URL``."""
        env = os.environ if environ is None else environ

        def pick(given: Optional[str], name: str, variable: str) -> Optional[str]:
            for value, source in ((given, name), (aws, "aws"), (env.get(variable), variable),
                                  (env.get("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL")):
                if value:
                    return _check_url(value, source)
            return None

        return cls(eventbridge=pick(eventbridge, "eventbridge", "AWS_ENDPOINT_URL_EVENTBRIDGE"),
                   sqs=pick(sqs, "sqs", "AWS_ENDPOINT_URL_SQS"), sns=pick(sns, "sns", "AWS_ENDPOINT_URL_SNS"))

    def __bool__(self) -> bool:
        return bool(self.eventbridge or self.sqs or self.sns)


#: A finished delivery: (delivered, reason).
Outcome = Tuple[bool, Optional[str]]
Job = Tuple[Callable[[], None], Callable[[bool, Optional[str]], None]]


class RemoteSender:
    """One worker thread that runs delivery jobs in order; ``submit`` never blocks."""

    def __init__(self, endpoints: Endpoints, *, queue_size: int = QUEUE_SIZE) -> None:
        self.endpoints = endpoints
        self._jobs: "queue.Queue[Optional[Job]]" = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._thread: Optional[threading.Thread] = None
        self._clients: Dict[Tuple[str, str, str], Any] = {}
        self._queue_urls: Dict[str, str] = {}
        self._closed = False

    # -- jobs -------------------------------------------------------------------------
    def submit(self, send: Callable[[], None], done: Callable[[bool, Optional[str]], None]) -> bool:
        """Queue ``send``; ``done(delivered, reason)`` runs on the worker when it is over.
        False (and nothing queued) when the queue is full or the sender is closed."""
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="chime_mock-deliveries", daemon=True)
                self._thread.start()
            try:
                self._jobs.put_nowait((send, done))
            except queue.Full:
                return False
            self._pending += 1
        return True

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            send, done = job
            try:
                send()
                outcome: Outcome = (True, None)
            except Exception as exc:
                outcome = (False, describe_error(exc))
            try:
                done(*outcome)
            except Exception:  # pragma: no cover - a bug in recording must not stop the worker
                log.exception("chime_mock: recording a delivery failed")
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued delivery is over; False if ``timeout`` ran out first."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Finish the queued deliveries (for up to ``timeout`` seconds) and stop the worker."""
        self.wait_idle(timeout)
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            try:
                self._jobs.put_nowait(None)
            except queue.Full:  # pragma: no cover - the daemon thread dies with the process
                return
            thread.join(timeout)

    # -- AWS calls (run on the worker) ------------------------------------------------------
    def client(self, service: str, region: str, account: str) -> Any:
        key = (service, region, account)
        client = self._clients.get(key)
        if client is None:
            import botocore.session
            from botocore.config import Config

            url = {"events": self.endpoints.eventbridge, "sqs": self.endpoints.sqs,
                   "sns": self.endpoints.sns}[service]
            session = botocore.session.Session()
            client = session.create_client(
                service, region_name=region, endpoint_url=url,
                aws_access_key_id=account, aws_secret_access_key="chime-mock", aws_session_token=None,
                config=Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                              retries={"total_max_attempts": 1, "mode": "standard"},
                              user_agent_extra="chime_mock-deliveries"))
            # The account: LocalStack reads it from a 12-digit access key id, moto_server from this header.
            client.meta.events.register("before-sign", _account_header(account))
            self._clients[key] = client
        return client

    def put_event(self, envelope: Dict[str, Any]) -> None:
        """PutEvents of ``envelope`` on the default bus of its account and region."""
        when = datetime.datetime.strptime(envelope["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        answer = self.client("events", envelope["region"], envelope["account"]).put_events(Entries=[{
            "Source": envelope["source"], "DetailType": envelope["detail-type"],
            "Detail": json.dumps(envelope["detail"]), "Time": when, "Resources": list(envelope["resources"]),
            "EventBusName": "default"}])
        if answer.get("FailedEntryCount"):
            entry = (answer.get("Entries") or [{}])[0]
            raise RuntimeError(f"PutEvents refused the event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")

    def send_message(self, queue_arn: str, body: str, *, group: str, dedup: str) -> None:
        _, region, account, name = queue_arn.split(":", 5)[2:6]
        sqs = self.client("sqs", region, account)
        url = self._queue_urls.get(queue_arn)
        if url is None:
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._queue_urls[queue_arn] = url
        extra = {"MessageGroupId": group, "MessageDeduplicationId": dedup} if name.endswith(".fifo") else {}
        try:
            sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
        except Exception:
            self._queue_urls.pop(queue_arn, None)  # the queue may have been deleted and made again
            raise

    def publish(self, topic_arn: str, message: str, *, group: str, dedup: str) -> None:
        _, region, account, name = topic_arn.split(":", 5)[2:6]
        extra = {"MessageGroupId": group, "MessageDeduplicationId": dedup} if name.endswith(".fifo") else {}
        self.client("sns", region, account).publish(TopicArn=topic_arn, Message=message, **extra)


def _account_header(account: str) -> Callable[..., None]:
    def add(request: Any, **kwargs: Any) -> None:
        request.headers["x-moto-account-id"] = account
    return add


def describe_error(exc: Exception) -> str:
    """A short reason for a failed delivery."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".rstrip(": ")
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["Endpoints", "RemoteSender", "describe_error", "CONNECT_TIMEOUT", "READ_TIMEOUT", "QUEUE_SIZE"]
