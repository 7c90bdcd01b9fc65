"""A user's test module, type-checked with ``mypy --strict`` by tests/test_typing.py.

It uses every public entry point the way the README shows; it is not
collected by pytest (its name does not start with ``test_``).
"""
from __future__ import annotations

import unittest
from typing import Iterator, List, Optional

import pytest

import chime_mock
from chime_mock import (Attendee, Call, ChimeMeetingsMock, ChimeMockError, ChimeService, Fault, Journal, Meeting,
                        Quotas, mock_chime_meetings)


@mock_chime_meetings
def test_bare() -> int:
    handle: ChimeMeetingsMock = chime_mock.active_mock()
    meeting: Meeting = handle.add_meeting(external_meeting_id="typed")
    attendee: Attendee = handle.add_attendee(meeting.meeting_id, "user-1")
    return len(attendee.attendee_id)


@mock_chime_meetings(seed=1, quotas=Quotas(active_meetings=2), default_region="eu-central-1")
def test_configured(count: int = 1) -> List[str]:
    return [m.meeting_id for m in chime_mock.active_mock().meetings(region="eu-central-1")][:count]


@mock_chime_meetings(as_kwarg="mock")
def test_as_kwarg(mock: ChimeMeetingsMock) -> Optional[Meeting]:
    return mock.meeting("0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713")


@mock_chime_meetings
async def test_async() -> bool:
    async with mock_chime_meetings() as inner:
        return inner.active


@mock_chime_meetings
def test_generator() -> Iterator[int]:
    yield 1


@mock_chime_meetings
class TestCaseClass(unittest.TestCase):
    def test_it(self) -> None:
        self.assertIsNotNone(chime_mock.current())


def test_with_and_controls() -> None:
    with mock_chime_meetings(auto_end=True) as m:
        fault: Fault = m.inject("ThrottlingException", "GetMeeting", times=2)
        m.remove_fault(fault)
        journal: Journal = m.journal
        calls: List[Call] = journal.calls("GetMeeting", ok=True)
        first: Optional[Call] = journal[0] if len(journal) else None
        assert first is None or first.ok
        assert journal.count() == len(calls)
        m.advance(60.0)
        ended: List[str] = m.end_due_meetings()
        assert ended == []
    m.start(reset=False)
    m.stop()


def test_typed_fault_members_and_checks() -> None:
    with mock_chime_meetings(retry_delays=True, assert_all_faults_fired=False) as m:
        fault: Fault = m.inject("ResourceNotFoundException", "GetMeeting", times=None, message="gone",
                                members={"ResourceName": "arn:aws:chime:us-east-1:111122223333:meeting/x"})
        throttle: Fault = m.inject("ServiceUnavailableException", retry_after=2,
                                   when=lambda params: params.get("MeetingId") == "x")
        m.remove_fault(fault)
        m.remove_fault(throttle)
        m.assert_all_faults_fired()
        assert m.retry_delays
    with ChimeMeetingsMock(assert_all_faults_fired=True):
        pass


def test_service_shared() -> None:
    service = ChimeService(account_id="111122223333")
    service.add_meeting(region="us-west-2")
    with mock_chime_meetings(service=service, separate=True) as m:
        assert m.service is service


def test_fixture(chime_meetings: ChimeMeetingsMock) -> None:
    chime_meetings.reset()


@pytest.mark.chime_meetings(seed=3)
def test_marker() -> None:
    try:
        chime_mock.active_mock()
    except ChimeMockError:
        raise
