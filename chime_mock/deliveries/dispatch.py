"""Fan each meeting event out to where AWS delivers it.

``attach(service)`` subscribes a ``Deliveries`` to the service's event log
(once per service).  For every event it:

* puts the event on the default EventBridge bus of the event's account and
  region: to the EventBridge endpoint when one is configured (server mode),
  else into moto when moto's ``mock_aws`` is active in this process, else
  nowhere (nothing attempted, nothing recorded, nothing logged);
* sends the event JSON to the meeting's ``NotificationsConfiguration`` SQS
  queue and SNS topic, the same way (an endpoint, else moto); when neither
  is there, or the target cannot be reached, the delivery is recorded as
  failed with its reason and logged at WARNING once per target;
* records a Lambda function of ``NotificationsConfiguration`` without
  invoking it.

Each outcome is a ``DeliveryRecord`` on ``service.events.deliveries``.
Nothing here ever raises into the API call: moto deliveries are synchronous
(a test sees the message as soon as the call returns), endpoint deliveries
run on one background worker behind a bounded queue.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from chime_mock.deliveries import moto_bus
from chime_mock.deliveries.remote import Endpoints, RemoteSender
from chime_mock.events import DeliveryRecord, EventLog, MeetingEvent
from chime_mock.events.log import BatchSubscriber
from chime_mock.ground.endpoints import partition_of

log = logging.getLogger("chime_mock.deliveries")

LAMBDA_REASON = "not invoked: chime_mock records Lambda notifications without running the function"
_KEYS = (("SqsQueueArn", "sqs"), ("SnsTopicArn", "sns"), ("LambdaFunctionArn", "lambda"))
_NAMES = {"sqs": "SQS", "sns": "SNS", "eventbridge": "EventBridge"}


def bus_arn(account: str, region: str) -> str:
    """The ARN of the default event bus of ``account`` in ``region``."""
    try:
        part = partition_of(region)
    except Exception:  # pragma: no cover - regions are checked before a meeting exists
        part = "aws"
    return f"arn:{part}:events:{region}:{account}:event-bus/default"


class Deliveries:
    """Delivers one service's events (see the module's docs).

    :param events: the service's event log (``service.events``).
    :param endpoints: where server mode delivers (``Endpoints``); None or empty: nowhere but moto.
    :param use_moto: deliver into moto when its ``mock_aws`` is active in this process.
    """

    def __init__(self, events: EventLog, *, endpoints: Optional[Endpoints] = None, use_moto: bool = True) -> None:
        if endpoints is not None and not isinstance(endpoints, Endpoints):
            raise TypeError(f"endpoints must be a chime_mock.deliveries.Endpoints, got {endpoints!r}")
        self.events = events
        self.use_moto = use_moto
        self._lock = threading.Lock()
        self._warned: Set[Tuple[str, str]] = set()
        self._sender: Optional[RemoteSender] = None
        self.endpoints = Endpoints()
        self.configure(endpoints)
        self._unsubscribe: Optional[Callable[[], None]] = events.subscribe(_Subscription(self))

    def configure(self, endpoints: Optional[Endpoints]) -> None:
        """Deliver to ``endpoints`` from now on (None: to no endpoint)."""
        endpoints = endpoints or Endpoints()
        with self._lock:
            old, self._sender = self._sender, (RemoteSender(endpoints) if endpoints else None)
            self.endpoints = endpoints
        if old is not None:
            old.close(timeout=1.0)

    def detach(self) -> None:
        """Stop delivering this service's events (queued endpoint deliveries still finish)."""
        self.detach_quietly()
        with _ATTACH_LOCK:
            for service, deliveries in list(_ATTACHED.items()):
                if deliveries is self:
                    del _ATTACHED[service]

    def detach_quietly(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued endpoint delivery is over (True), or ``timeout`` seconds (False)."""
        sender = self._sender
        return True if sender is None else sender.wait_idle(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Finish queued endpoint deliveries (up to ``timeout`` seconds) and stop the worker."""
        sender = self._sender
        if sender is not None:
            sender.close(timeout)

    # -- one event ------------------------------------------------------------------
    def deliver(self, event: MeetingEvent) -> None:
        """Deliver ``event`` everywhere it goes; never raises."""
        try:
            self._deliver(event)
        except Exception:  # pragma: no cover - a bug here must never fail the API call
            log.exception("chime_mock: delivering event %s failed", getattr(event, "id", "?"))

    def deliver_many(self, events: List[MeetingEvent]) -> None:
        """``deliver`` each of ``events`` in turn; never raises."""
        if self._sender is None and not any(event.notifications for event in events) \
                and not (self.use_moto and moto_bus.moto_active()):
            return                      # nowhere to deliver any of them (as ``_deliver`` finds for each)
        for event in events:
            self.deliver(event)

    def _deliver(self, event: MeetingEvent) -> None:
        sender = self._sender
        endpoints = self.endpoints
        in_moto = self.use_moto and moto_bus.moto_active()
        notifications = event.notifications
        if sender is None and not in_moto and not notifications:
            return                      # nowhere to deliver: nothing attempted, nothing recorded
        bus = bus_arn(event.account, event.region)
        if endpoints.eventbridge and sender is not None:
            envelope = event.envelope()
            self._submit(sender, event, "eventbridge", bus, lambda: sender.put_event(envelope))
        elif in_moto:
            def target_failed(arn: str, reason: str) -> None:
                self._record(event, "eventbridge", arn, False, f"rule target: {reason}")
            try:
                moto_bus.put_on_default_bus(event.envelope(), event.account, event.region, target_failed,
                                            whole=event.to_json())
            except Exception as exc:
                self._record(event, "eventbridge", bus, False, _text(exc))
            else:
                self._record(event, "eventbridge", bus, True, None)
        if not notifications:
            return
        body = event.to_json()
        for key, kind in _KEYS:
            arn = notifications.get(key)
            if not arn:
                continue
            if kind == "lambda":
                self._record(event, kind, arn, False, LAMBDA_REASON)
                continue
            group, dedup = event.meeting_id, event.id
            url = endpoints.sqs if kind == "sqs" else endpoints.sns
            if url and sender is not None:
                self._submit(sender, event, kind, arn, _remote_send(sender, kind, arn, body, group, dedup))
            elif in_moto:
                try:
                    if kind == "sqs":
                        moto_bus.send_sqs(arn, body, group=group, dedup=dedup)
                    else:
                        moto_bus.publish_sns(arn, body, group=group, dedup=dedup)
                except Exception as exc:
                    self._record(event, kind, arn, False, _text(exc))
                else:
                    self._record(event, kind, arn, True, None)
            else:
                self._record(event, kind, arn, False,
                             f"nowhere to deliver: moto's mock_aws is not active in this process and no "
                             f"{_NAMES[kind]} endpoint is configured")

    def _submit(self, sender: RemoteSender, event: MeetingEvent, kind: str, target: str,
                send: Callable[[], None]) -> None:
        def done(delivered: bool, reason: Optional[str]) -> None:
            self._record(event, kind, target, delivered, reason)
        if not sender.submit(send, done):
            self._record(event, kind, target, False,
                         "dropped: the delivery queue is full (the endpoint is slower than the events)")

    def _record(self, event: MeetingEvent, kind: str, target: str, delivered: bool, reason: Optional[str]) -> None:
        self.events.record_delivery(DeliveryRecord(
            event_id=event.id, event_type=event.type, target=target, kind=kind,
            delivered=delivered, reason=reason, at=time.time()))
        if delivered or kind == "lambda":
            return
        with self._lock:
            first = (kind, target) not in self._warned
            self._warned.add((kind, target))
        if first:
            log.warning("chime_mock: could not deliver %s events to %s (%s); recorded as undelivered, "
                        "further failures for this target are not logged", _NAMES.get(kind, kind), target, reason)


class _Subscription(BatchSubscriber):
    """How a ``Deliveries`` subscribes: one event at a time, or (while it is
    the log's only subscriber) the events of a call together."""

    __slots__ = ("deliveries",)

    def __init__(self, deliveries: Deliveries) -> None:
        self.deliveries = deliveries

    def __call__(self, event: MeetingEvent) -> None:
        if not self.skips(event):
            self.deliveries.deliver(event)

    def many(self, events: List[MeetingEvent]) -> None:
        self.deliveries.deliver_many(events)

    def skips(self, event: MeetingEvent) -> bool:
        return self.skips_for(event.notifications)

    def skips_for(self, notifications: Optional[Dict[str, str]]) -> bool:
        # ``Deliveries._deliver``'s "nowhere to deliver" (the same for every
        # event of one meeting): the log then keeps the event from us.  moto
        # never imported is moto not active (``moto_active``'s first test, here
        # without the call).
        deliveries = self.deliveries
        return deliveries._sender is None and not notifications and not (
            deliveries.use_moto and "moto" in sys.modules and moto_bus.moto_active())

    def __repr__(self) -> str:
        return f"<deliveries of {self.deliveries.events!r}>"


def _remote_send(sender: RemoteSender, kind: str, arn: str, body: str, group: str, dedup: str) -> Callable[[], None]:
    def send() -> None:
        if kind == "sqs":
            sender.send_message(arn, body, group=group, dedup=dedup)
        else:
            sender.publish(arn, body, group=group, dedup=dedup)
    return send


def _text(exc: Exception) -> str:
    if isinstance(exc, moto_bus.Unreachable):
        return str(exc.args[0])
    return f"{type(exc).__name__}: {exc}"


#: The deliveries attached to each service.
_ATTACHED: "weakref.WeakKeyDictionary[Any, Deliveries]" = weakref.WeakKeyDictionary()
_ATTACH_LOCK = threading.Lock()


def attach(service: Any, *, endpoints: Optional[Endpoints] = None) -> Deliveries:
    """The ``Deliveries`` of ``service`` (a ``ChimeService``), made on first use.
    ``endpoints``, when given, replaces where it delivers in server mode."""
    with _ATTACH_LOCK:
        deliveries = _ATTACHED.get(service)
        if deliveries is not None and deliveries.events is not service.events:
            deliveries.detach_quietly()      # the service has a new event log: follow it
            deliveries = None
        if deliveries is None:
            deliveries = Deliveries(service.events, endpoints=endpoints)
            _ATTACHED[service] = deliveries
            return deliveries
    if endpoints is not None:
        deliveries.configure(endpoints)
    return deliveries


def attached(service: Any) -> Optional[Deliveries]:
    """The ``Deliveries`` attached to ``service``, if any."""
    return _ATTACHED.get(service)


__all__ = ["Deliveries", "attach", "attached", "bus_arn", "LAMBDA_REASON"]
