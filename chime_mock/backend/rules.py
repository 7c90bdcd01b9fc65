"""The in-memory Chime SDK Meetings service: plain Python objects and rules.

Nothing here knows HTTP or botocore.  Each public operation method takes a
``CallContext`` (account, control region) and the request's parameters as the
model names them, and returns the output members as a dict, or raises a
``ServiceError``.  Every operation checks all its rules before it changes
anything, under one lock, so a rejected request changes nothing and
concurrent callers see each operation whole.

The rules live in rooms, one module each: ``meetings``, ``attendees``,
``media`` (what clients do), ``tags``; ``state`` holds the objects and
``base`` what the rooms share.  ``ChimeBackend`` puts the rooms together.
"""
from __future__ import annotations

from chime_mock.backend.attendees import AttendeeRules
from chime_mock.backend.media import MediaRules
from chime_mock.backend.meetings import MeetingRules
from chime_mock.backend.state import (DEFAULT_PAGE_SIZE, EXTERNAL_ID_PATTERN, HIGH_RES_MAX_ATTENDEES, IDLE_TIMEOUT,
                                      MAX_ATTENDEES, MAX_TAGS, MEETING_MAX_AGE, SEND_RECEIVE, Attendee, CallContext,
                                      EmitFn, Meeting, Quotas, RegionState, external_id_problem,
                                      transcription_detail)
from chime_mock.backend.tags import TagRules
from chime_mock.ground.accounts import DEFAULT_ACCOUNT
from chime_mock.ground.errors import ServiceError


class ChimeBackend(MeetingRules, AttendeeRules, MediaRules, TagRules):
    """All state of the mocked service, keyed by (account, control region),
    and every rule of its operations."""


__all__ = [
    "ChimeBackend", "CallContext", "Meeting", "Attendee", "Quotas", "RegionState", "EmitFn",
    "ServiceError", "DEFAULT_ACCOUNT", "DEFAULT_PAGE_SIZE", "EXTERNAL_ID_PATTERN", "HIGH_RES_MAX_ATTENDEES",
    "IDLE_TIMEOUT", "MAX_ATTENDEES", "MAX_TAGS", "MEETING_MAX_AGE", "SEND_RECEIVE", "external_id_problem",
    "transcription_detail",
]
