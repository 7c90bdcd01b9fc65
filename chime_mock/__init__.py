"""chime_mock: an in-memory AWS Chime SDK Meetings service for tests.

    from chime_mock import mock_chime_meetings

    @mock_chime_meetings
    def test_join():
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
        ...

Importing the package is cheap: botocore is loaded, and the handlers
installed, when a name below is first used and at the first activation.
See README.md for every entry point.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from chime_mock.ground.version import __version__

# Public name -> the module that defines it (imported on first use).
_EXPORTS: Dict[str, str] = {
    "mock_chime_meetings": "activation.handle", "ChimeMeetingsMock": "activation.handle",
    "current": "activation.handle", "active_mock": "activation.handle",
    "ChimeService": "service.pipeline",
    "Meeting": "backend.rules", "Attendee": "backend.rules", "Quotas": "backend.rules",
    "Call": "controls.journal", "Fault": "controls.journal", "Journal": "controls.journal",
    "ServiceError": "ground.errors", "ChimeMockError": "ground.errors", "ChimeMockInternalError": "ground.errors",
    "UnsupportedOperationError": "ground.errors", "UnsupportedAiobotocore": "doors.botocore.aio",
    "MediaNotFound": "ground.errors", "MediaConflict": "ground.errors", "EventTimeout": "ground.errors",
    "MeetingEvent": "events.log", "EventLog": "events.log", "DeliveryRecord": "events.log",
    "ChimeMockClient": "doors.server.client", "ServerProcess": "doors.server.client", "client_env": "doors.server.client",
    "ThreadedChimeServer": "doors.server.threaded",
}

if TYPE_CHECKING:  # pragma: no cover
    # Explicit re-exports ("X as X") for type checkers; at run time __getattr__ loads them.
    from .backend.rules import Attendee as Attendee, Meeting as Meeting, Quotas as Quotas
    from .controls.journal import Call as Call, Fault as Fault, Journal as Journal
    from .activation.handle import (ChimeMeetingsMock as ChimeMeetingsMock, active_mock as active_mock, current as current,
                       mock_chime_meetings as mock_chime_meetings)
    from .ground.errors import (ChimeMockError as ChimeMockError, ChimeMockInternalError as ChimeMockInternalError,
                         ServiceError as ServiceError, UnsupportedOperationError as UnsupportedOperationError,
                         MediaNotFound as MediaNotFound, MediaConflict as MediaConflict,
                         EventTimeout as EventTimeout)
    from .events.log import DeliveryRecord as DeliveryRecord, EventLog as EventLog, MeetingEvent as MeetingEvent
    from .doors.botocore.aio import UnsupportedAiobotocore as UnsupportedAiobotocore
    from .service.pipeline import ChimeService as ChimeService
    from .doors.server.client import (ChimeMockClient as ChimeMockClient, ServerProcess as ServerProcess,
                                      client_env as client_env)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chime_mock' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
