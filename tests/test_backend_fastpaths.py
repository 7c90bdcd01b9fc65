"""The backend's fast paths answer exactly as the plain ways they replace."""
from __future__ import annotations

import copy
import json
import os
import random
import threading

import pytest

from chime_mock import ChimeService
from chime_mock.backend.state import (CallContext, GeneratedAttendeeList, NewAttendeeList, json_copy, shared_capabilities,
                                      sorted_json)
from chime_mock.backend.tags import TagRules
from chime_mock.ground.errors import BadRequest, ServiceError
from chime_mock.ground.ids import IdGenerator, uuid_text
from chime_mock.ground.locks import ForkSafeLock


def test_credentials_are_one_draw_each_at_every_count() -> None:
    for seed in range(5):
        for count in (0, 1, 2, 5, 6, 7, 17, 100):
            one, many = IdGenerator(seed), IdGenerator(seed)
            expected = []
            for _ in range(count):
                attendee_id = one.attendee_id()
                expected.append((attendee_id, one.join_token(attendee_id)))
            assert many.attendee_credentials_many(count) == expected
            assert one.getstate() == many.getstate()


def test_uuid_text_is_the_8_4_4_4_12_hex() -> None:
    for value in (0, (1 << 128) - 1, *(random.getrandbits(128) for _ in range(200))):
        h = "%032x" % value
        assert uuid_text(value) == f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def test_fork_safe_lock_methods_are_the_lock_s_own_and_renewed() -> None:
    lock = ForkSafeLock()
    with lock:
        with lock:        # reentrant
            assert not threading.Thread(target=lambda: None).start()
    plain = ForkSafeLock(reentrant=False)
    with plain:
        assert plain.acquire(False) is False
    assert plain.acquire(timeout=1) is True
    plain.release()
    with pytest.raises(ValueError):
        with lock:
            raise ValueError("passes through")
    assert lock.acquire(False)
    lock.release()
    held = ForkSafeLock(reentrant=False)
    held.acquire()
    held._renew()          # what a forked child does
    with held:
        pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is not available here")
def test_a_lock_held_by_another_thread_is_free_in_a_forked_child() -> None:
    lock = ForkSafeLock(reentrant=False)
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            done.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    taken.wait(5)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if lock.acquire(timeout=5) else 1)
        done.set()
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        done.set()
        worker.join()


def test_call_context_is_the_state_key() -> None:
    ctx = CallContext("123456789012", "us-east-1")
    assert ctx == ("123456789012", "us-east-1") and hash(ctx) == hash(("123456789012", "us-east-1"))
    assert (ctx.account, ctx.region) == ctx and repr(ctx) == "CallContext(account='123456789012', region='us-east-1')"


@pytest.mark.parametrize("tags", [
    [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
    [{"Key": "x\naws:y", "Value": "1"}],
    [{"Key": "AwS:x", "Value": "1"}],
    [{"Key": "a", "Value": "1"}, {"Key": "aws:b", "Value": "2"}, {"Key": "a", "Value": "3"}],
    [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}, {"Key": "aws:b", "Value": "3"}],
])
def test_check_tags_raises_as_the_loop_did(tags: list) -> None:
    def reference() -> object:
        seen = set()
        for index, tag in enumerate(tags, 1):
            key = tag["Key"]
            if key[:4].lower() == "aws:":
                return ("aws", index)
            if key in seen:
                return ("dup", key)
            seen.add(key)
        return {t["Key"]: t["Value"] for t in tags}
    expected = reference()
    try:
        got: object = TagRules._check_tags(tags, "tags")
    except ServiceError as error:
        got = ("dup", tags[[t["Key"] for t in tags].index(error.message.split("'")[1])]["Key"]) \
            if isinstance(error, BadRequest) and "Duplicate" in error.message else ("aws", _aws_index(error))
    assert got == expected


def _aws_index(error: ServiceError) -> int:
    return int(error.message.split("tags.")[1].split(".")[0])


def test_generated_list_writes_what_the_general_way_writes() -> None:
    shared = shared_capabilities({"Audio": "SendReceive", "Video": "Receive", "Content": "None"})
    items = [{"ExternalUserId": f"u-{k}\"é\n", "AttendeeId": f"id-{k}", "JoinToken": f"t{k}", "Capabilities": shared}
             for k in range(7)]
    assert GeneratedAttendeeList(items).wire_json() == NewAttendeeList(items).wire_json() \
        == json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    mixed = items[:3] + [dict(items[3], Capabilities=dict(shared))]
    assert GeneratedAttendeeList(mixed).wire_json() == json.dumps(mixed, separators=(",", ":"), ensure_ascii=False)
    assert GeneratedAttendeeList([]).wire_json() == "[]"


def test_json_copy_and_sorted_json() -> None:
    value = {"b": [1, 2.5, {"x": None, "y": True}], "a": "é", "c": {"d": []}}
    copied = json_copy(value)
    assert copied == value == copy.deepcopy(value) and copied["b"] is not value["b"] and copied["c"] is not value["c"]
    assert sorted_json(value) == json.dumps(value, separators=(",", ":"), sort_keys=True)


def test_batch_of_plain_new_ids_matches_one_by_one_and_seeded_ids() -> None:
    def run(items: list) -> tuple:
        service = ChimeService(seed=11)
        meeting = service.add_meeting()
        handler = service.backend.handler("BatchCreateAttendee")
        assert handler is not None
        ctx = CallContext(meeting.account, meeting.region)
        out = handler(ctx, {"MeetingId": meeting.meeting_id, "Attendees": items})
        return out, [(a.attendee_id, a.seq) for a in meeting.attendees.values()]
    plain = [{"ExternalUserId": f"user-{k}"} for k in range(30)]
    fast = run(plain)
    # the same items through the general path (one has capabilities): the same IDs for the others
    slow = run(plain[:-1] + [{"ExternalUserId": "user-29", "Capabilities": {
        "Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}}])
    assert fast[1] == slow[1]
    assert [dict(a) for a in fast[0]["Attendees"]] == [dict(a) for a in slow[0]["Attendees"]]
