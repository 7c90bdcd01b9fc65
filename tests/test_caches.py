"""What the service keeps between calls to answer faster (a meeting's wire
dict and its JSON bytes, a meeting's default capabilities, capabilities shared
between attendees, the paging order) is dropped or left alone exactly when
it should be: each test changes something and reads it again through a
real client, through every door.
"""
from __future__ import annotations

import copy
import pickle

import pytest

from chime_mock.backend.state import Capabilities, shared_capabilities
from chime_mock.ground.ids import IdGenerator

SR = "SendReceive"


def caps(audio=SR, video=SR, content=SR):
    return {"Audio": audio, "Video": video, "Content": content}


def new_meeting(client, token="cache-1", **kwargs):
    return client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                 ExternalMeetingId="cache-meeting", **kwargs)["Meeting"]


def test_get_meeting_sees_a_changed_meeting(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    first = client.get_meeting(MeetingId=mid)["Meeting"]
    assert client.get_meeting(MeetingId=mid)["Meeting"] == first   # answered from the cache
    live = chime_meetings.meeting(mid)
    live.tenant_ids = ["tenant-a"]
    live.meeting_host_id = "host-1"
    again = client.get_meeting(MeetingId=mid)["Meeting"]
    assert again["TenantIds"] == ["tenant-a"] and again["MeetingHostId"] == "host-1"
    assert {k: v for k, v in again.items() if k not in ("TenantIds", "MeetingHostId")} == \
        {k: v for k, v in first.items() if k != "TenantIds"}
    live.external_meeting_id = "renamed"
    assert client.get_meeting(MeetingId=mid)["Meeting"]["ExternalMeetingId"] == "renamed"


def test_changed_features_change_meeting_and_new_attendees(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    before = client.create_attendee(MeetingId=mid, ExternalUserId="before")["Attendee"]
    assert before["Capabilities"] == caps()
    live = chime_meetings.meeting(mid)
    live.meeting_features = {"Video": {"MaxResolution": "None"}}
    assert client.get_meeting(MeetingId=mid)["Meeting"]["MeetingFeatures"] == {"Video": {"MaxResolution": "None"}}
    after = client.create_attendee(MeetingId=mid, ExternalUserId="after")["Attendee"]
    assert after["Capabilities"] == caps(video="Receive")
    batch = client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "b1"}])["Attendees"]
    assert batch[0]["Capabilities"] == caps(video="Receive")
    live.meeting_features = {"Video": {"MaxResolution": "None"}, "Content": {"MaxResolution": "None"}}
    last = client.create_attendee(MeetingId=mid, ExternalUserId="last")["Attendee"]
    assert last["Capabilities"] == caps(video="None", content="None")
    # the attendee made first keeps what it was given
    assert client.get_attendee(MeetingId=mid, AttendeeId=before["AttendeeId"])["Attendee"] == before


def test_tags_read_again_after_each_change(client):
    meeting = new_meeting(client, Tags=[{"Key": "a", "Value": "1"}])
    arn = meeting["MeetingArn"]
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "3"},
                                                                      {"Key": "b", "Value": "2"}]
    client.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    # the meeting itself (its cached answer) does not carry tags and is unchanged
    assert client.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"] == meeting


def test_capability_change_reaches_every_read_and_only_that_attendee(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    made = client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": f"u{k}"} for k in range(3)])
    one, two, three = (a["AttendeeId"] for a in made["Attendees"])
    listed = client.list_attendees(MeetingId=mid)["Attendees"]
    assert [a["Capabilities"] for a in listed] == [caps()] * 3
    changed = client.update_attendee_capabilities(MeetingId=mid, AttendeeId=two,
                                                  Capabilities=caps(video="Receive", content="None"))
    assert changed["Attendee"]["Capabilities"] == caps(video="Receive", content="None")
    assert client.get_attendee(MeetingId=mid, AttendeeId=two)["Attendee"]["Capabilities"] == \
        caps(video="Receive", content="None")
    listed = {a["AttendeeId"]: a["Capabilities"] for a in client.list_attendees(MeetingId=mid)["Attendees"]}
    assert listed == {one: caps(), two: caps(video="Receive", content="None"), three: caps()}
    client.batch_update_attendee_capabilities_except(MeetingId=mid, ExcludedAttendeeIds=[{"AttendeeId": one}],
                                                     Capabilities=caps(audio="Receive"))
    listed = {a["AttendeeId"]: a["Capabilities"] for a in client.list_attendees(MeetingId=mid)["Attendees"]}
    assert listed == {one: caps(), two: caps(audio="Receive"), three: caps(audio="Receive")}
    # an assignment from Python is seen by the next read too
    live = chime_meetings.meeting(mid).attendees[three]
    live.capabilities = caps(video="None", content="None")
    assert client.get_attendee(MeetingId=mid, AttendeeId=three)["Attendee"]["Capabilities"] == \
        caps(video="None", content="None")
    assert client.get_attendee(MeetingId=mid, AttendeeId=one)["Attendee"]["Capabilities"] == caps()


def test_the_journal_keeps_the_answer_it_gave(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    aid = client.create_attendee(MeetingId=mid, ExternalUserId="kept")["Attendee"]["AttendeeId"]
    client.update_attendee_capabilities(MeetingId=mid, AttendeeId=aid, Capabilities=caps(audio="Send"))
    created = chime_meetings.journal.calls("CreateAttendee")[-1].result
    assert created["Attendee"]["Capabilities"] == caps()
    created["Attendee"]["Capabilities"]["Audio"] = "None"     # a result is the caller's own copy
    assert chime_meetings.journal.calls("CreateAttendee")[-1].result["Attendee"]["Capabilities"] == caps()


def test_shared_capabilities_refuse_changes_in_place(chime_meetings):
    meeting = chime_meetings.add_meeting(external_meeting_id="shared")
    first = chime_meetings.add_attendee(meeting.meeting_id, "first")
    second = chime_meetings.add_attendee(meeting.meeting_id, "second")
    assert first.capabilities == second.capabilities == caps()
    with pytest.raises(TypeError, match="read-only"):
        first.capabilities["Video"] = "None"
    with pytest.raises(TypeError, match="read-only"):
        first.capabilities.update(Video="None")
    assert second.capabilities == caps()
    for copied in (dict(first.capabilities), copy.copy(first.capabilities), copy.deepcopy(first.capabilities),
                   pickle.loads(pickle.dumps(first.capabilities)), first.capabilities.copy()):
        assert type(copied) is dict and copied == caps()
        copied["Video"] = "None"           # a copy is the caller's own
    assert first.capabilities == caps()
    odd = {"Audio": SR, "Video": SR, "Content": SR, "Extra": "x"}
    assert shared_capabilities(odd) is odd      # not interned: kept as given
    assert isinstance(shared_capabilities(caps(video="Send")), Capabilities)


def test_paging_after_deletes_keeps_creation_order(client):
    mid = new_meeting(client)["MeetingId"]
    ids = [client.create_attendee(MeetingId=mid, ExternalUserId=f"p{k:02d}")["Attendee"]["AttendeeId"]
           for k in range(12)]
    for gone in (ids[0], ids[5], ids[11]):
        client.delete_attendee(MeetingId=mid, AttendeeId=gone)
    left = [a for a in ids if a not in (ids[0], ids[5], ids[11])]
    seen, token = [], None
    while True:
        page = client.list_attendees(MeetingId=mid, MaxResults=4, **({"NextToken": token} if token else {}))
        seen += [a["AttendeeId"] for a in page["Attendees"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == left
    again = client.create_attendee(MeetingId=mid, ExternalUserId="p00")["Attendee"]["AttendeeId"]
    assert [a["AttendeeId"] for a in client.list_attendees(MeetingId=mid, MaxResults=20)["Attendees"]] == left + [again]


@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
def test_one_draw_gives_the_ids_two_draws_gave(seed):
    one, two = IdGenerator(seed), IdGenerator(seed)
    for _ in range(20):
        attendee_id = two.attendee_id()
        assert one.attendee_credentials() == (attendee_id, two.join_token(attendee_id))
    assert one.uuid4() == two.uuid4()


@pytest.mark.parametrize("external_id", ["plain-user", 'quo"te\\back', "tab\there\nline", "café «x» ÿ", "emoji-😀",
                                         "ctl\x01\x1f", ""])
def test_attendee_lists_write_the_bytes_the_encoder_writes(external_id):
    import json

    from chime_mock.backend.state import AttendeeList
    from chime_mock.protocol.restjson import protocol

    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    items = AttendeeList([
        {"ExternalUserId": external_id, "AttendeeId": "a" * 36, "JoinToken": "T" * 98,
         "Capabilities": shared_capabilities(caps(video="Receive"))},
        {"ExternalUserId": external_id, "AttendeeId": "b" * 36, "JoinToken": "U" * 98,
         "Capabilities": {"Audio": SR, "Video": "None", "Content": "None"}},      # a plain dict (a restored one)
        {"ExternalUserId": external_id, "AttendeeId": "c" * 36},                 # not to_wire's shape: encoded as is
    ])
    assert items.wire_json() == encode(list(items))
    assert items.wire_json() == encode(list(items))      # again: the kept texts of the listed attendees
    wire = protocol().operations["ListAttendees"].serialize({"Attendees": items, "NextToken": "n"}, "rid")
    assert wire.body == encode({"Attendees": list(items), "NextToken": "n"}).encode()
    copied = copy.deepcopy(items)
    assert type(copied) is list and copied == list(items)
    assert pickle.loads(pickle.dumps(items)) == list(items)


def test_the_compact_writer_writes_what_the_json_module_writes():
    import json

    from chime_mock.ground.fastjson import dumps

    reference = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    values = [{"a": 1, "b": [1.5, None, True, False, 'x\u00e9"\\\n😀'], "c": {"d": -0.0, "e": 1e300, "f": 10 ** 30}},
              [], {}, "s", 'q"uote', 1, 1.1, None, True, [float("nan"), float("inf"), -float("inf")],
              {"k": "\x00\x1f\u2028"}, {1: "int key", None: 2, True: 3, 2.5: 4}]
    for value in values:
        assert dumps(value) == reference(value)
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_get_meeting_answers_in_the_journal_keep_what_was_answered(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    client.get_meeting(MeetingId=mid)
    chime_meetings.meeting(mid).tenant_ids = ["later"]
    client.get_meeting(MeetingId=mid)
    first, second = (call.result["Meeting"]["TenantIds"] for call in chime_meetings.journal.calls("GetMeeting"))
    assert (first, second) == ([], ["later"])
    # an upper-case MeetingId in the path reaches the same meeting and is journaled as sent
    client.get_meeting(MeetingId=mid.upper())
    assert chime_meetings.journal.calls("GetMeeting")[-1].params == {"MeetingId": mid.upper()}


def test_the_servers_lazy_headers_are_the_request_headers():
    from chime_mock.doors.server.app import EnvironHeaders, request_headers

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/meetings", "HTTP_HOST": "127.0.0.1:8080",
               "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/chime/aws4_request",
               "HTTP_X_AMZ_DATE": "20250101T000000Z", "HTTP_EMPTY": "", "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": "", "wsgi.url_scheme": "http"}
    lazy = EnvironHeaders(environ)
    assert dict(lazy) == request_headers(environ)
    assert len(lazy) == len(request_headers(environ))
    assert lazy.get("Authorization") == lazy.get("authorization") == environ["HTTP_AUTHORIZATION"]
    assert lazy["content-type"] == "application/json" and lazy.get("Content-Type") == "application/json"
    assert lazy.get("content-length") is None and "content-length" not in lazy   # empty: absent, as before
    assert lazy.get("empty") == "" and lazy.get("missing", "x") == "x"
    with pytest.raises(KeyError):
        lazy["x-missing"]


def test_a_listed_attendee_changed_from_python_is_listed_anew(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    aid = client.create_attendee(MeetingId=mid, ExternalUserId="before")["Attendee"]["AttendeeId"]
    assert [a["ExternalUserId"] for a in client.list_attendees(MeetingId=mid)["Attendees"]] == ["before"]
    live = chime_meetings.meeting(mid).attendees[aid]
    live.external_user_id = "after"
    live.capabilities = caps(audio="Receive")
    listed = client.list_attendees(MeetingId=mid)["Attendees"]
    assert [(a["ExternalUserId"], a["Capabilities"]) for a in listed] == [("after", caps(audio="Receive"))]


def test_get_attendee_read_again_after_each_change(client, chime_meetings):
    mid = new_meeting(client)["MeetingId"]
    made = client.create_attendee(MeetingId=mid, ExternalUserId="reader")["Attendee"]
    aid = made["AttendeeId"]
    first = client.get_attendee(MeetingId=mid, AttendeeId=aid)["Attendee"]
    assert client.get_attendee(MeetingId=mid, AttendeeId=aid)["Attendee"] == first == made   # kept text
    client.update_attendee_capabilities(MeetingId=mid, AttendeeId=aid, Capabilities=caps(content="None"))
    assert client.get_attendee(MeetingId=mid, AttendeeId=aid)["Attendee"]["Capabilities"] == caps(content="None")
    live = chime_meetings.meeting(mid).attendees[aid]
    live.external_user_id = "renamed-in-python"
    assert client.get_attendee(MeetingId=mid, AttendeeId=aid)["Attendee"]["ExternalUserId"] == "renamed-in-python"
    # what the journal kept of the answer copies and pickles as a plain dict
    kept = chime_meetings.journal.calls("GetAttendee")[-1].answer["Attendee"]
    assert type(copy.deepcopy(kept)) is dict and type(pickle.loads(pickle.dumps(kept))) is dict


@pytest.mark.parametrize("limit", [1, 3, 8, 50])
def test_a_limited_journal_shows_exactly_the_newest_calls_whatever_it_holds(limit):
    """``append`` drops calls over the limit in groups; every way of reading
    the journal sees exactly the newest ``limit`` calls and their positions."""
    from chime_mock.controls.journal import Call, Journal

    journal = Journal(limit=limit)
    made = []
    for k in range(limit * 3 + 7):
        call = Call("GetMeeting" if k % 3 else "CreateMeeting", {"k": k}, "us-east-1", "123456789012", f"r-{k}")
        made.append(call)
        journal.append(call)
        newest = made[-limit:]
        assert len(journal) == len(newest)
        assert list(journal) == newest and journal[:] == newest and journal[-1] is call and journal[0] is newest[0]
        assert journal.calls() == newest and journal.count("CreateMeeting") == sum(
            c.operation == "CreateMeeting" for c in newest)
        assert journal.dropped == len(made) - len(newest)
        page, _ = journal.page(0, size=1000)
        assert [position for position, _ in page] == list(range(len(made) - len(newest), len(made)))
        assert [c for _, c in journal.newest(limit + 5)] == newest
    journal.limit = 2
    kept = made[-min(limit, 2):]
    assert list(journal) == kept and journal.dropped == len(made) - len(kept)
    journal.clear()
    assert len(journal) == 0 and journal.dropped == len(made)
