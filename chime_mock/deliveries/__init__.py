"""Outbound deliveries of meeting events: where AWS delivers them.

In-process, into moto while its ``mock_aws`` is active; in server mode, to
the EventBridge / SQS / SNS endpoints of another emulator.  See
``docs/deliveries.md``.
"""
from chime_mock.deliveries.dispatch import LAMBDA_REASON, Deliveries, attach, attached, bus_arn
from chime_mock.deliveries.moto_bus import moto_active
from chime_mock.deliveries.remote import Endpoints

__all__ = ["Deliveries", "Endpoints", "attach", "attached", "bus_arn", "moto_active", "LAMBDA_REASON"]
