"""Ways around the ``requests`` door (``Session.get_adapter``): each request
still ends in ``HTTPAdapter.send`` or opens a connection through the adapter,
and there chime_mock answers it (the door's answer, one journal entry) or
refuses it, never sends it.  The network is patched to raise (urllib3's
``urlopen``), so a request that tried to leave is seen and stopped."""
from __future__ import annotations

import pytest
import requests
import responses
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

from chime_mock import ChimeMockError, mock_chime_meetings
from chime_mock.doors.requests import adapter as chime_http
from tests.escapes import chime, outcome_after_its_mock

BASE = "https://meetings-chime.us-east-1.amazonaws.com"


class Sent(Exception):
    """Raised by the patched network layer: the request tried to leave."""


@pytest.fixture
def network(monkeypatch):
    """urllib3's ``urlopen`` patched to record the request and raise."""
    sent = []

    def urlopen(pool, method, url, *args, **kwargs):
        sent.append(f"{method} {pool.host}{url}")
        raise Sent(sent[-1])

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", urlopen)
    return sent


class FirstAdapterSession(requests.Session):
    """Gets around ``Session.get_adapter`` (E8)."""

    def get_adapter(self, url):
        return self.adapters["https://"]


class TimeoutAdapter(HTTPAdapter):
    """A custom adapter as users write them: its own ``send`` that calls ``super().send``."""

    seen = 0

    def send(self, request, *args, **kwargs):
        TimeoutAdapter.seen += 1
        kwargs["timeout"] = kwargs.get("timeout") or 5
        return super().send(request, *args, **kwargs)


class RawAdapter(HTTPAdapter):
    """An adapter whose ``send`` opens the connection itself (never reaches ``HTTPAdapter.send``)."""

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        conn = self.get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        return conn.urlopen(request.method, request.path_url, body=request.body, headers=request.headers)


def _create(mock):
    meeting = chime().create_meeting(ClientRequestToken="tok-e8", MediaRegion="us-east-1",
                                      ExternalMeetingId="e8")["Meeting"]
    assert mock.journal.count() == 1
    return meeting["MeetingId"]


def _custom_adapter_session():
    session = FirstAdapterSession()
    session.mount("https://", TimeoutAdapter())
    return session


def _prepared(session, url):
    return session.send(session.prepare_request(requests.Request("GET", url)))


GETS = {
    "session subclass": lambda url: FirstAdapterSession().get(url),
    "session subclass, stream=True": lambda url: FirstAdapterSession().get(url, stream=True),
    "custom adapter, super().send": lambda url: _custom_adapter_session().get(url),
    "prepared request, Session.send": lambda url: _prepared(FirstAdapterSession(), url),
    "prepared request, adapter.send": lambda url: HTTPAdapter().send(requests.Request("GET", url).prepare()),
}


@pytest.mark.parametrize("how", sorted(GETS))
def test_a_chime_get_that_got_around_the_door_is_answered_by_the_mock_once(how, network):
    with mock_chime_meetings() as mock:
        meeting_id = _create(mock)
        seen = TimeoutAdapter.seen
        answer = GETS[how](f"{BASE}/meetings/{meeting_id}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["Meeting"]["MeetingId"] == meeting_id
        assert [call.operation for call in mock.journal] == ["CreateMeeting", "GetMeeting"]
        if how.startswith("custom adapter"):
            assert TimeoutAdapter.seen == seen + 1      # the user's adapter ran, then the mock answered
    assert network == []


def test_a_chime_post_through_a_session_subclass_creates_in_the_mock(network):
    with mock_chime_meetings() as mock:
        answer = FirstAdapterSession().post(f"{BASE}/meetings", json={
            "ClientRequestToken": "tok", "MediaRegion": "us-east-1", "ExternalMeetingId": "sub"})
        assert answer.status_code == 200, answer.text
        meeting_id = answer.json()["Meeting"]["MeetingId"]
        assert chime().get_meeting(MeetingId=meeting_id)["Meeting"]["ExternalMeetingId"] == "sub"
        assert mock.journal.count("CreateMeeting") == 1
    assert network == []


def test_an_adapter_that_opens_its_own_connection_is_refused(network):
    session = FirstAdapterSession()
    session.mount("https://", RawAdapter())
    with mock_chime_meetings() as mock:
        with pytest.raises(ChimeMockError, match="not sent to AWS"):
            session.get(f"{BASE}/meetings/11111111-1111-4111-8111-111111111111")
        assert len(mock.journal) == 0
    assert network == []


def test_a_responses_pass_through_of_a_chime_url_is_refused(network):
    """``responses`` passes through to the ``HTTPAdapter.send`` it saw on import, not the backstop."""
    with mock_chime_meetings(), responses.RequestsMock() as rmock:
        rmock.add_passthru(BASE)
        with pytest.raises(ChimeMockError):
            FirstAdapterSession().get(f"{BASE}/meetings/11111111-1111-4111-8111-111111111111")
    assert network == []


def test_a_session_subclass_in_a_thread_that_outlived_the_mock_is_refused(network):
    outcome = outcome_after_its_mock(
        lambda: FirstAdapterSession().get(f"{BASE}/meetings/11111111-1111-4111-8111-111111111111"))
    assert outcome == "refused"
    assert network == []


def test_without_a_mock_the_backstop_passes_everything_through(network):
    with mock_chime_meetings():
        pass
    # The send backstop is put back with the last mock; the connection guards stay, inert.
    assert HTTPAdapter.send is not chime_http._send
    assert HTTPAdapter.get_connection_with_tls_context is chime_http._REFUSING["get_connection_with_tls_context"]
    for url in (f"{BASE}/meetings/11111111-1111-4111-8111-111111111111", "https://example.com/x"):
        with pytest.raises(Sent):
            FirstAdapterSession().get(url)
        with pytest.raises(Sent):
            HTTPAdapter().send(requests.Request("GET", url).prepare())
    assert network == ["GET meetings-chime.us-east-1.amazonaws.com/meetings/11111111-1111-4111-8111-111111111111"] * 2 \
        + ["GET example.com/x"] * 2


def test_while_a_mock_is_active_other_urls_pass_through_the_backstop(network):
    with mock_chime_meetings() as mock:
        assert HTTPAdapter.send is chime_http._send
        with pytest.raises(Sent):
            FirstAdapterSession().get("https://example.com/y")
        assert len(mock.journal) == 0
    assert network == ["GET example.com/y"]


def test_a_send_patch_made_before_the_mock_is_kept_and_put_back(monkeypatch, network):
    seen = []
    before = HTTPAdapter.send

    def user_send(self, request, *args, **kwargs):
        seen.append(request.url)
        return before(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", user_send)
    with mock_chime_meetings():
        with pytest.raises(Sent):
            FirstAdapterSession().get("https://example.com/z")
        assert FirstAdapterSession().get(f"{BASE}/meetings/11111111-1111-4111-8111-111111111111").status_code == 404
    assert HTTPAdapter.send is user_send
    assert seen == ["https://example.com/z"]          # the Chime URL never reached it
    assert network == ["GET example.com/z"]


def test_responses_started_around_a_mock_is_not_left_called_after_it_stops(network):
    with mock_chime_meetings():
        pass
    rmock = responses.RequestsMock(assert_all_requests_are_fired=False)
    rmock.start()
    try:
        with mock_chime_meetings():
            pass
    finally:
        rmock.stop()
    with pytest.raises(Sent):                          # the network, not the stopped responses mock
        requests.get("https://example.com/w")
