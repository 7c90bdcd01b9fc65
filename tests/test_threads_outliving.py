"""Work started inside an activation belongs to it: a plain Thread, or a
function submitted to a ThreadPoolExecutor, is answered while the activation
lives and refused (ChimeMockError, never sent to AWS) after it stops.  The
root conftest refuses any non-loopback connection, so a call that reached
the network would fail the test differently."""
from __future__ import annotations

import concurrent.futures
import threading

import boto3
import pytest
from botocore.config import Config

from chime_mock import ChimeMockError, mock_chime_meetings

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def call(outcome):
    try:
        client = boto3.client("chime-sdk-meetings", region_name="us-east-1", config=NO_RETRY)
        client.create_meeting(ClientRequestToken="tok-late", MediaRegion="us-east-1", ExternalMeetingId="late")
        outcome.append("answered")
    except ChimeMockError:
        outcome.append("refused")
    except Exception as exc:  # anything else (a network attempt) is the failure this test looks for
        outcome.append(f"other: {type(exc).__name__}: {exc}")


def test_a_thread_started_inside_is_refused_after_the_mock_stops():
    outcome, go = [], threading.Event()
    with mock_chime_meetings() as mock:
        inside = threading.Thread(target=call, args=(outcome,))
        inside.start()
        inside.join()
        late = threading.Thread(target=lambda: (go.wait(), call(outcome)))
        late.start()
    go.set()
    late.join()
    assert outcome == ["answered", "refused"]
    assert len(mock.meetings()) == 1


def test_executor_work_submitted_inside_is_refused_after_the_mock_stops():
    outcome, go = [], threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        with mock_chime_meetings():
            pool.submit(call, outcome).result()
            late = pool.submit(lambda: (go.wait(), call(outcome)))
        go.set()
        late.result()
        assert outcome == ["answered", "refused"]
        # The pool's worker thread does not keep the ended activation: work
        # submitted later from a new activation is answered by that one.
        with mock_chime_meetings() as again:
            pool.submit(call, outcome).result()
        assert outcome[-1] == "answered" and len(again.meetings()) == 1
    finally:
        pool.shutdown()


def test_a_pool_created_before_the_mock_serves_it_and_then_refuses():
    outcome, go = [], threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(lambda: None).result()          # the worker exists before the mock starts
        with mock_chime_meetings():
            pool.submit(call, outcome).result()
            late = pool.submit(lambda: (go.wait(), call(outcome)))
        go.set()
        late.result()
    assert outcome == ["answered", "refused"]


def test_threads_started_outside_any_mock_are_untouched():
    ran = []
    worker = threading.Thread(target=lambda: ran.append(threading.current_thread().name))
    worker.start()
    worker.join()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(lambda x: x * 2, 21).result() == 42
    assert ran
