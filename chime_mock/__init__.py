"""chime_mock: an in-memory AWS Chime SDK Meetings service for boto3 tests.

    from chime_mock import mock_chime_meetings

    @mock_chime_meetings
    def test_join():
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1")
        ...

Importing the package installs its botocore handlers (inert until a mock is
active); see README.md for every entry point.
"""
from . import _hooks  # noqa: F401  (installs the botocore handlers)
from .backend import Attendee, Meeting, Quotas
from .controls import Call, Fault, Journal
from .core import ChimeMeetingsMock, current, mock_chime_meetings
from .errors import ChimeMockError, ChimeMockInternalError, ServiceError, UnsupportedOperationError

__version__ = "0.1.0"

__all__ = [
    "mock_chime_meetings", "ChimeMeetingsMock", "current", "Meeting", "Attendee", "Quotas",
    "Call", "Fault", "Journal", "ServiceError", "ChimeMockError", "ChimeMockInternalError",
    "UnsupportedOperationError",
]
