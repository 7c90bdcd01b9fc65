"""The dashboard's events panel and per-attendee client buttons, in headless Chromium
against a real ``chime-mock serve`` process (skipped where no ``chromium`` is installed)."""
from __future__ import annotations

import pytest

from .test_dashboard import CHROMIUM, _control, _dump

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's `chromium` (apt-get install chromium)")

TRICKY = "o'brien & \"co\""


def test_events_panel_and_client_buttons(chime_meetings_server, tmp_path):
    url = chime_meetings_server.url
    meeting = _control(url, "POST", "meetings", {"ExternalMeetingId": "standup"})
    mid = meeting["MeetingId"]
    ann = _control(url, "POST", f"meetings/{mid}/attendees", {"ExternalUserId": TRICKY})
    bob = _control(url, "POST", f"meetings/{mid}/attendees", {"ExternalUserId": "bob"})
    _control(url, "POST", f"meetings/{mid}/attendees/{ann['AttendeeId']}/join", {})
    _control(url, "POST", f"meetings/{mid}/attendees/{bob['AttendeeId']}/join", {})
    _control(url, "POST", f"meetings/{mid}/attendees/{bob['AttendeeId']}/drop", {})

    page = _dump(f"{url}/_chime_mock/", tmp_path / "profile")
    events = page.by_id("events")
    assert "AttendeeJoined" in events and "AttendeeDropped" in events
    assert TRICKY in events                                     # drawn as text, entities and all
    assert events.index("AttendeeDropped") < events.index("AttendeeJoined")   # newest first
    buttons = page.with_class("acts")
    assert len(buttons) == 2
    assert all(b.split() == ["Join", "Leave", "Drop", "Video", "on", "Video", "off", "Share", "Unshare"]
               for b in buttons)
