"""Tags of meetings: TagResource, UntagResource, ListTagsForResource (D10, section 4.7 of docs/behaviour.md)."""
from __future__ import annotations

from typing import Any, Dict, List

from chime_mock.backend.base import BackendBase
from chime_mock.backend.state import MAX_TAGS, MEETING_ARN, CallContext, Meeting, validation_error
from chime_mock.ground import regions
from chime_mock.ground.errors import BadRequest, ResourceNotFound, TooManyTags


class TagRules(BackendBase):
    """Tags of meetings: TagResource, UntagResource, ListTagsForResource (D10, section 4.7 of docs/behaviour.md)."""

    @staticmethod
    def _check_tags(tags: List[Dict[str, str]], field_name: str) -> None:
        seen = set()
        for index, tag in enumerate(tags, 1):
            key = tag["Key"]
            if key[:4].lower() == "aws:":
                raise validation_error(f"{field_name}.{index}.member.key",
                                  "Member must not begin with the reserved prefix 'aws:'", key)
            if key in seen:
                raise BadRequest(f"Duplicate tag key '{key}': each tag key may appear only once in a request")
            seen.add(key)

    def _tagged_meeting(self, ctx: CallContext, arn: str) -> Meeting:
        match = MEETING_ARN.fullmatch(arn)
        if match is None:
            raise validation_error("resourceARN", "Member must be the ARN of an Amazon Chime SDK meeting "
                              "(arn:aws:chime:<region>:<account-id>:meeting/<MeetingId>)", arn)
        partition, region, account, meeting_id = match.groups()
        state = self.states.get((account, region))
        meeting = state.meetings.get(meeting_id.lower()) if state else None
        if (meeting is None or (account, region) != (ctx.account, ctx.region)
                or partition != regions.partition(region)):
            raise ResourceNotFound(f"Resource {arn} not found", ResourceName=arn)
        return meeting

    def op_tag_resource(self, ctx: CallContext, p: Dict[str, Any]) -> Dict[str, Any]:
        with self.lock:
            meeting = self._tagged_meeting(ctx, p["ResourceARN"])
            self._check_tags(p["Tags"], "tags")
            merged = dict(meeting.tags)
            merged.update((t["Key"], t["Value"]) for t in p["Tags"])
            if len(merged) > MAX_TAGS:
                raise TooManyTags(f"Resource {p['ResourceARN']} would have {len(merged)} tags; "
                                  f"a resource can have at most {MAX_TAGS}", ResourceName=p["ResourceARN"])
            meeting.tags = merged
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


__all__ = ["TagRules"]
