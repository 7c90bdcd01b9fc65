"""Tags of meetings: TagResource, UntagResource, ListTagsForResource (D10, section 4.7 of docs/behaviour.md)."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from chime_mock.backend.base import BackendBase
from chime_mock.backend.state import MAX_TAGS, MEETING_ARN, CallContext, Meeting, validation_error
from chime_mock.ground import regions
from chime_mock.ground.errors import BadRequest, ResourceNotFound, TooManyTags


class TagRules(BackendBase):
    """Tags of meetings: TagResource, UntagResource, ListTagsForResource (D10, section 4.7 of docs/behaviour.md)."""

    @staticmethod
    def _check_tags(tags: List[Dict[str, str]], field_name: str) -> Dict[str, str]:
        """The request's ``tags`` as a dict, once checked: no key begins with
        ``aws:`` (case insensitive), none is given twice (the first such, in order)."""
        new = {tag["Key"]: tag["Value"] for tag in tags}
        # No key repeated and none lowered beginning "aws:": the keys, one a line,
        # lowered (only "a", "w", "s" and ":" lower to those), hold no line so.
        if len(new) == len(tags) and "\naws:" not in ("\n" + "\n".join(new)).lower():
            return new
        seen = set()
        for index, tag in enumerate(tags, 1):
            key = tag["Key"]
            if key[:4].lower() == "aws:":
                raise validation_error(f"{field_name}.{index}.member.key",
                                  "Member must not begin with the reserved prefix 'aws:'", key)
            if key in seen:
                raise BadRequest(f"Duplicate tag key '{key}': each tag key may appear only once in a request")
            seen.add(key)
        return new      # a key with "\naws:" inside, not at its beginning

    def _tagged_meeting(self, ctx: CallContext, arn: str) -> Meeting:
        parts = _MEETING_ARNS.get(arn)
        if parts is None:
            match = MEETING_ARN.fullmatch(arn)
            if match is None:
                raise validation_error("resourceARN", "Member must be the ARN of an Amazon Chime SDK meeting "
                                  "(arn:aws:chime:<region>:<account-id>:meeting/<MeetingId>)", arn)
            partition, region, account, meeting_id = match.groups()
            parts = ((account, region), meeting_id.lower(), partition == regions.partition(region))
            if len(_MEETING_ARNS) >= _MEETING_ARNS_KEPT:
                _MEETING_ARNS.clear()
            _MEETING_ARNS[arn] = parts
        key, meeting_id, partition_ok = parts
        state = self.states.get(key)
        meeting = state.meetings.get(meeting_id) if state else None
        if meeting is None or key != ctx or not partition_ok:
            raise ResourceNotFound(f"Resource {arn} not found", ResourceName=arn)
        return meeting

    def op_tag_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            merged = {**meeting.tags, **self._check_tags(p["Tags"], "tags")}
            if len(merged) > MAX_TAGS:
                raise TooManyTags(f"Resource {p['ResourceARN']} would have {len(merged)} tags; "
                                  f"a resource can have at most {MAX_TAGS}", ResourceName=p["ResourceARN"])
            object.__setattr__(meeting, "tags", merged)    # no wire field: past Meeting.__setattr__
            return {}

    def op_untag_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            for key in p["TagKeys"]:
                meeting.tags.pop(key, None)
            return {}

    def op_list_tags_for_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            return {"Tags": [{"Key": k, "Value": v} for k, v in meeting.tags.items()]}


#: ResourceARN -> ((account, region), lowercase MeetingId, its partition right) of
#: the meeting ARNs named lately (parsed once; bounded).
_MEETING_ARNS: Dict[str, Tuple[Tuple[str, str], str, bool]] = {}
_MEETING_ARNS_KEPT = 4096

__all__ = ["TagRules"]
