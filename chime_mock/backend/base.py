"""What every room of the backend shares: the state per (account, control
region), the lock, the ID generator, the clock, the event hook, and lookups.

Behaviour follows docs/behaviour.md; a decision number in a comment (D1...)
is the section of that name there (``docs/behaviour.md#d1``...).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from botocore import xform_name

from chime_mock.backend.state import EmitFn, CallContext, Quotas, Attendee, Meeting, RegionState
from chime_mock.ground.errors import NotFound
from chime_mock.ground.ids import IdGenerator


class BackendBase:
    """All state of the mocked service, keyed by (account, control region)."""

    def __init__(self, ids: Optional[IdGenerator] = None, quotas: Optional[Quotas] = None,
                 clock: Optional[Callable[[], float]] = None, lock: Any = None,
                 emit: Optional[EmitFn] = None) -> None:
        self.ids = ids or IdGenerator()
        #: Receives each meeting event (D16/D17) under the lock; None emits nothing.
        self.emit = emit
        self.quotas = quotas or Quotas()
        # Read ``time.time`` at call time so freezegun & co. are honoured.
        self.clock: Callable[[], float] = clock or (lambda: time.time())
        self.lock = lock if lock is not None else threading.RLock()
        self.states: Dict[Tuple[str, str], RegionState] = {}
        #: Signs ListAttendees NextTokens (D15); kept by snapshots so tokens stay valid.
        self.token_secret = self.ids.bits(128).to_bytes(16, "big")
        self._handlers: Dict[str, Callable[[CallContext, Dict[str, Any]], Optional[Dict[str, Any]]]] = {}

    def handler(self, operation: str) -> Optional[Callable[[CallContext, Dict[str, Any]], Optional[Dict[str, Any]]]]:
        """The method answering ``operation`` (``GetMeeting`` -> ``get_meeting``)."""
        found = self._handlers.get(operation)
        if found is None:
            name = xform_name(operation)
            found = getattr(self, "op_" + name, None)
            if found is not None:
                self._handlers[operation] = found
        return found

    def state(self, account: str, region: str) -> RegionState:
        key = (account, region)
        state = self.states.get(key)
        if state is None:
            state = self.states.setdefault(key, RegionState(account, region))
        return state

    def reset(self) -> None:
        with self.lock:
            self.states.clear()

    def _meeting(self, ctx: CallContext, meeting_id: str) -> Meeting:
        state = self.states.get(ctx)     # ctx is the (account, region) key
        if state is not None:
            # MeetingIds are kept lowercase; most requests name them so (no new string).
            meeting = state.meetings.get(meeting_id) or state.meetings.get(meeting_id.lower())
            if meeting is not None:
                return meeting
        raise NotFound(f"Meeting <{meeting_id}> not found")

    def _attendee(self, meeting: Meeting, attendee_id: str) -> Attendee:
        # AttendeeIds are kept lowercase, as ``_meeting`` finds MeetingIds.
        attendee = meeting.attendees.get(attendee_id) or meeting.attendees.get(attendee_id.lower())
        if attendee is None:
            raise NotFound(f"Attendee <{attendee_id}> not found")
        return attendee

    def iter_meetings(self) -> Iterable[Meeting]:
        for state in list(self.states.values()):
            yield from list(state.meetings.values())

    def find_meeting(self, meeting_id: str) -> Optional[Meeting]:
        for state in self.states.values():
            meeting = state.meetings.get(meeting_id.lower())
            if meeting is not None:
                return meeting
        return None

    # -- what one room asks of another (each defined in its room) ---------------
    @staticmethod
    def _check_tags(tags: List[Dict[str, str]], field_name: str) -> Dict[str, str]:
        raise NotImplementedError   # tags.TagRules

    def _create_attendees(self, meeting: "Meeting", items: List[Dict[str, Any]]
                          ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        raise NotImplementedError   # attendees.AttendeeRules

    def _disconnect(self, meeting: "Meeting", attendee: "Attendee", how: str) -> None:
        raise NotImplementedError   # media.MediaRules
