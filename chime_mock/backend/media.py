"""What the clients do (D17): join, leave, drop, video, content share; the events each emits."""
from __future__ import annotations

import base64
from typing import Any, Tuple

from chime_mock.backend.base import BackendBase
from chime_mock.backend.state import SENDING, Attendee, Meeting
from chime_mock.ground.errors import MediaConflict, MediaNotFound


class MediaRules(BackendBase):
    """What the clients do (D17): join, leave, drop, video, content share; the events each emits."""

    def media_target(self, meeting_id: Any, attendee_id: Any = None, join_token: Any = None
                     ) -> Tuple[Meeting, Attendee]:
        """The live meeting and attendee a client action names (by AttendeeId or
        by the JoinToken a client presents); MediaNotFound otherwise."""
        if not isinstance(meeting_id, str):
            raise TypeError(f"meeting_id must be a MeetingId string, got {meeting_id!r}")
        if (attendee_id is None) == (join_token is None):
            raise TypeError("give the attendee as attendee_id or as join_token (exactly one of them)")
        meeting = self.find_meeting(meeting_id)
        if meeting is None:
            raise MediaNotFound(f"meeting_id {meeting_id!r}: no live meeting has this ID "
                                f"(never created, deleted or ended)")
        if attendee_id is not None:
            if not isinstance(attendee_id, str):
                raise TypeError(f"attendee_id must be an AttendeeId string, got {attendee_id!r}")
            attendee = meeting.attendees.get(attendee_id.lower())
            if attendee is None:
                raise MediaNotFound(f"attendee_id {attendee_id!r}: no such attendee in meeting "
                                    f"{meeting.meeting_id} (never added, or deleted)")
            return meeting, attendee
        if not isinstance(join_token, str):
            raise TypeError(f"join_token must be a JoinToken string, got {join_token!r}")
        try:
            raw = base64.b64decode(join_token + "=" * (-len(join_token) % 4), validate=True).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raw = ""
        found = meeting.attendees.get(raw.split(":", 1)[0].lower())
        if found is None or found.join_token != join_token:
            raise MediaNotFound(f"join_token {join_token[:24]!r}...: not the JoinToken of a live attendee of "
                                f"meeting {meeting.meeting_id} (a deleted attendee's token is revoked)")
        return meeting, found

    def _media_event(self, kind: str, meeting: Meeting, attendee: Attendee) -> None:
        if self.emit is not None:
            self.emit(kind, meeting, attendee, None)

    def join(self, meeting: Meeting, attendee: Attendee) -> None:
        """AttendeeAuthorized (first time only), then AttendeeJoined."""
        if attendee.connected:
            raise MediaConflict(f"attendee {attendee.attendee_id} is already joined to meeting "
                                f"{meeting.meeting_id}; leave() or drop() it first")
        if not attendee.authorized:
            attendee.authorized = True
            self._media_event("AttendeeAuthorized", meeting, attendee)
        attendee.connected = True
        meeting.last_occupied_at = self.clock()
        self._media_event("AttendeeJoined", meeting, attendee)

    def _require_joined(self, meeting: Meeting, attendee: Attendee, action: str) -> None:
        if not attendee.connected:
            raise MediaConflict(f"attendee {attendee.attendee_id} is not joined to meeting {meeting.meeting_id}, "
                                f"so it cannot {action}; join() it first")

    def _disconnect(self, meeting: Meeting, attendee: Attendee, how: str) -> None:
        """``how`` "Left" or "Dropped": the content share goes the same way first."""
        if attendee.content:
            attendee.content = False
            self._media_event("AttendeeContent" + how, meeting, attendee)
        attendee.video = False
        attendee.connected = False
        meeting.last_occupied_at = self.clock()
        self._media_event("Attendee" + how, meeting, attendee)

    def leave(self, meeting: Meeting, attendee: Attendee, dropped: bool = False) -> None:
        self._require_joined(meeting, attendee, "drop" if dropped else "leave")
        self._disconnect(meeting, attendee, "Dropped" if dropped else "Left")

    @staticmethod
    def _require_sending(attendee: Attendee, kind: str, action: str) -> None:
        """D17: video needs a ``Video`` capability that sends, content a ``Content`` one."""
        capability = attendee.capabilities.get(kind)
        if capability not in SENDING:
            raise MediaConflict(f"attendee {attendee.attendee_id} cannot {action}: its {kind} capability is "
                                f"{capability!r} (SendReceive or Send is needed)")

    def video(self, meeting: Meeting, attendee: Attendee, on: bool) -> None:
        if on:
            self._require_joined(meeting, attendee, "start video")
            self._require_sending(attendee, "Video", "send video")
            if attendee.video:
                raise MediaConflict(f"attendee {attendee.attendee_id} is already sending video")
        elif not attendee.video:
            raise MediaConflict(f"attendee {attendee.attendee_id} is not sending video, so it cannot stop it")
        attendee.video = on
        self._media_event("AttendeeVideoStarted" if on else "AttendeeVideoStopped", meeting, attendee)

    def content_share(self, meeting: Meeting, attendee: Attendee, how: str) -> None:
        """``how``: "Joined" (start), "Left" (stop) or "Dropped"."""
        if how == "Joined":
            self._require_joined(meeting, attendee, "share content")
            self._require_sending(attendee, "Content", "share content")
            if attendee.content:
                raise MediaConflict(f"attendee {attendee.attendee_id} is already sharing content")
        elif not attendee.content:
            raise MediaConflict(f"attendee {attendee.attendee_id} is not sharing content, so its share cannot "
                                f"{'stop' if how == 'Left' else 'drop'}")
        attendee.content = how == "Joined"
        self._media_event("AttendeeContent" + how, meeting, attendee)
