"""Server mode against browsers, hostile snapshots, slow readers and long runs
(issue 17): each test names the item it guards."""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from urllib.parse import urlsplit

import boto3
import pytest

from chime_mock import ChimeService
from chime_mock.controls.journal import Journal
from chime_mock.doors.server.app import make_app
from chime_mock.doors.server.client import ServerProcess
from tests.helpers import read_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- helpers ---------------------------------------------------------------------------------
def wsgi(app, method, path, body=None, headers=None):
    """One request straight to the WSGI app: (status, json or text)."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    headers = {"Host": "127.0.0.1:4666", **(headers or {})}
    if data is not None and "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    path_only, _, query = path.partition("?")
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path_only, "QUERY_STRING": query,
               "REQUEST_URI": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "4666",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data or b""),
               "CONTENT_LENGTH": str(len(data or b""))}
    for name, value in headers.items():
        if value is None:
            continue
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    got = {}

    def start_response(status, response_headers):
        got["status"] = int(status.split()[0])

    payload = b"".join(app(environ, start_response))
    try:
        return got["status"], json.loads(payload)
    except ValueError:
        return got["status"], payload.decode("utf-8", "replace")


@pytest.fixture
def app():
    return make_app(ChimeService(account_id="123456789012", default_region="us-east-1"))


def serve(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "chime_mock", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, **kwargs)


def start_error(*args, timeout=60):
    """Start a server expected to refuse: (exit code, stderr)."""
    process = serve(*args)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("the server started (or hung) instead of refusing")
    error = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    return code, error


def one_line_error(code, error):
    assert code == 2, (code, error)
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, error


def boto(url):
    return boto3.client("chime-sdk-meetings", region_name="us-east-1", endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def raw_exchange(url, data, read_timeout=30.0):
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        return read_until(sock, b"\r\n\r\n")


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# -- 1. browsers -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/_chime_mock/state", "/_chime_mock/snapshot", "/_chime_mock/health"])
def test_1_foreign_host_cannot_read_the_control_api(app, path):
    status, answer = wsgi(app, "GET", path, headers={"Host": "attacker.example:4666"})
    assert status == 403 and answer["Code"] == "Forbidden" and "attacker.example" in answer["Message"]


def test_1_foreign_host_cannot_call_the_api(app):
    status, answer = wsgi(app, "POST", "/meetings", {"ClientRequestToken": "t" * 8, "MediaRegion": "us-east-1",
                                                      "ExternalMeetingId": "rebound"},
                          headers={"Host": "rebind.attacker.example"})
    assert status == 403
    assert app.service.meetings() == []


@pytest.mark.parametrize("host", ["127.0.0.1:4666", "localhost:4666", "[::1]:4666", "LOCALHOST", "localhost.:1"])
def test_1_loopback_hosts_are_answered(app, host):
    assert wsgi(app, "GET", "/_chime_mock/health", headers={"Host": host})[0] == 200


def test_1_aws_endpoint_names_reach_the_api_only(app):
    host = "meetings-chime.eu-central-1.amazonaws.com"
    status, _ = wsgi(app, "GET", "/meetings/0f0f0f0f-0000-4000-8000-000000000000", headers={"Host": host})
    assert status == 404           # the API answered (NotFound), it did not refuse the Host
    assert wsgi(app, "GET", "/_chime_mock/state", headers={"Host": host})[0] == 403


def test_1_allowed_hosts_option():
    app = make_app(ChimeService(), allowed_hosts=["chime.test"])
    assert wsgi(app, "GET", "/_chime_mock/health", headers={"Host": "chime.test:80"})[0] == 200
    assert wsgi(app, "GET", "/_chime_mock/health", headers={"Host": "other.test"})[0] == 403
    with pytest.raises(ValueError, match="allowed_hosts"):
        make_app(ChimeService(), allowed_hosts=["bad/host"])


def test_1_foreign_origin_cannot_reset(app):
    app.service.add_meeting(external_meeting_id="keep-me")
    for path, body in (("/_chime_mock/reset", None), ("/_chime_mock/faults", {"Error": "ThrottlingException"}),
                       ("/_chime_mock/clock", {"Advance": 5})):
        status, answer = wsgi(app, "POST", path, body, headers={"Origin": "https://evil.example"})
        assert status == 403 and answer["Code"] == "Forbidden", (path, answer)
    assert wsgi(app, "DELETE", "/_chime_mock/journal", headers={"Origin": "null"})[0] == 403
    assert len(app.service.meetings()) == 1 and len(app.service.faults) == 0
    # the dashboard's own origin keeps working
    assert wsgi(app, "POST", "/_chime_mock/reset", headers={"Origin": "http://127.0.0.1:4666"})[0] == 200
    assert app.service.meetings() == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_1_control_posts_need_json(app, content_type):
    app.service.add_meeting(external_meeting_id="keep-me")
    status, answer = wsgi(app, "POST", "/_chime_mock/reset", b"{}", headers={"Content-Type": content_type})
    assert status == 415 and answer["Code"] == "UnsupportedMediaType"
    status, _ = wsgi(app, "POST", "/_chime_mock/snapshot", b'{"chime_mock_snapshot": 1}',
                     headers={"Content-Type": content_type})
    assert status == 415
    assert len(app.service.meetings()) == 1
    json_utf8 = {"Content-Type": "application/json; charset=utf-8"}
    assert wsgi(app, "POST", "/_chime_mock/reset", b"{}", headers=json_utf8)[0] == 200


def test_1_server_refuses_foreign_host_and_origin(tmp_path):
    with ServerProcess(["--allow-host", "chime.test"]) as server:
        server.client.add_meeting(ExternalMeetingId="survivor")
        port = urlsplit(server.url).port
        text_post = (f"POST /_chime_mock/reset HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n"
                     f"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi").encode()
        assert raw_exchange(server.url, text_post).startswith(b"HTTP/1.1 403")
        rebound = f"GET /_chime_mock/snapshot HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n"
        assert raw_exchange(server.url, rebound.encode()).startswith(b"HTTP/1.1 403")
        allowed = f"GET /_chime_mock/health HTTP/1.1\r\nHost: chime.test:{port}\r\nConnection: close\r\n\r\n"
        assert raw_exchange(server.url, allowed.encode()).startswith(b"HTTP/1.1 200")
        assert len(server.client.meetings()) == 1
        # the SDKs, which send Host 127.0.0.1:PORT, are not affected
        assert boto(server.url).list_attendees(MeetingId=server.client.meetings()[0]["MeetingId"])["Attendees"] == []


# -- 2. the ID generator -----------------------------------------------------------------------
def _snapshot_with_words(words, position=624):
    service = ChimeService(seed=1)
    snap = service.snapshot()
    snap["ids"] = [3, list(words) + [position], None]
    return snap


@pytest.mark.parametrize("words", [[0] * 624, [2 ** 32 + 5] * 624, [-1] * 624, [2 ** 70] + [1] * 623])
def test_2_degenerate_generator_state_is_refused(words):
    service = ChimeService()
    service.add_meeting(external_meeting_id="before")
    with pytest.raises(ValueError, match="ids"):
        service.restore(_snapshot_with_words(words))
    assert [m.external_meeting_id for m in service.meetings()] == ["before"]
    app = make_app(ChimeService())
    status, answer = wsgi(app, "POST", "/_chime_mock/snapshot", _snapshot_with_words(words))
    assert status == 400 and "ids" in answer["Message"]


def test_2_an_identifier_in_use_is_never_handed_out():
    service = ChimeService(seed=7)
    rng_state = service.ids._rng.getstate()
    first = service.add_meeting(external_meeting_id="first", ClientRequestToken="token-first")
    attendee_state = service.ids._rng.getstate()
    one = service.add_attendee(first.meeting_id, "one")
    service.ids._rng.setstate(rng_state)           # the generator repeats itself
    second = service.add_meeting(external_meeting_id="second", ClientRequestToken="token-second")
    assert second.meeting_id != first.meeting_id
    assert {m.external_meeting_id for m in service.meetings()} == {"first", "second"}
    service.ids._rng.setstate(attendee_state)
    two = service.add_attendee(first.meeting_id, "two")
    assert two.attendee_id != one.attendee_id
    assert len(service.meeting(first.meeting_id).attendees) == 2


# -- 3/4/8. the state file ---------------------------------------------------------------------
def test_3_second_server_on_one_state_file_refuses(tmp_path):
    state = tmp_path / "state.json"
    with ServerProcess(["--state", str(state)]):
        code, error = start_error("--state", str(state))
        one_line_error(code, error)
        assert "in use" in error and "--state" in error


def test_4_periodic_save_survives_kill_9(tmp_path):
    state = tmp_path / "state.json"
    stale = tmp_path / ".state.json.chime_mock-tmp-abc.json"
    stale.write_text("{partial")
    server = ServerProcess(["--state", str(state), "--save-interval", "0.3"])
    try:
        assert not stale.exists()                   # what an interrupted save left is cleaned up
        meeting_id = server.client.add_meeting(ExternalMeetingId="kept")["MeetingId"]
        assert wait_for(lambda: state.exists() and meeting_id in state.read_text())
        server.process.kill()
        server.process.wait()
    finally:
        server.stop()
    with ServerProcess(["--state", str(state)]) as again:
        assert [m["MeetingId"] for m in again.client.meetings()] == [meeting_id]


def test_4_save_keeps_mode_and_symlink(tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    with ServerProcess(["--state", str(real)]) as server:
        server.client.add_meeting(ExternalMeetingId="one")
    os.chmod(real, 0o640)
    os.symlink(real, link)
    with ServerProcess(["--state", str(link)]) as server:
        server.client.add_meeting(ExternalMeetingId="two")
    assert os.path.islink(link) and os.readlink(link) == str(real)
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert "two" in real.read_text()
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real.json"]


def test_8_state_folder_gone_at_stop_is_one_line(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    process = serve("--state", str(folder / "state.json"), "--save-interval", "0")
    try:
        assert process.stdout.readline().startswith("chime_mock listening on")
        for name in os.listdir(folder):
            os.unlink(folder / name)
        folder.rmdir()
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        error = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert code != 0 and "Traceback" not in error
    assert "could not save the state" in error and len(error.strip().splitlines()) == 1, error


# -- 5. what the server saves, it loads --------------------------------------------------------
def test_5_state_saved_past_the_clock_limit_loads_again():
    now = [253402300799.5]
    service = ChimeService(clock=lambda: now[0])
    service.add_meeting(external_meeting_id="late")
    now[0] += 0.9                                     # the clock runs on past year 9999
    service.add_meeting(external_meeting_id="later")
    again = ChimeService()
    again.restore(json.loads(json.dumps(service.snapshot())))
    assert {m.external_meeting_id for m in again.meetings()} == {"late", "later"}


# -- 6/7. hostile documents ----------------------------------------------------------------------
def _deep(depth):
    value = {"Audio": {"EchoReduction": "AVAILABLE"}}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_6_deep_snapshot_is_a_400_not_a_500(app):
    service = ChimeService()
    service.add_meeting(external_meeting_id="deep")
    snap = service.snapshot()
    snap["regions"][0]["meetings"][0]["meeting_features"] = _deep(500)
    status, answer = wsgi(app, "POST", "/_chime_mock/snapshot", json.dumps(snap).encode())
    assert status == 400 and "deeper" in answer["Message"]
    with pytest.raises(ValueError, match="deeper"):
        ChimeService().restore(snap)


@pytest.mark.parametrize("content", ["[" * 100000, None], ids=["100000-brackets", "negative-words"])
def test_6_hostile_state_files_are_one_line(tmp_path, content):
    state = tmp_path / "state.json"
    if content is None:
        snap = ChimeService().snapshot()
        snap["ids"] = [3, [-5] * 624 + [624], None]
        content = json.dumps(snap)
    state.write_text(content)
    one_line_error(*start_error("--state", str(state)))


def test_6_non_regular_state_paths_are_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, error = start_error("--state", str(fifo), timeout=30)
    one_line_error(code, error)
    assert "regular file" in error
    code, error = start_error("--state", "/dev/zero", timeout=30)
    one_line_error(code, error)


def test_7_deep_fault_match_is_refused(app):
    body = b'{"Error": "NotFoundException", "Match": {"MeetingId": ' + b'{"x": ' * 980 + b'1' + b"}" * 982
    status, answer = wsgi(app, "POST", "/_chime_mock/faults", body)
    assert status == 400 and "deeper" in answer["Message"]
    assert wsgi(app, "GET", "/_chime_mock/faults")[0] == 200


# -- 9/10. bounded answers and journal -------------------------------------------------------
def test_9_journal_is_paged(app):
    for _ in range(250):
        wsgi(app, "GET", "/meetings/0f0f0f0f-0000-4000-8000-000000000000")
    status, first = wsgi(app, "GET", "/_chime_mock/journal")
    assert status == 200 and len(first["calls"]) == 100 and first["NextCursor"]
    seen = list(first["calls"])
    answer = first
    while "NextCursor" in answer:
        answer = wsgi(app, "GET", f"/_chime_mock/journal?limit=60&cursor={answer['NextCursor']}")[1]
        assert len(answer["calls"]) <= 60
        seen.extend(answer["calls"])
    assert len(seen) == 250 and len({c["RequestId"] for c in seen}) == 250
    newest = wsgi(app, "GET", "/_chime_mock/journal?last=3")[1]["calls"]
    assert [c["RequestId"] for c in newest] == [c["RequestId"] for c in seen[-3:]]
    assert wsgi(app, "GET", "/_chime_mock/journal?limit=100000")[0] == 400


def test_9_state_and_faults_are_paged(app):
    for index in range(130):
        app.service.add_meeting(external_meeting_id=f"m-{index:03d}")
        app.service.inject("NotFoundException", "GetMeeting", times=None)
    answer = wsgi(app, "GET", "/_chime_mock/state")[1]
    names = [m["ExternalMeetingId"] for m in answer["meetings"]]
    assert len(names) == 100 and "NextCursor" in answer
    answer = wsgi(app, "GET", f"/_chime_mock/state?cursor={answer['NextCursor']}")[1]
    names += [m["ExternalMeetingId"] for m in answer["meetings"]]
    assert names == [f"m-{i:03d}" for i in range(130)] and "NextCursor" not in answer
    faults = wsgi(app, "GET", "/_chime_mock/faults?limit=70")[1]
    rest = wsgi(app, "GET", f"/_chime_mock/faults?cursor={faults['NextCursor']}")[1]
    assert len(faults["faults"]) + len(rest["faults"]) == 130


def test_9_client_follows_pages():
    with ServerProcess() as server:
        for index in range(105):
            server.client.add_meeting(ExternalMeetingId=f"m-{index:03d}")
        assert len(server.client.meetings()) == 105


def test_9_answers_are_bounded_in_bytes(app):
    for _ in range(5):
        app.service.inject("NotFoundException", "GetMeeting", times=None, message="x" * 600_000)
    answer = wsgi(app, "GET", "/_chime_mock/faults")[1]
    assert 1 <= len(answer["faults"]) < 5 and "NextCursor" in answer


def test_9_readers_that_never_read_do_not_freeze_the_server():
    with ServerProcess(["--threads", "2", "--idle-timeout", "2"]) as server:
        for _ in range(2):
            server.client.inject("NotFoundException", "GetMeeting", times=None, message="m" * 900_000)
        parts = urlsplit(server.url)
        stuck = []
        for _ in range(4):     # more stalled clients than workers, each with 40 pipelined reads
            sock = socket.create_connection((parts.hostname, parts.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(f"GET /_chime_mock/faults HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\n\r\n".encode() * 40)
            stuck.append(sock)
        try:
            time.sleep(1)
            answer = raw_exchange(server.url, f"GET /_chime_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              f"Connection: close\r\n\r\n".encode(), read_timeout=60)
            assert answer.startswith(b"HTTP/1.1 200")
        finally:
            for sock in stuck:
                sock.close()


def test_10_journal_is_bounded():
    journal = Journal(limit=3)
    app = make_app(ChimeService())
    app.service.journal.limit = 3
    for _ in range(5):
        assert wsgi(app, "GET", "/meetings/0f0f0f0f-0000-4000-8000-000000000000")[0] == 404
    assert len(app.service.journal) == 3 and app.service.journal.dropped == 2
    with pytest.raises(ValueError, match="journal_limit"):
        journal.limit = 0
    with ServerProcess(["--journal-limit", "4"]) as server:
        client = boto(server.url)
        for _ in range(7):
            client.list_attendees(MeetingId=server.client.add_meeting()["MeetingId"])
        assert len(server.client.journal()) == 4


# -- 11. idle connections -------------------------------------------------------------------
def test_11_idle_connections_are_closed():
    with ServerProcess(["--idle-timeout", "1"]) as server:
        parts = urlsplit(server.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
            assert sock.recv(1) == b""      # the server closed it (the timeout would raise)


# -- 12. integers ----------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["limit=%C2%B2%C2%B2", "limit=99999999999999999999", "limit=%D9%A3", "last=%D9%A3",
                                   "cursor=%C2%B2"])
def test_12_query_integers_are_ascii_and_bounded(app, query):
    status, answer = wsgi(app, "GET", f"/_chime_mock/journal?{query}")
    assert status == 400 and answer["Code"] == "BadRequest"


def test_12_times_is_bounded(app):
    body = b'{"Error": "ThrottlingException", "Times": 1' + b"0" * 400 + b"}"
    status, answer = wsgi(app, "POST", "/_chime_mock/faults", body)
    assert status == 400 and "Times" in answer["Message"] and "0" * 50 not in answer["Message"]
    assert len(app.service.faults) == 0


# -- 13. unknown fields ----------------------------------------------------------------------
def test_13_unknown_fields_are_refused(app):
    meeting = app.service.add_meeting(external_meeting_id="meeting")
    attendee = app.service.add_attendee(meeting.meeting_id, "attendee-a")
    base = f"/_chime_mock/meetings/{meeting.meeting_id}"
    for path, body in (("/_chime_mock/clock", {"Advance": 1, "Speed": 2}),
                       (f"{base}/attendees", {"ExternalUserId": "attendee-b", "Extra": "x" * 1000}),
                       (f"{base}/attendees/{attendee.attendee_id}/connected", {"Connected": True, "When": 1}),
                       ("/_chime_mock/reset", {"Everything": True})):
        status, answer = wsgi(app, "POST", path, body)
        assert status == 400, (path, answer)
        assert "unknown field" in answer["Message"], answer
    snap = app.service.snapshot()
    snap["unexpected"] = 1
    status, answer = wsgi(app, "POST", "/_chime_mock/snapshot", snap)
    assert status == 400 and "unexpected" in answer["Message"]
    assert len(app.service.meeting(meeting.meeting_id).attendees) == 1


@pytest.mark.parametrize("version", [1.0, True])
def test_13_snapshot_format_must_be_the_integer_1(version):
    snap = ChimeService().snapshot()
    snap["chime_mock_snapshot"] = version
    with pytest.raises(ValueError, match="format 1"):
        ChimeService().restore(snap)


# -- 14/15. the client and 100-continue ---------------------------------------------------------
def test_14_server_process_closes_its_log():
    server = ServerProcess()
    server.stop()
    assert server._log.closed
    assert "Traceback" not in server.log()


def test_15_expect_continue_over_the_limit_is_refused_at_once():
    with ServerProcess(["--max-body", "1000"]) as server:
        port = urlsplit(server.url).port
        request = (f"POST /meetings HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n").encode()
        answer = raw_exchange(server.url, request)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
