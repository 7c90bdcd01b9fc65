"""Meetings: create (with attendees, replicas, D1/D14), get, delete, end, transcription (D12)."""
from __future__ import annotations

import sys
from typing import Any, Dict, Optional

from chime_mock.backend.base import BackendBase
from chime_mock.backend.state import (CallContext, HIGH_RES_MAX_ATTENDEES, Meeting, RegionState,
                                      external_id_problem, json_copy, transcription_detail, validation_error)
from chime_mock.ground import regions
from chime_mock.ground.errors import BadRequest, LimitExceeded, NotFound


class MeetingRules(BackendBase):
    """Meetings: create (with attendees, replicas, D1/D14), get, delete, end, transcription (D12)."""

    def _check_meeting_request(self, ctx: CallContext, state: RegionState, p: Dict[str, Any]) -> Optional[Meeting]:
        """All CreateMeeting rules; returns the primary meeting for a replica."""
        media_region = p["MediaRegion"]
        if not regions.is_media_region(media_region, ctx.region):
            raise validation_error("mediaRegion", "Member must be one of the available media regions: "
                              + ", ".join(sorted(regions.MEDIA_REGIONS)), media_region)
        if media_region != ctx.region and regions.partition(media_region) != regions.partition(ctx.region):
            raise BadRequest(f"MediaRegion {media_region} is not available from the {ctx.region} "
                             f"control region: meetings stay within one partition")
        for name, field_name in (("ExternalMeetingId", "externalMeetingId"), ("MeetingHostId", "meetingHostId")):
            value = p.get(name)
            if value is not None:
                problem = external_id_problem(value)
                if problem:
                    raise validation_error(field_name, problem)
        features: Dict[str, Any] = p.get("MeetingFeatures") or {}
        high_res = [
            text for text, on in (
                ("Video.MaxResolution FHD", (features.get("Video") or {}).get("MaxResolution") == "FHD"),
                ("Content.MaxResolution UHD", (features.get("Content") or {}).get("MaxResolution") == "UHD"),
            ) if on
        ] if features else None
        if high_res:
            max_count = (features.get("Attendee") or {}).get("MaxCount")
            if max_count is None:
                raise BadRequest(f"MeetingFeatures.{' and '.join(high_res)} requires "
                                 f"MeetingFeatures.Attendee.MaxCount (at most {HIGH_RES_MAX_ATTENDEES})")
            if max_count > HIGH_RES_MAX_ATTENDEES:
                raise BadRequest(f"MeetingFeatures.Attendee.MaxCount {max_count} is too high: with "
                                 f"{' and '.join(high_res)} a meeting allows at most {HIGH_RES_MAX_ATTENDEES} attendees")
        tags = p.get("Tags")
        if tags:
            self._check_tags(tags, "tags")
        primary = None
        primary_id = p.get("PrimaryMeetingId")
        if primary_id is not None:
            primary = state.meetings.get(primary_id.lower())
            if primary is None:
                raise NotFound(f"Primary meeting <{primary_id}> not found")
            if primary.primary_meeting_id is not None:
                raise BadRequest(f"Meeting <{primary_id}> is a replica meeting; PrimaryMeetingId must name a primary meeting")
            cap = self.quotas.replicas_per_primary
            if cap is not None and len(primary.replicas) >= cap:
                raise LimitExceeded(f"Meeting <{primary_id}> already has {len(primary.replicas)} replica meetings, "
                                    f"the quota of this account (raise it in the mock's quotas)")
        cap = self.quotas.active_meetings
        if cap is not None and len(state.meetings) >= cap:
            raise LimitExceeded(f"The account has reached its quota of {cap} active meetings in {ctx.region}")
        return primary

    def _new_meeting(self, ctx: CallContext, state: RegionState, p: Dict[str, Any], primary: Optional[Meeting]) -> Meeting:
        # Interned: a request naming the meeting (its path label is interned
        # too) then shares this string, and so does its journal entry.
        meeting_id = self.ids.uuid4()
        if any(meeting_id in s.meetings for s in self.states.values()):   # a generator repeating itself
            meeting_id = self.ids.unused(self.ids.uuid4, lambda i: any(i in s.meetings for s in self.states.values()))
        meeting_id = sys.intern(meeting_id)
        now = self.clock()
        features, notifications, tags = p.get("MeetingFeatures"), p.get("NotificationsConfiguration"), p.get("Tags")
        meeting = Meeting(
            meeting_id=meeting_id,
            account=ctx.account,
            region=ctx.region,
            external_meeting_id=p["ExternalMeetingId"],
            media_region=p["MediaRegion"],
            media_placement=regions.media_placement(
                meeting_id, p["MediaRegion"], ctx.region, self.ids.hex(32),
                self.ids.choice(("m1", "m2", "m3"))),
            client_request_token=p["ClientRequestToken"],
            created_at=now,
            last_occupied_at=now,
            meeting_host_id=p.get("MeetingHostId"),
            meeting_features=json_copy(features) if features is not None else None,
            primary_meeting_id=primary.meeting_id if primary else None,
            tenant_ids=list(p.get("TenantIds") or ()),
            notifications_configuration=json_copy(notifications) if notifications is not None else None,
            media_placement_network_type=p.get("MediaPlacementNetworkType"),
            tags={t["Key"]: t["Value"] for t in tags} if tags else {},
        )
        state.meetings[meeting_id] = meeting
        state.tokens[meeting.client_request_token] = meeting_id
        if primary is not None:
            primary.replicas.append(meeting_id)
        if self.emit is not None:
            self.emit("MeetingStarted", meeting, None, None)
        return meeting

    def _existing_for_token(self, state: RegionState, token: str) -> Optional[Meeting]:
        meeting_id = state.tokens.get(token)
        return state.meetings.get(meeting_id) if meeting_id else None

    def op_create_meeting(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            state = self.state(ctx.account, ctx.region)
            existing = self._existing_for_token(state, p["ClientRequestToken"])
            if existing is not None:       # D1: same token, live meeting -> same meeting
                return {"Meeting": existing.wire}
            primary = self._check_meeting_request(ctx, state, p)
            meeting = self._new_meeting(ctx, state, p, primary)
            return {"Meeting": meeting.wire}

    def op_create_meeting_with_attendees(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            state = self.state(ctx.account, ctx.region)
            existing = self._existing_for_token(state, p["ClientRequestToken"])
            if existing is not None:
                # D1: a replay returns the existing meeting, whatever its other
                # parameters, and answers for every attendee it lists exactly as
                # BatchCreateAttendee would (D2/D3): known ExternalUserIds come
                # back as they are, new ones are added while seats remain, the
                # rest go to Errors.  Whole-request rules (1-20 items, types,
                # lengths) were checked before the backend, so nothing half-applies.
                attendees, errors = self._create_attendees(existing, p["Attendees"])
                return {"Meeting": existing.wire, "Attendees": attendees, "Errors": errors}
            primary = self._check_meeting_request(ctx, state, p)
            meeting = self._new_meeting(ctx, state, p, primary)
            attendees, errors = self._create_attendees(meeting, p["Attendees"])
            return {"Meeting": meeting.wire, "Attendees": attendees, "Errors": errors}

    def op_get_meeting(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            return self._meeting(ctx, p["MeetingId"]).wire_answer

    def op_delete_meeting(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            self._end(self.states[ctx], meeting)

    def remove_meeting(self, meeting: Meeting) -> None:
        """End ``meeting``: attendees, tags, transcription, token and replicas go with it."""
        with self.lock:
            state = self.states.get((meeting.account, meeting.region))
            if state is None or state.meetings.get(meeting.meeting_id) is not meeting:
                return
            self._end(state, meeting)

    def _end(self, state: RegionState, meeting: Meeting) -> None:
        """``remove_meeting`` of a live ``meeting`` of ``state``, under the lock."""
        meetings = state.meetings
        del meetings[meeting.meeting_id]
        if self.emit is not None:   # D16: the meeting, then each replica; no Left for those connected
            self.emit("MeetingEnded", meeting, None, None)
        tokens = state.tokens
        if tokens.get(meeting.client_request_token) == meeting.meeting_id:
            del tokens[meeting.client_request_token]
        if meeting.primary_meeting_id is not None:
            primary = meetings.get(meeting.primary_meeting_id)
            if primary is not None and meeting.meeting_id in primary.replicas:
                primary.replicas.remove(meeting.meeting_id)
        if meeting.replicas:
            for replica_id in list(meeting.replicas):
                replica = meetings.get(replica_id)
                if replica is not None:
                    self._end(state, replica)

    def op_start_meeting_transcription(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            config = p["TranscriptionConfiguration"]
            standard = config.get("EngineTranscribeSettings")
            if (standard is None) == (config.get("EngineTranscribeMedicalSettings") is None):
                raise BadRequest("TranscriptionConfiguration must contain exactly one of EngineTranscribeSettings "
                                 f"or EngineTranscribeMedicalSettings (got {0 if standard is None else 2})")
            # No wire field: stored past Meeting.__setattr__.
            object.__setattr__(meeting, "transcription", json_copy(config))
            if self.emit is not None:
                self.emit("TranscriptionStarted", meeting, None, transcription_detail(meeting, config))

    def op_stop_meeting_transcription(self, ctx: CallContext, p: Dict[str, Any]) -> None:
        with self.lock:
            meeting = self._meeting(ctx, p["MeetingId"])
            running = meeting.transcription
            object.__setattr__(meeting, "transcription", None)    # no wire field: past Meeting.__setattr__
            if running is not None and self.emit is not None:   # nothing running: nothing stopped
                self.emit("TranscriptionStopped", meeting, None, transcription_detail(meeting, running))
