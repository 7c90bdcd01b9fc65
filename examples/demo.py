"""chime_mock in one minute: a meeting backend's real boto3 code, no AWS.

Run:  python examples/demo.py
"""
import boto3
from botocore.config import Config

from chime_mock import mock_chime_meetings


def join(client, meeting_name: str, user: str) -> dict:
    """What a typical backend does: find-or-create the meeting, add the user."""
    meeting = client.create_meeting(
        ClientRequestToken=f"token-{meeting_name}", MediaRegion="eu-west-2", ExternalMeetingId=meeting_name
    )["Meeting"]
    attendee = client.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=user)["Attendee"]
    return {"Meeting": meeting, "Attendee": attendee}


def main() -> None:
    with mock_chime_meetings() as chime:
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1",
                              config=Config(retries={"max_attempts": 0}))

        info = join(client, "standup", "alice")
        meeting_id = info["Meeting"]["MeetingId"]
        print(f"meeting  {meeting_id}  ({info['Meeting']['MeetingArn']})")
        print(f"signaling {info['Meeting']['MediaPlacement']['SignalingUrl']}")
        print(f"attendee {info['Attendee']['AttendeeId']}  join token {info['Attendee']['JoinToken'][:20]}...")

        client.batch_create_attendee(MeetingId=meeting_id,
                                     Attendees=[{"ExternalUserId": f"user-{n}"} for n in range(24)])

        # ListAttendees has no boto3 paginator: loop on NextToken by hand.
        pages, names, kwargs = 0, [], {"MeetingId": meeting_id, "MaxResults": 10}
        while True:
            page = client.list_attendees(**kwargs)
            pages += 1
            names += [a["ExternalUserId"] for a in page["Attendees"]]
            if "NextToken" not in page:
                break
            kwargs["NextToken"] = page["NextToken"]
        print(f"listed   {len(names)} attendees in {pages} pages: {names[0]}, {names[1]}, ..., {names[-1]}")

        client.delete_meeting(MeetingId=meeting_id)
        try:
            client.get_meeting(MeetingId=meeting_id)
        except client.exceptions.NotFoundException as error:
            print(f"caught   {error.response['Error']['Code']} ({error.response['Code']}): "
                  f"{error.response['Message']}  [HTTP {error.response['ResponseMetadata']['HTTPStatusCode']}]")

        print(f"journal  {len(chime.journal)} calls: " + ", ".join(c.operation for c in chime.journal))


if __name__ == "__main__":
    main()
