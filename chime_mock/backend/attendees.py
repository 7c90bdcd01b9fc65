"""Attendees: create (one, a batch), get, delete, list (paged, D15), capabilities (D10, D13)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import operator
from typing import Any, Dict, List, Optional, Tuple

from chime_mock.backend.base import BackendBase
from chime_mock.backend.state import (EXTERNAL_ID_ASCII, Attendee, AttendeeAnswer, AttendeeList, CallContext, DEFAULT_PAGE_SIZE,
                                      GeneratedAttendeeList, Meeting, NewAttendeeList, RECEIVING, SEND_RECEIVE,
                                      external_id_problem, shared_capabilities, validation_error)
from chime_mock.ground.errors import BadRequest, LimitExceeded


class AttendeeRules(BackendBase):
    """Attendees: create (one, a batch), get, delete, list (paged, D15), capabilities (D10, D13)."""

    @staticmethod
    def default_capabilities(meeting: Meeting) -> Dict[str, str]:
        """What a new attendee of ``meeting`` gets when the request names no
        capabilities (shared and read-only; worked out once per meeting)."""
        caps = meeting._default_caps
        if caps is None:
            _, video_off, content_off = meeting._limits or meeting.limits()
            caps = shared_capabilities({
                "Audio": SEND_RECEIVE,
                "Video": "None" if video_off and content_off else "Receive" if video_off else SEND_RECEIVE,
                "Content": "None" if content_off else SEND_RECEIVE,
            })
            object.__setattr__(meeting, "_default_caps", caps)
        return caps

    @staticmethod
    def capability_problem(meeting: Meeting, caps: Dict[str, str]) -> Optional[str]:
        """Why ``caps`` is not allowed in ``meeting``, or None."""
        video, content = caps["Video"], caps["Content"]
        if content in RECEIVING and video not in RECEIVING:
            return (f"Invalid capabilities: Content capability '{content}' requires the Video "
                    f"capability to be SendReceive or Receive, not '{video}'")
        _, video_off, content_off = meeting._limits or meeting.limits()
        for kind, off, value in (("Video", video_off, video), ("Content", content_off, content)):
            if off and value != "None":
                return (f"Invalid capabilities: the meeting's MeetingFeatures.{kind}.MaxResolution is None, "
                        f"so the {kind} capability must be None, not '{value}'")
        return None

    def _capabilities_for(self, meeting: Meeting, requested: Optional[Dict[str, str]]) -> Dict[str, str]:
        if requested is None:
            return meeting._default_caps or self.default_capabilities(meeting)
        caps = {"Audio": requested["Audio"], "Video": requested["Video"], "Content": requested["Content"]}
        problem = self.capability_problem(meeting, caps)
        if problem:
            raise BadRequest(problem)
        return shared_capabilities(caps)

    def _new_attendee(self, meeting: Meeting, external_user_id: str, caps: Dict[str, str]) -> Attendee:
        attendee_id, join_token = self.ids.attendee_credentials()
        if attendee_id in meeting.attendees:   # a generator repeating itself: draw until unused
            attendee_id = self.ids.unused(self.ids.attendee_id, lambda i: i in meeting.attendees)
            join_token = self.ids.join_token(attendee_id)
        attendee = meeting.new_attendee(attendee_id, external_user_id, join_token, caps)
        if self.emit is not None:
            self.emit("AttendeeAdded", meeting, attendee, None)
        return attendee

    def _create_attendees(self, meeting: Meeting, items: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """D2/D3: per-item outcome; valid items succeed, others go to Errors.

        As if each item were created in turn (``_new_attendee``), in two
        passes: every item's outcome first (known or repeated ExternalUserId,
        its checks, a free seat), then the new attendees together: their IDs
        from one draw (the values one draw each gives) and their
        ``AttendeeAdded`` events in one emission."""
        count = len(items)
        external_ids = list(map(_EXTERNAL_USER_ID_OF, items))
        seats = (meeting._limits or meeting.limits())[0] - len(meeting.attendees)
        # Every item new, once, with nothing but a plain ExternalUserId (no
        # ":", so no "aws:"), and a seat for each: all succeed, in order.
        if (seats >= count and sum(map(len, items)) == count and len(set(external_ids)) == count
                and meeting.by_external_id.keys().isdisjoint(external_ids)):
            joined = "".join(external_ids)
            if ":" not in joined and EXTERNAL_ID_ASCII.issuperset(joined):
                default = meeting._default_caps or self.default_capabilities(meeting)
                return self._generated(self._add_attendees(meeting, external_ids, [default] * count)), []
        attendees: List[Dict[str, Any]] = NewAttendeeList()
        errors: List[Dict[str, Any]] = []
        def fail(external_id: str, code: str, message: str) -> None:
            errors.append({"ExternalUserId": external_id, "ErrorCode": code, "ErrorMessage": message})

        known = meeting.by_external_id
        free = meeting.max_attendees - len(meeting.attendees)
        default = self.default_capabilities(meeting)
        # Per answered item: the known Attendee, or the index of a new one.
        answers: List[Any] = []
        new_ids: List[str] = []           # the new attendees' ExternalUserIds and capabilities
        new_caps: List[Dict[str, str]] = []
        planned: Dict[str, int] = {}      # ExternalUserId -> index of the new attendee
        for item in items:
            external_id = item["ExternalUserId"]
            existing = known.get(external_id)
            if existing is not None:
                answers.append(existing)
                continue
            index = planned.get(external_id)
            if index is not None:         # repeated in this batch: the attendee made for it
                answers.append(index)
                continue
            problem = external_id_problem(external_id)
            if problem:
                fail(external_id, "BadRequest", f"Invalid ExternalUserId: {problem}")
                continue
            requested = item.get("Capabilities")
            if requested is None:
                caps = default
            else:
                caps = {"Audio": requested["Audio"], "Video": requested["Video"], "Content": requested["Content"]}
                problem = self.capability_problem(meeting, caps)
                if problem:
                    fail(external_id, "BadRequest", problem)
                    continue
                caps = shared_capabilities(caps)
            if free <= 0:
                fail(external_id, "ResourceLimitExceeded", self._seat_message(meeting))
                continue
            free -= 1
            planned[external_id] = index = len(new_ids)
            answers.append(index)
            new_ids.append(external_id)
            new_caps.append(caps)
        made = self._add_attendees(meeting, new_ids, new_caps) if new_ids else []
        if len(answers) == len(made):     # only new attendees, each once: answers are 0, 1, 2...
            return self._generated(made), errors
        for answer in answers:
            attendees.append((made[answer] if type(answer) is int else answer).to_wire())
        return attendees, errors

    @staticmethod
    def _generated(made: List[Attendee]) -> List[Dict[str, Any]]:
        """``Attendee.to_wire`` of each of ``made`` (written out: a call less each)."""
        return GeneratedAttendeeList([
            {"ExternalUserId": a.external_user_id, "AttendeeId": a.attendee_id, "JoinToken": a.join_token,
             "Capabilities": a.capabilities} for a in made])

    def _add_attendees(self, meeting: Meeting, external_ids: List[str], capabilities: List[Dict[str, str]]
                       ) -> List[Attendee]:
        """New attendees of ``meeting`` (their ExternalUserIds and capabilities),
        in order: what ``_new_attendee`` for each makes, with the same IDs."""
        new_ids, tokens = self.ids.attendee_credential_lists(len(external_ids))
        if meeting.attendees.keys().isdisjoint(new_ids) and len(set(new_ids)) == len(new_ids):
            made = meeting.new_attendees(new_ids, external_ids, tokens, capabilities)
        else:   # a generator repeating itself: draw again for an ID in use
            made = []
            in_meeting = meeting.attendees
            for external_id, caps, attendee_id, join_token in zip(external_ids, capabilities, new_ids, tokens):
                if attendee_id in in_meeting:
                    attendee_id = self.ids.unused(self.ids.attendee_id, lambda i: i in in_meeting)
                    join_token = self.ids.join_token(attendee_id)
                made.append(meeting.new_attendee(attendee_id, external_id, join_token, caps))
        if self.emit is not None:
            self.emit("AttendeeAdded", meeting, made, None)
        return made

    @staticmethod
    def _seat_message(meeting: Meeting) -> str:
        return (f"Meeting <{meeting.meeting_id}> already has the maximum of {meeting.max_attendees} attendees; "
                f"delete an attendee to free a seat")

    def op_create_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            external_id = p["ExternalUserId"]
            existing = meeting.by_external_id.get(external_id)
            if existing is not None:       # D2: ExternalUserId is an idempotency token
                return {"Attendee": existing.to_wire()}
            problem = external_id_problem(external_id)
            if problem:
                raise validation_error("externalUserId", problem)
            requested = p.get("Capabilities")
            caps = ((meeting._default_caps or self.default_capabilities(meeting)) if requested is None
                    else self._capabilities_for(meeting, requested))
            if len(meeting.attendees) >= (meeting._limits or meeting.limits())[0]:
                raise LimitExceeded(self._seat_message(meeting))
            attendee = self._new_attendee(meeting, external_id, caps)
            # Attendee.to_wire, written out
            return {"Attendee": {"ExternalUserId": external_id, "AttendeeId": attendee.attendee_id,
                                 "JoinToken": attendee.join_token, "Capabilities": caps}}

    def op_batch_create_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            attendees, errors = self._create_attendees(meeting, p["Attendees"])
            return {"Attendees": attendees, "Errors": errors}

    def op_get_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            attendee = self._attendee(self._meeting(ctx, p["MeetingId"]), p["AttendeeId"])
            # AttendeeAnswer(attendee.to_wire()), written out
            return {"Attendee": AttendeeAnswer(ExternalUserId=attendee.external_user_id, AttendeeId=attendee.attendee_id,
                                               JoinToken=attendee.join_token, Capabilities=attendee.capabilities)}

    def op_delete_attendee(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            attendee = self._attendee(meeting, p["AttendeeId"])
            if attendee.connected:     # D16: Left first when connected
                self._disconnect(meeting, attendee, "Left")
            meeting.remove_attendee(attendee)
            if self.emit is not None:
                self.emit("AttendeeDeleted", meeting, attendee, None)

    def _page_token(self, meeting: Meeting, last_seq: int) -> str:
        payload = f"{meeting.meeting_id}:{last_seq}".encode()
        sig = hmac.new(self.token_secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + b":" + sig).decode().rstrip("=")

    def _read_page_token(self, meeting: Meeting, token: str) -> int:
        invalid = BadRequest(f"Invalid NextToken: '{token[:64]}' was not returned by ListAttendees for meeting <{meeting.meeting_id}>")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            meeting_id, seq, _ = raw.split(b":", 2)
            last_seq = int(seq)
        except (ValueError, UnicodeDecodeError):
            raise invalid from None
        # Canonical form only: the exact string this meeting handed out (so a
        # changed padding bit or a token of another meeting is refused too).
        if meeting_id != meeting.meeting_id.encode() or not hmac.compare_digest(
                token.encode("utf-8", "replace"), self._page_token(meeting, last_seq).encode()):
            raise invalid
        return last_seq

    def op_list_attendees(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            token = p.get("NextToken")
            last_seq = self._read_page_token(meeting, token) if token else 0
            size = p.get("MaxResults") or DEFAULT_PAGE_SIZE
            page, next_seq = meeting.page_after(last_seq, size)
            out: Dict[str, Any] = {"Attendees": AttendeeList([a.to_wire() for a in page])}
            if next_seq is not None:
                out["NextToken"] = self._page_token(meeting, next_seq)
            return out

    def op_update_attendee_capabilities(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            attendee = self._attendee(meeting, p["AttendeeId"])
            self._set_capabilities(meeting, attendee, self._capabilities_for(meeting, p["Capabilities"]))
            return {"Attendee": attendee.to_wire()}

    def _set_capabilities(self, meeting: Meeting, attendee: Attendee, caps: Dict[str, str]) -> None:
        if attendee.capabilities == caps:
            return      # unchanged: no event (D16 counts attendees changed)
        attendee.capabilities = shared_capabilities(caps)
        if self.emit is not None:
            self.emit("AttendeeCapabilitiesUpdated", meeting, attendee, {
                "success": "1",
                "attendeeCapabilities": {"audio": caps["Audio"], "video": caps["Video"], "content": caps["Content"]},
            })

    def op_batch_update_attendee_capabilities_except(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:   # D13: rules first, then every attendee not excluded
            meeting = self._meeting(ctx, p["MeetingId"])
            caps = self._capabilities_for(meeting, p["Capabilities"])
            excluded = {item["AttendeeId"].lower() for item in p["ExcludedAttendeeIds"]}
            attendees = meeting.attendees
            # Nothing changes when every attendee has these capabilities already.
            if list(map(_CAPABILITIES_OF, attendees.values())).count(caps) == len(attendees):
                return
            for attendee in list(attendees.values()):
                if attendee.attendee_id not in excluded and attendee.capabilities != caps:
                    self._set_capabilities(meeting, attendee, caps)


_EXTERNAL_USER_ID_OF = operator.itemgetter("ExternalUserId")
_CAPABILITIES_OF = operator.attrgetter("capabilities")
