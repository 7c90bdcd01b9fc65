"""Deliveries into moto, when moto's ``mock_aws`` is active in this process.

Goes through moto's backends directly (not through a boto3 call), so a
delivery costs no HTTP round trip, needs no credentials and cannot be caught
by the user's own ``responses`` or botocore stubs.  moto is never imported
here unless the user already imported it.

The EventBridge part does what the bus does in AWS: every ENABLED rule of
the account's default bus in the event's region whose pattern matches the
event sends it to its targets.  A target without ``Input``, ``InputPath`` or
``InputTransformer`` receives the whole event as AWS sends it, ``account``
included (moto's own PutEvents drops ``account`` from what targets receive,
so SQS and SNS targets are served here; other target kinds go through moto's
own code).
"""
from __future__ import annotations

import copy
import json
import sys
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from chime_mock.ground.errors import ChimeMockError


class Unreachable(ChimeMockError):
    """A target could not be reached; the message says why."""


def moto_active() -> bool:
    """True while moto's ``mock_aws`` is active in this process (cheap: never imports moto)."""
    if "moto" not in sys.modules:
        return False
    models = sys.modules.get("moto.core.models")
    if models is None:
        return False
    stubber = getattr(models, "botocore_stubber", None)
    if bool(getattr(stubber, "enabled", False)):
        return True
    mock = getattr(models, "MockAWS", None)
    return int(getattr(mock, "_nested_count", 0) or 0) > 0


def _backends(service: str) -> Any:
    """moto's backend dict of ``service`` (``events``, ``sqs``, ``sns``)."""
    import importlib

    return getattr(importlib.import_module(f"moto.{service}.models"), f"{service}_backends")


def parse_arn(arn: str) -> Tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN; ValueError if it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[2], parts[3], parts[4], parts[5]


def _backend(service: str, account: str, region: str) -> Any:
    try:
        return _backends(service)[account][region]
    except Exception as exc:  # an unknown region or account layout: moto's own words
        raise Unreachable(f"moto has no {service} backend for account {account} in {region}: {exc}") from None


def _fifo_ids(name: str, group: str, dedup: str) -> Dict[str, Optional[str]]:
    if name.endswith(".fifo"):
        return {"group_id": group, "deduplication_id": dedup}
    return {}


def send_sqs(queue_arn: str, body: str, *, group: str, dedup: str, ids_for_fifo: bool = True) -> None:
    """Send ``body`` to the SQS queue ``queue_arn`` in moto (FIFO queues: ``group``/``dedup``)."""
    service, region, account, name = parse_arn(queue_arn)
    backend = _backend("sqs", account, region)
    try:
        backend.send_message(queue_name=name, message_body=body,
                             **(_fifo_ids(name, group, dedup) if ids_for_fifo else {}))
    except Exception as exc:
        raise Unreachable(_reason(exc, f"queue {name}")) from None


def publish_sns(topic_arn: str, message: str, *, group: str, dedup: str) -> None:
    """Publish ``message`` to the SNS topic ``topic_arn`` in moto (its subscriptions, RawMessageDelivery
    and filter policies are moto's)."""
    service, region, account, name = parse_arn(topic_arn)
    backend = _backend("sns", account, region)
    try:
        backend.get_topic(topic_arn)
    except Exception:
        raise Unreachable(f"no SNS topic {topic_arn} in moto") from None
    try:
        backend.publish(message=message, arn=topic_arn, **_fifo_ids(name, group, dedup))
    except Exception as exc:
        raise Unreachable(_reason(exc, f"topic {topic_arn}")) from None


def _reason(exc: Exception, what: str) -> str:
    name = type(exc).__name__
    text = str(exc) or getattr(exc, "message", "") or ""
    if name == "QueueDoesNotExist":
        return f"no SQS {what} in moto"
    return f"{what}: {name}{': ' + text if text else ''}"


def _epoch(iso: str) -> float:
    import datetime

    try:
        return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return time.time()


def _rules(account: str, region: str) -> Iterator[Any]:
    backend = _backend("events", account, region)
    bus = backend.event_buses.get("default")
    if bus is None:  # pragma: no cover - moto always makes one
        return iter(())
    return iter(list(bus.rules.values()))


def _target_input(target: Dict[str, Any], envelope: Dict[str, Any], whole: Optional[str] = None) -> str:
    """What a rule's target receives, as EventBridge shapes it."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        import importlib

        jsonpath: Any = importlib.import_module("jsonpath_ng.ext")  # moto's own dependency for events
        found = jsonpath.parse(target["InputPath"]).find(envelope)
        return json.dumps(found[0].value if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        import importlib

        parser: Any = importlib.import_module("moto.events.utils").EventTemplateParser
        moto_event = dict(envelope, **{"ingestion-time": time.time()})
        return json.dumps(parser.parse(input_template=transformer.get("InputTemplate"),
                                                    input_paths_map=transformer.get("InputPathsMap", {}),
                                                    event=moto_event))
    return whole if whole is not None else json.dumps(envelope, separators=(",", ":"))


def put_on_default_bus(envelope: Dict[str, Any], account: str, region: str,
                       on_target_error: Any = None, whole: Optional[str] = None) -> List[str]:
    """Put ``envelope`` on moto's default bus of ``account`` in ``region``; returns the ARNs of the
    targets it was sent to.  A target that fails is passed to ``on_target_error(arn, reason)``.
    ``whole``: the event's JSON text, which a target without an input transformation receives."""
    sent: List[str] = []
    for rule in _rules(account, region):
        if getattr(rule, "state", "ENABLED") != "ENABLED":
            continue
        pattern = rule.event_pattern
        if not pattern.get_pattern():  # a schedule-only rule matches no event
            continue
        if not pattern.matches_event(envelope):
            continue
        for target in list(rule.targets):
            arn = str(target.get("Arn", ""))
            try:
                _send_to_target(rule, target, arn, envelope, whole)
            except Exception as exc:
                if on_target_error is not None:
                    on_target_error(arn, exc.args[0] if isinstance(exc, Unreachable) else
                                    f"{type(exc).__name__}: {exc}")
                continue
            sent.append(arn)
    return sent


def _send_to_target(rule: Any, target: Dict[str, Any], arn: str, envelope: Dict[str, Any],
                    whole: Optional[str]) -> None:
    service, region, account, resource = parse_arn(arn)
    if service == "sqs":
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if resource.endswith(".fifo") and not group:
            raise Unreachable(f"FIFO queue {resource} needs SqsParameters.MessageGroupId on the target")
        payload = _target_input(target, envelope, whole)
        backend = _backend("sqs", account, region)
        try:
            backend.send_message(queue_name=resource, message_body=payload,
                                 **({"group_id": group, "deduplication_id": envelope["id"]} if group else {}))
        except Exception as exc:
            raise Unreachable(_reason(exc, f"queue {resource}")) from None
    elif service == "sns":
        publish_sns(arn, _target_input(target, envelope, whole), group=envelope["detail"].get("meetingId", "chime"),
                    dedup=envelope["id"])
    elif service == "lambda":
        raise Unreachable("Lambda targets are not invoked by chime_mock")
    else:  # log groups, archives, other buses, API destinations: moto's own delivery
        only = copy.copy(rule)
        only.targets = [target]
        moto_event = dict(envelope, time=_epoch(str(envelope.get("time", ""))), **{"ingestion-time": time.time()})
        only.send_to_targets(moto_event)


__all__ = ["moto_active", "put_on_default_bus", "send_sqs", "publish_sns", "Unreachable", "parse_arn"]
