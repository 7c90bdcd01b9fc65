"""Fidelity tests: ListAttendees paging (D15), through real boto3 clients with
the hand-written NextToken loop real backends use (boto3 ships no paginator
for this service, §3 [local]).

``Dn`` = decision n of docs/behaviour.md (anchor ``#dn``); ``§x.y`` = an
evidence section, located by the table at the end of docs/behaviour.md.
"""
from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError

from tests.helpers import (
    RAW, assert_valid_output, expect_error, unchanged,
)


def meeting_with(client, n, token="tok-1"):
    """A meeting with ``n`` attendees created in a known order; returns (id, [ids])."""
    mid = client.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1",
                                ExternalMeetingId="paging")["Meeting"]["MeetingId"]
    ids = []
    # Mixed creation paths: the order is creation order whatever the call.
    for start in range(0, n, 7):
        chunk = [f"user-{i:03d}" for i in range(start, min(start + 7, n))]
        if (start // 7) % 2:
            ids += [client.create_attendee(MeetingId=mid, ExternalUserId=u)["Attendee"]["AttendeeId"] for u in chunk]
        else:
            out = client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": u} for u in chunk])
            ids += [a["AttendeeId"] for a in out["Attendees"]]
    return mid, ids


def page(client, mid, **kw):
    resp = client.list_attendees(MeetingId=mid, **kw)
    assert_valid_output("ListAttendees", resp)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    return resp


def walk(client, mid, **kw):
    """The usual hand-written loop; returns the pages as lists of AttendeeIds."""
    pages, token = [], None
    while True:
        resp = page(client, mid, **({"NextToken": token} if token else {}), **kw)
        pages.append([a["AttendeeId"] for a in resp["Attendees"]])
        token = resp.get("NextToken")
        if not token:
            return pages
        assert len(pages) < 100, "paging does not end"


def test_default_page_size_is_10(client, chime_meetings):
    """D15 (the service's default is [unknown], §3): without MaxResults a page holds 10
    attendees; the order is creation order; the last page has no NextToken."""
    mid, ids = meeting_with(client, 25)
    pages = walk(client, mid)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == ids


@pytest.mark.parametrize("n,size,shape", [
    (0, None, [0]), (1, None, [1]), (10, None, [10]), (11, None, [10, 1]), (20, 10, [10, 10]),
    (7, 1, [1] * 7), (250, 100, [100, 100, 50]), (100, 100, [100]), (30, 7, [7, 7, 7, 7, 2]),
])
def test_pages_and_last_page_has_no_token(client, chime_meetings, n, size, shape):
    """D15 + §3 [model] (MaxResults 1-100): pages of MaxResults items in creation order,
    no NextToken on the last page (also when the count divides evenly: no empty trailing
    page), no NextToken for an empty meeting."""
    mid, ids = meeting_with(client, n)
    kw = {"MaxResults": size} if size else {}
    pages = walk(client, mid, **kw)
    assert [len(p) for p in pages] == shape
    assert sum(pages, []) == ids


def test_listed_attendees_are_full_objects(client, chime_meetings):
    """§4.4 [doc]: ListAttendees lists created, non-deleted attendees with their IDs,
    ExternalUserId and Capabilities as CreateAttendee returned them."""
    mid = client.create_meeting(ClientRequestToken="tok-1", MediaRegion="us-east-1",
                                ExternalMeetingId="m1")["Meeting"]["MeetingId"]
    created = [client.create_attendee(MeetingId=mid, ExternalUserId=f"u-{i}")["Attendee"] for i in range(3)]
    listed = page(client, mid)["Attendees"]
    for got, want in zip(listed, created):
        assert {k: got[k] for k in ("AttendeeId", "ExternalUserId", "Capabilities")} == {
            k: want[k] for k in ("AttendeeId", "ExternalUserId", "Capabilities")}
    assert len(listed) == 3


@pytest.mark.parametrize("value", [101, 1000, 0, -1])
def test_max_results_out_of_range_is_bad_request(chime_meetings, make_client, value):
    """§3 [model] (ResultMax 1-100), §7 [local] (botocore sends 101 unchecked, rejects 0
    client-side), D4/D10: out of range -> BadRequestException 400 naming maxResults."""
    client = make_client(config=RAW)
    mid, _ = meeting_with(client, 3)
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.list_attendees(MeetingId=mid, MaxResults=value)
    assert "maxResults" in expect_error(ei, "BadRequestException")


def test_token_from_another_meeting_is_bad_request(client, chime_meetings):
    """D15: the NextToken is bound to its meeting; using it on another -> 400."""
    mid_a, _ = meeting_with(client, 15, token="tok-a")
    mid_b, _ = meeting_with(client, 15, token="tok-b")
    token_a = page(client, mid_a)["NextToken"]
    with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
        client.list_attendees(MeetingId=mid_b, NextToken=token_a)
    expect_error(ei, "BadRequestException")
    assert len(page(client, mid_a, NextToken=token_a)["Attendees"]) == 5


def _flip(token: str, index: int) -> str:
    ch = token[index]
    return token[:index] + ("B" if ch != "B" else "C") + token[index + 1:]


def test_forged_or_garbled_tokens_are_bad_request(client, chime_meetings):
    """D15: a NextToken the service did not hand out (made up, truncated, altered,
    re-encoded, or carrying another meeting's ID) -> BadRequestException 400."""
    mid, _ = meeting_with(client, 25)
    real = page(client, mid)["NextToken"]
    forged = [
        "abc", "x" * 200, "////", "not a token", "%00", real[:-3], real + "AAAA", _flip(real, 0),
        _flip(real, len(real) // 2), _flip(real, len(real) - 1), real[::-1],
        base64.urlsafe_b64encode(f"{mid}:10".encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(f"{mid}:10:forgedsignature".encode()).decode().rstrip("="),
        base64.b64encode(b"\xff\xfe\xfd\x00").decode(), "é-token",
    ]
    for token in forged:
        if token == real:
            continue
        with unchanged(chime_meetings), pytest.raises(ClientError) as ei:
            client.list_attendees(MeetingId=mid, NextToken=token)
        expect_error(ei, "BadRequestException")


def test_overlong_token_is_bad_request(client, chime_meetings):
    """§3 [model] (NextToken String max 4096), D4: a longer token -> 400."""
    mid, _ = meeting_with(client, 3)
    with pytest.raises(ClientError) as ei:
        client.list_attendees(MeetingId=mid, NextToken="A" * 4097)
    expect_error(ei, "BadRequestException")


def test_deletes_between_pages_neither_repeat_nor_skip(client, chime_meetings):
    """D15: attendees deleted between pages neither repeat nor shift others out: every
    attendee that lives through the walk is listed exactly once, in creation order,
    including when the attendee the token points after is deleted."""
    mid, ids = meeting_with(client, 30)
    first = page(client, mid)
    seen = [a["AttendeeId"] for a in first["Attendees"]]
    assert seen == ids[:10]
    # delete: two already seen (one of them the last of the page), and two not yet seen
    deleted = {ids[3], ids[9], ids[10], ids[17]}
    for aid in deleted:
        client.delete_attendee(MeetingId=mid, AttendeeId=aid)
    token = first["NextToken"]
    while token:
        resp = page(client, mid, NextToken=token)
        seen += [a["AttendeeId"] for a in resp["Attendees"]]
        token = resp.get("NextToken")
    assert len(seen) == len(set(seen))
    assert seen == ids[:10] + [i for i in ids[10:] if i not in deleted]


def test_deleting_everything_left_ends_the_walk(client, chime_meetings):
    """D15: when every attendee after the token is deleted, the next page is empty and
    carries no NextToken."""
    mid, ids = meeting_with(client, 12)
    first = page(client, mid)
    for aid in ids[10:]:
        client.delete_attendee(MeetingId=mid, AttendeeId=aid)
    last = page(client, mid, NextToken=first["NextToken"])
    assert last["Attendees"] == [] and "NextToken" not in last


def test_attendees_added_during_walk_come_last(client, chime_meetings):
    """D15 (stable creation order): attendees created mid-walk appear after the existing
    ones, once; the same token can be used again and gives the same page."""
    mid, ids = meeting_with(client, 15)
    first = page(client, mid)
    late = client.create_attendee(MeetingId=mid, ExternalUserId="latecomer")["Attendee"]["AttendeeId"]
    second = page(client, mid, NextToken=first["NextToken"])
    assert [a["AttendeeId"] for a in second["Attendees"]] == ids[10:] + [late]
    assert "NextToken" not in second
    assert page(client, mid, NextToken=first["NextToken"])["Attendees"] == second["Attendees"]


def test_d2_replays_do_not_change_order(client, chime_meetings):
    """D2 + D15: re-creating an existing ExternalUserId adds nobody and moves nobody."""
    mid, ids = meeting_with(client, 12)
    client.create_attendee(MeetingId=mid, ExternalUserId="user-000")
    client.batch_create_attendee(MeetingId=mid, Attendees=[{"ExternalUserId": "user-005"}])
    assert sum(walk(client, mid), []) == ids


def test_list_on_unknown_or_deleted_meeting_not_found(client, chime_meetings):
    """§4.4 [inferred]: ListAttendees on an unknown or deleted meeting -> NotFoundException,
    also with a NextToken that meeting once handed out."""
    mid, _ = meeting_with(client, 15)
    token = page(client, mid)["NextToken"]
    client.delete_meeting(MeetingId=mid)
    for kw in ({}, {"NextToken": token}):
        with pytest.raises(ClientError) as ei:
            client.list_attendees(MeetingId=mid, **kw)
        expect_error(ei, "NotFoundException")
