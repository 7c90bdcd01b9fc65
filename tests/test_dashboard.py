"""The dashboard in a real browser: Debian's headless Chromium loads the page
from a real ``chime-mock serve`` process, runs its script (which polls the
control API), and the rendered DOM must show the live meetings, attendees,
tags, transcription and the newest calls with their status codes.  Text from
API callers, HTML-special characters included, must come out as text: a
``<script>`` that a caller sent must not become an element.

Skipped only where no ``chromium`` is installed (``apt-get install chromium``).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from html.parser import HTMLParser
from typing import Any, Dict, List, Optional

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="the dashboard test needs a real browser: Debian's `chromium` is not installed "
                             "(apt-get install chromium)")

SCRIPT_USER = "<script>document.title='pwned'</script>"
SCRIPT_ARN = "arn:<img src=x onerror=alert(1)><script>alert(1)</script>"


def _control(url: str, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/_chime_mock/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        text = answer.read()
    return json.loads(text) if text else {}


def _chromium(*args: str, profile) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)  # type: ignore[arg-type]


class _Page(HTMLParser):
    """The rendered DOM as elements with their attributes and text (entities
    decoded; words of neighbouring elements separated by a space)."""

    VOID = {"meta", "link", "br", "img", "input", "col", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[Dict[str, Any]] = []
        self.elements: List[Dict[str, Any]] = []
        self.script_tags = 0
        self.img_tags = 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.script_tags += 1
        if tag == "img":
            self.img_tags += 1
        self.handle_data(" ")  # element boundaries separate words, as on screen
        if tag in self.VOID:
            return
        node = {"tag": tag, "attrs": dict(attrs), "text": []}
        self.elements.append(node)
        self.stack.append(node)

    def handle_endtag(self, tag):
        self.handle_data(" ")
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for node in self.stack:
            node["text"].append(data)

    def with_class(self, name: str) -> List[str]:
        return [" ".join("".join(e["text"]).split()) for e in self.elements
                if name in (e["attrs"].get("class") or "").split()]

    def by_id(self, ident: str) -> str:
        for e in self.elements:
            if e["attrs"].get("id") == ident:
                return " ".join("".join(e["text"]).split())
        raise AssertionError(f"no element #{ident}")


def _seed(url: str) -> Dict[str, Any]:
    """Meetings in two accounts and regions, attendees, tags, transcription,
    and API calls that succeeded and failed."""
    _control(url, "POST", "reset")
    standup = _control(url, "POST", "meetings", {
        "ExternalMeetingId": 'standup & "retro"', "MediaRegion": "eu-west-2",
        "Tags": [{"Key": "team", "Value": "web rtc"}, {"Key": "cost<center", "Value": "4711"}]})
    obrien = _control(url, "POST", f"meetings/{standup['MeetingId']}/attendees", {"ExternalUserId": "o'brien & \"co\""})
    listener = _control(url, "POST", f"meetings/{standup['MeetingId']}/attendees", {
        "ExternalUserId": "listener-1", "Capabilities": {"Audio": "Receive", "Video": "None", "Content": "None"}})
    _control(url, "POST", f"meetings/{standup['MeetingId']}/attendees/{listener['AttendeeId']}/connected",
             {"Connected": True})

    chime = boto3.client("chime-sdk-meetings", region_name="eu-central-1", endpoint_url=url,
                         aws_access_key_id="111122223333", aws_secret_access_key="fake",
                         config=Config(retries={"max_attempts": 0, "mode": "standard"}))
    frankfurt = chime.create_meeting(ClientRequestToken="dash-1", ExternalMeetingId="frankfurt-sync",
                                     MediaRegion="eu-central-1")["Meeting"]
    alice = chime.create_attendee(MeetingId=frankfurt["MeetingId"], ExternalUserId="alice")["Attendee"]
    bob = chime.create_attendee(MeetingId=frankfurt["MeetingId"], ExternalUserId="bob")["Attendee"]
    chime.delete_attendee(MeetingId=frankfurt["MeetingId"], AttendeeId=bob["AttendeeId"])
    chime.start_meeting_transcription(MeetingId=frankfurt["MeetingId"], TranscriptionConfiguration={
        "EngineTranscribeSettings": {"LanguageCode": "de-DE"}})
    with pytest.raises(ClientError):
        chime.create_attendee(MeetingId=frankfurt["MeetingId"], ExternalUserId=SCRIPT_USER)
    with pytest.raises(ClientError):
        chime.list_tags_for_resource(ResourceARN=SCRIPT_ARN)
    with pytest.raises(ClientError):
        chime.get_meeting(MeetingId="00000000-0000-4000-8000-000000000000")
    return {"url": url, "standup": standup, "obrien": obrien, "listener": listener, "frankfurt": frankfurt,
            "alice": alice, "bob": bob}


def _dump(url: str, profile) -> _Page:
    done = _chromium("--dump-dom", url, profile=profile)
    assert done.returncode == 0, done.stderr
    parsed = _Page()
    parsed.feed(done.stdout)
    parsed.raw = done.stdout  # type: ignore[attr-defined]
    return parsed


@pytest.fixture(scope="module")
def seeded_page(chime_meetings_server_process, tmp_path_factory):
    """The seeded server's dashboard as Chromium rendered it (seeded and
    rendered in one go: other tests on this worker reset the server later)."""
    seeded = _seed(chime_meetings_server_process.url)
    return seeded, _dump(f"{seeded['url']}/_chime_mock/", tmp_path_factory.mktemp("chromium"))


@pytest.fixture(scope="module")
def seeded(seeded_page):
    return seeded_page[0]


@pytest.fixture(scope="module")
def page(seeded_page) -> _Page:
    return seeded_page[1]


def test_dashboard_shows_meetings_per_account_and_region(page, seeded):
    groups = page.with_class("ghead")
    assert any("111122223333" in g and "eu-central-1" in g and "1 meeting" in g for g in groups), groups
    assert any("123456789012" in g and "us-east-1" in g and "1 meeting" in g for g in groups), groups
    cards = page.with_class("meeting")
    assert len(cards) == 2, cards
    standup = next(c for c in cards if seeded["standup"]["MeetingId"] in c)
    assert 'standup & "retro"' in standup
    assert "media eu-west-2" in standup
    assert "cost<center = 4711" in standup and "team = web rtc" in standup
    assert "transcription off" in standup
    frankfurt = next(c for c in cards if seeded["frankfurt"]["MeetingId"] in c)
    assert "frankfurt-sync" in frankfurt and "transcribing: Transcribe (de-DE)" in frankfurt


def test_dashboard_shows_attendees_and_capabilities(page, seeded):
    rows = page.with_class("attendee")
    assert len(rows) == 3, rows  # bob was deleted
    obrien = next(r for r in rows if seeded["obrien"]["AttendeeId"] in r)
    assert obrien.startswith("o'brien & \"co\"") and obrien.endswith("SendReceive SendReceive SendReceive"), obrien
    listener = next(r for r in rows if seeded["listener"]["AttendeeId"] in r)
    assert listener.endswith("Receive None None"), listener
    assert any(seeded["alice"]["AttendeeId"] in r for r in rows)
    assert not any(seeded["bob"]["AttendeeId"] in r for r in rows)
    assert page.raw.count('class="dot on"') == 1  # the one connected attendee


def test_dashboard_shows_the_newest_calls_with_status_codes(page, seeded):
    calls = page.with_class("call")
    details = page.with_class("detail")
    # Every API call `seeded` made (the control API's seeding is not an API call), newest first,
    # each as: time, status, operation, region and account.
    assert [c.split()[1:3] for c in calls] == [
        ["404", "GetMeeting"], ["400", "ListTagsForResource"], ["400", "CreateAttendee"],
        ["200", "StartMeetingTranscription"], ["204", "DeleteAttendee"], ["200", "CreateAttendee"],
        ["200", "CreateAttendee"], ["200", "CreateMeeting"]], calls
    assert len(details) == len(calls)
    assert all(c.endswith("eu-central-1 111122223333") for c in calls), calls
    assert "NotFoundException" in details[0] and "00000000-0000-4000-8000-000000000000" in details[0]
    assert "BadRequestException" in details[2]


def test_text_from_callers_stays_text(page, seeded):
    details = page.with_class("detail")
    assert any(f"ExternalUserId={SCRIPT_USER}" in d for d in details), details
    assert any(f"ResourceARN={SCRIPT_ARN}" in d for d in details), details
    # Only the page's own script element; no element made from a caller's text.
    assert page.script_tags == 1, page.raw
    assert page.img_tags == 0, page.raw
    assert "&lt;script&gt;document.title" in page.raw
    assert page.by_id("status").startswith("live"), page.by_id("status")


def test_dashboard_at_the_root_and_screenshot(chime_meetings_server, tmp_path):
    """``GET /`` serves the same page, which finds the control API next to it;
    the screenshot is for a person to look at (its path is printed)."""
    seeded = _seed(chime_meetings_server.url)
    shot = tmp_path / "dashboard.png"
    done = _chromium("--window-size=1280,900", f"--screenshot={shot}", f"{seeded['url']}/",
                     profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, len(data)
    print(f"dashboard screenshot: {shot}")
    parsed = _dump(f"{seeded['url']}/", tmp_path / "profile2")
    assert any(seeded["standup"]["MeetingId"] in c for c in parsed.with_class("meeting")), parsed.raw[:2000]
    assert len(parsed.with_class("call")) == 8
