"""Regression tests for two escapes of work that outlived its mock:

* E7: work whose activation had ended was refused, but once it entered and
  left a new activation (a decorated helper, a ``with`` block) its next Chime
  call went to AWS.  The refusal must come back when the new activation ends.
* E5: a function queued on a ``multiprocessing.pool.ThreadPool`` from inside
  a mock ran after the mock stopped and went to AWS.  It must be answered
  while the mock lives and refused after, like ``ThreadPoolExecutor`` work.

The network layer (``URLLib3Session.send``) is patched to record and raise,
so a call that tried to leave shows as "sent" rather than as a refusal."""
from __future__ import annotations

import asyncio
import contextvars
import multiprocessing.pool
import threading
from multiprocessing.pool import ThreadPool

import pytest

import chime_mock
from chime_mock import mock_chime_meetings
from tests.escapes import chime, get_meeting


@mock_chime_meetings
def decorated_helper():
    return get_meeting()


# -- E7: a new activation answers while it lasts, then the refusal comes back ----------------------------
def test_a_thread_that_outlived_its_mock_is_refused_again_after_a_decorated_helper(sent):
    outcomes, go = [], threading.Event()

    def worker():
        go.wait()
        outcomes.append(get_meeting())
        outcomes.append(decorated_helper())       # a new activation of its own: answered
        outcomes.append(get_meeting())            # that one ended: refused again, not sent
        with mock_chime_meetings():
            with mock_chime_meetings(separate=True):
                outcomes.append(get_meeting())
            outcomes.append(get_meeting())
        outcomes.append(get_meeting())

    with mock_chime_meetings():
        thread = threading.Thread(target=worker)
        thread.start()
    go.set()
    thread.join()
    assert outcomes == ["refused", "answered", "refused", "answered", "answered", "refused"]
    assert sent == []


def _starter_of_a_mock_stopped_elsewhere():
    outcomes = []
    m = mock_chime_meetings()
    m.start()
    stopper = threading.Thread(target=m.stop)
    stopper.start()
    stopper.join()
    outcomes.append(get_meeting())
    with mock_chime_meetings():
        outcomes.append(get_meeting())
    outcomes.append(get_meeting())
    # Stopped out of order: the one still live answers, then the refusal is back.
    a, b = mock_chime_meetings(), mock_chime_meetings(separate=True)
    a.start()
    b.start()
    a.stop()
    outcomes.append(get_meeting())
    b.stop()
    outcomes.append(get_meeting())
    assert chime_mock.current() is None
    return outcomes


def test_the_starter_of_a_mock_stopped_from_another_thread_is_refused_again_after_a_with_block(sent):
    # In a copied context: the refusal lasts as long as the context does.
    outcomes = contextvars.copy_context().run(_starter_of_a_mock_stopped_elsewhere)
    assert outcomes == ["refused", "answered", "refused", "answered", "refused"]
    assert sent == []


def test_drop_ended_forgets_the_refusal_of_this_context_only():
    from chime_mock.service import registry

    def starter():
        m = mock_chime_meetings()
        m.start()
        outcomes, go = [], threading.Event()
        late = threading.Thread(target=lambda: (go.wait(5), outcomes.append(registry.stale_here())))
        late.start()                    # started inside the activation: it stays refused
        stopper = threading.Thread(target=m.stop)
        stopper.start()
        stopper.join()
        stale = registry.stale_here()
        registry.drop_ended()           # what a test runner may do between tests
        go.set()
        late.join()
        return stale, registry.stale_here(), outcomes

    assert contextvars.copy_context().run(starter) == (True, False, [True])


def test_a_task_that_outlived_its_mock_is_refused_again_after_a_decorated_coroutine(sent):
    @mock_chime_meetings
    async def helper():
        return get_meeting()

    async def late(go, outcomes):
        await go.wait()
        outcomes.append(get_meeting())
        outcomes.append(await helper())
        outcomes.append(get_meeting())

    async def main():
        outcomes, go = [], asyncio.Event()
        async with mock_chime_meetings():
            task = asyncio.get_running_loop().create_task(late(go, outcomes))
            await asyncio.sleep(0)
        go.set()
        await task
        return outcomes

    assert asyncio.run(main()) == ["refused", "answered", "refused"]
    assert sent == []


# -- E5: multiprocessing.pool.ThreadPool work belongs to the activation that queued it -----------------
@pytest.fixture
def pool():
    pool = ThreadPool(2)            # made outside any mock, like a module- or session-level pool
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def _late(gate):
    def job(*_):
        gate.wait(5)
        return get_meeting()
    return job


def test_thread_pool_apply_async_queued_inside_is_refused_after_the_mock_stops(sent, pool):
    gate = threading.Event()
    with mock_chime_meetings():
        result = pool.apply_async(_late(gate))
    gate.set()
    assert result.get(10) == "refused"
    assert sent == []


def test_thread_pool_map_async_queued_inside_is_refused_after_the_mock_stops(sent, pool):
    gate = threading.Event()
    with mock_chime_meetings():
        result = pool.map_async(_late(gate), range(3))
    gate.set()
    assert result.get(10) == ["refused"] * 3
    assert sent == []


def test_thread_pool_imap_queued_inside_is_refused_after_the_mock_stops(sent, pool):
    gate = threading.Event()
    with mock_chime_meetings():
        results = pool.imap(_late(gate), range(3))
    gate.set()
    assert list(results) == ["refused"] * 3
    assert sent == []


def test_a_thread_pool_callback_run_after_the_mock_stops_is_refused(sent, pool):
    gate, outcomes, done = threading.Event(), [], threading.Event()

    def callback(_):
        outcomes.append(get_meeting())
        done.set()
    with mock_chime_meetings():
        pool.apply_async(gate.wait, (5,), {}, callback)
    gate.set()
    assert done.wait(10)
    assert outcomes == ["refused"]
    assert sent == []


def _create(token, *_):
    return chime().create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                  ExternalMeetingId=token)["Meeting"]["MeetingId"]


QUEUEING = {
    "apply": lambda pool: [pool.apply(_create, ("apply",))],
    "apply_async": lambda pool: [pool.apply_async(_create, ("apply-async",)).get(10)],
    "map": lambda pool: pool.map(_create, ["map-1", "map-2"]),
    "map_async": lambda pool: pool.map_async(_create, ["map-async"]).get(10),
    "starmap": lambda pool: pool.starmap(_create, [("starmap", 0)]),
    "starmap_async": lambda pool: pool.starmap_async(_create, [("starmap-async", 0)]).get(10),
    "imap": lambda pool: list(pool.imap(_create, ["imap-1", "imap-2"])),
    "imap_chunks": lambda pool: list(pool.imap(_create, ["imap-c1", "imap-c2"], chunksize=2)),
    "imap_unordered": lambda pool: list(pool.imap_unordered(_create, ["imap-unordered"])),
}


@pytest.mark.parametrize("method", list(QUEUEING))
def test_thread_pool_work_queued_inside_a_live_mock_is_answered_by_it(sent, pool, method):
    # Another, separate service is active elsewhere: a pool thread that did not
    # know which activation queued its work could not tell which one answers.
    elsewhere = mock_chime_meetings(separate=True)
    contextvars.copy_context().run(elsewhere.start)
    try:
        with mock_chime_meetings() as mock:
            ids = QUEUEING[method](pool)
    finally:
        contextvars.copy_context().run(elsewhere.stop)
    assert ids and sorted(ids) == sorted(m.meeting_id for m in mock.meetings())
    assert elsewhere.meetings() == []
    assert sent == []


def test_thread_pool_work_queued_outside_any_mock_is_untouched(pool):
    with mock_chime_meetings():
        pass                        # the pool methods are patched from the first mock on
    assert pool.apply(lambda: chime_mock.current()) is None
    assert pool.map(lambda x: x * 2, [1, 2]) == [2, 4]
    # Process pools keep their own methods.
    assert multiprocessing.pool.Pool.apply_async.__module__ == "multiprocessing.pool"
    assert multiprocessing.pool.Pool.imap.__module__ == "multiprocessing.pool"
