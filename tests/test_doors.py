"""The door matrix itself: each door's calls are answered by that door.

The operation and fidelity tests run once per door (tests/doors.py,
``door`` in tests/conftest.py); these tests make sure a door does not
silently fall back to another one, which would make its runs prove nothing.
"""
from __future__ import annotations

import pytest

from chime_mock.doors.requests import adapter as requests_adapter


def create(client):
    return client.create_meeting(ClientRequestToken="door-token", MediaRegion="us-east-1",
                                 ExternalMeetingId="door-meeting")


def test_each_door_answers_its_own_calls(door, client, chime_meetings, monkeypatch):
    dispatched = []
    service = chime_meetings.service
    original = service.handle

    def spy(*args, **kwargs):
        dispatched.append(kwargs.get("operation"))
        return original(*args, **kwargs)
    monkeypatch.setattr(service, "handle", spy)
    sent = []
    if door.name == "requests":
        adapter_send = requests_adapter.ChimeAdapter.send
        monkeypatch.setattr(requests_adapter.ChimeAdapter, "send",
                            lambda self, request, **kw: sent.append(request.url) or adapter_send(self, request, **kw))

    response = create(client)
    meeting_id = response["Meeting"]["MeetingId"]
    assert client.get_meeting(MeetingId=meeting_id)["Meeting"]["MeetingId"] == meeting_id
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    # Whatever the door, the one service of the test answered, once per call.
    assert [c.operation for c in chime_meetings.journal] == ["CreateMeeting", "GetMeeting"]
    assert [m.meeting_id for m in chime_meetings.meetings()] == [meeting_id]
    if door.name == "server":
        assert dispatched == [None, None]             # not through the in-process hooks (they name it)...
        assert headers.get("server") == "chime_mock"  # ...but over HTTP, by the in-thread server
    elif door.name == "requests":
        assert dispatched == [None, None]             # the requests door names no operation
        assert sent == ["https://meetings-chime.us-east-1.amazonaws.com/meetings",
                        f"https://meetings-chime.us-east-1.amazonaws.com/meetings/{meeting_id}"]
    else:
        assert dispatched == ["CreateMeeting", "GetMeeting"]   # botocore's before-send names it
        assert "server" not in headers
    if door.name == "aiobotocore":
        assert type(client._client).__module__.startswith("aiobotocore.")


@pytest.mark.doors("botocore", "server")
def test_doors_marker_narrows_the_matrix(door, request):
    assert door.name in ("botocore", "server")
    assert request.node.callspec.params["door"] == door.name
