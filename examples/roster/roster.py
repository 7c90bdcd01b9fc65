"""A small roster backend: who is in each meeting right now.

ListAttendees lists everyone ever added to a meeting (those who left
included), so a backend that wants "who is here now" listens to the service's
meeting events.  This one does it the common way: an EventBridge rule on
``aws.chime`` for the attendee join/leave/drop events and meeting ends feeds
an SQS queue, and ``Roster.poll()`` drains the queue into an in-memory roster.

In tests, moto provides EventBridge and SQS and chime_mock provides Chime,
whose events reach moto's bus as AWS's reach the real one (see test_roster.py).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

RULE = "chime-roster"
EVENT_TYPES = ["chime:AttendeeJoined", "chime:AttendeeLeft", "chime:AttendeeDropped", "chime:MeetingEnded"]


class Roster:
    """The attendees present in each meeting, built from meeting events."""

    def __init__(self, events: Any, sqs: Any, queue_name: str = "chime-roster") -> None:
        self.sqs = sqs
        self.queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                             AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=RULE, EventPattern=json.dumps({
            "source": ["aws.chime"], "detail-type": ["Chime Meeting State Change"],
            "detail": {"eventType": EVENT_TYPES}}))
        events.put_targets(Rule=RULE, Targets=[{"Id": "roster-queue", "Arn": queue_arn}])
        self.present: Dict[str, Dict[str, str]] = {}   # meeting id -> attendee id -> external user id

    def poll(self) -> int:
        """Apply every queued event; returns how many were applied."""
        applied = 0
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return applied
            for message in messages:
                self.apply(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                applied += 1

    def apply(self, event: Dict[str, Any]) -> None:
        detail = event["detail"]
        meeting = detail["meetingId"]
        kind = detail["eventType"]
        if kind == "chime:MeetingEnded":
            self.present.pop(meeting, None)
        elif kind == "chime:AttendeeJoined":
            self.present.setdefault(meeting, {})[detail["attendeeId"]] = detail["externalUserId"]
        else:  # Left or Dropped
            self.present.get(meeting, {}).pop(detail["attendeeId"], None)

    def who(self, meeting_id: str) -> List[str]:
        """The external user ids present in the meeting, sorted."""
        return sorted(self.present.get(meeting_id, {}).values())
