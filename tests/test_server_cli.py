"""``chime-mock serve`` as a process: its URL line, clean stop, --state, argument
errors, loopback binding; and the AWS CLI (``aws`` processes) against it."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from chime_mock.doors.server.client import ServerProcess, client_env
from tests.helpers import read_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _aws_cli():
    """The ``aws`` next to this Python first (a virtual environment's), else on PATH."""
    here = os.path.dirname(sys.executable)
    return shutil.which("aws", path=here + os.pathsep + os.environ.get("PATH", ""))


AWS = _aws_cli()
# A service error ends the CLI with 254 in AWS CLI v2 and 255 in v1 (awscli from PyPI).
SERVICE_ERROR_EXIT = (254, 255)
needs_aws = pytest.mark.skipif(AWS is None, reason="the AWS CLI (pip install awscli) is not installed")


def serve(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-m", "chime_mock", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, **kwargs)


def first_line(process):
    line = process.stdout.readline().rstrip("\n")
    assert line.startswith("chime_mock listening on http://"), (line, process.stderr.read())
    return line[len("chime_mock listening on "):]


# -- the process -------------------------------------------------------------------------------
def test_url_line_and_clean_stop_on_sigint():
    process = serve("--port", "0")
    url = first_line(process)
    host, port = urlsplit(url).hostname, urlsplit(url).port
    assert host == "127.0.0.1" and port > 0
    with socket.create_connection((host, port), timeout=5):
        pass
    process.send_signal(signal.SIGINT)
    assert process.wait(15) == 0
    assert "Traceback" not in process.stderr.read()


def test_sigterm_answers_the_request_under_way():
    process = serve("--port", "0")
    url = urlsplit(first_line(process))
    body = b'{"ClientRequestToken":"tt","MediaRegion":"us-east-1","ExternalMeetingId":"late"}'
    with socket.create_connection((url.hostname, url.port), timeout=15) as sock:
        sock.sendall(b"POST /meetings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:20])
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert process.poll() is None, "the server quit with a request under way"
        sock.sendall(body[20:])
        answer = read_until(sock, b"late")
    assert answer.startswith(b"HTTP/1.1 200") and b'"ExternalMeetingId":"late"' in answer
    assert process.wait(15) == 0
    # and it no longer accepts connections
    with pytest.raises(OSError):
        socket.create_connection((url.hostname, url.port), timeout=2).close()


def test_state_file_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    with ServerProcess(["--state", str(state)]) as first:
        meeting = first.client.add_meeting(ExternalMeetingId="persisted", Tags=[{"Key": "k", "Value": "v"}])
        mid = meeting["MeetingId"]
        for i in range(12):
            first.client.add_attendee(mid, f"user-{i:02d}")
        import boto3
        chime = boto3.client("chime-sdk-meetings", endpoint_url=first.url, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing")
        token = chime.list_attendees(MeetingId=mid)["NextToken"]
        assert first.stop() == 0
    saved = json.loads(state.read_text())
    assert saved["chime_mock_snapshot"] == 1
    assert not [p for p in os.listdir(tmp_path) if p != "state.json"]     # no temporary file left
    with ServerProcess(["--state", str(state)]) as second:
        restored = second.client.meeting(mid)
        assert restored["Tags"] == {"k": "v"} and len(restored["Attendees"]) == 12
        chime = boto3.client("chime-sdk-meetings", endpoint_url=second.url, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing")
        page = chime.list_attendees(MeetingId=mid, NextToken=token)   # a token from before the restart
        assert [a["ExternalUserId"] for a in page["Attendees"]] == ["user-10", "user-11"]
        chime.delete_meeting(MeetingId=mid)
    with ServerProcess(["--state", str(state)]) as third:
        assert third.client.meetings() == []


def test_unusable_state_file_is_an_argument_error(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"chime_mock_snapshot": 1, "regions": "nope"}')
    process = serve("--port", "0", "--state", str(state))
    assert process.wait(30) == 2
    error = process.stderr.read()
    assert "--state" in error and "token_secret" in error or "regions" in error


@pytest.mark.parametrize("args, named", [
    (["--port", "70000"], "--port"),
    (["--port", "x"], "--port"),
    (["--account-id", "123"], "--account-id"),
    (["--quotas", "lots"], "--quotas"),
    (["--max-body", "0"], "--max-body"),
    (["--seed", "abc"], "--seed"),
    (["--region", "Mars"], "--region"),
    (["--bogus"], "--bogus"),
    (["--state", "/proc/no-such-folder/state.json"], "--state"),   # refused at start, not at stop
])
def test_argument_errors_name_the_argument(args, named):
    process = serve(*args)
    assert process.wait(30) == 2
    assert named in process.stderr.read()


def test_port_in_use_is_reported():
    with ServerProcess() as running:
        process = serve("--port", str(urlsplit(running.url).port))
        assert process.wait(30) == 1
        assert "cannot listen" in process.stderr.read()


def test_binds_loopback_unless_told_otherwise():
    with ServerProcess() as process:
        assert urlsplit(process.url).hostname == "127.0.0.1"
        assert "other machines" not in process.log()
    with ServerProcess(["--host", "0.0.0.0"]) as process:   # explicit: all interfaces, with a warning
        assert urlsplit(process.url).hostname == "0.0.0.0"
        assert "other machines can reach this server" in process.log()
        loopback = process.url.replace("0.0.0.0", "127.0.0.1")
        from chime_mock.doors.server.client import ChimeMockClient
        assert ChimeMockClient(loopback).health()["status"] == "ok"


def test_console_script_and_module_help():
    done = subprocess.run([sys.executable, "-m", "chime_mock", "serve", "--help"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert done.returncode == 0 and "--state FILE" in done.stdout and "--max-body" in done.stdout
    script = shutil.which("chime-mock", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    if script is not None:  # installed (pip install -e .): the console script is the same command
        done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "serve" in done.stdout


def test_pytest_fixture_resets_between_tests(tmp_path):
    (tmp_path / "test_with_server.py").write_text("""
import subprocess, sys

def test_one(chime_meetings_server):
    chime_meetings_server.client.add_meeting(ExternalMeetingId="one")
    assert len(chime_meetings_server.client.meetings()) == 1

def test_two(chime_meetings_server, chime_meetings_server_process):
    assert chime_meetings_server is chime_meetings_server_process      # one process per session
    assert chime_meetings_server.client.meetings() == []               # reset before each test
    env = chime_meetings_server.env
    assert env["AWS_ENDPOINT_URL_CHIME_SDK_MEETINGS"] == chime_meetings_server.url
    assert "AWS_PROFILE" not in env and env["AWS_EC2_METADATA_DISABLED"] == "true"
    code = ("import boto3; c = boto3.client('chime-sdk-meetings'); print(c.create_meeting("
            "ClientRequestToken='xx', MediaRegion='us-east-1', ExternalMeetingId='sub')['Meeting']['MeetingId'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert [m["MeetingId"] for m in chime_meetings_server.client.meetings()] == [out.stdout.strip()]
""")
    shutil.copy(os.path.join(ROOT, "conftest.py"), tmp_path / "conftest.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    plugin = [] if _plugin_installed() else ["-p", "chime_mock.activation.pytest_plugin"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout


def _plugin_installed():
    from importlib.metadata import entry_points
    try:
        found = entry_points(group="pytest11")
    except TypeError:  # Python 3.9
        found = entry_points().get("pytest11", [])
    return any(e.value == "chime_mock.activation.pytest_plugin" for e in found)


# -- the AWS CLI -------------------------------------------------------------------------------
def aws(server, *args, account="testing", region="us-east-1", check=True):
    env = client_env(server.url, region=region, access_key_id=account)
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run([AWS, "chime-sdk-meetings", *args, "--output", "json"], env=env,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None
    return done


@needs_aws
def test_every_cli_command(chime_meetings_server):
    server = chime_meetings_server
    meeting = aws(server, "create-meeting", "--client-request-token", "cli-1", "--media-region", "us-east-1",
                  "--external-meeting-id", "cli", "--tags", "Key=team,Value=a")["Meeting"]
    mid, arn = meeting["MeetingId"], meeting["MeetingArn"]
    assert aws(server, "get-meeting", "--meeting-id", mid)["Meeting"] == meeting
    both = aws(server, "create-meeting-with-attendees", "--client-request-token", "cli-2", "--media-region",
               "eu-west-2", "--external-meeting-id", "cli2", "--attendees", "ExternalUserId=first")
    assert both["Attendees"][0]["ExternalUserId"] == "first"
    alice = aws(server, "create-attendee", "--meeting-id", mid, "--external-user-id", "alice")["Attendee"]
    batch = aws(server, "batch-create-attendee", "--meeting-id", mid, "--attendees",
                "ExternalUserId=bob", "ExternalUserId=carol")
    assert [a["ExternalUserId"] for a in batch["Attendees"]] == ["bob", "carol"]
    assert aws(server, "get-attendee", "--meeting-id", mid, "--attendee-id", alice["AttendeeId"])["Attendee"] == alice
    caps = "Audio=SendReceive,Video=None,Content=None"
    updated = aws(server, "update-attendee-capabilities", "--meeting-id", mid, "--attendee-id",
                  alice["AttendeeId"], "--capabilities", caps)["Attendee"]
    assert updated["Capabilities"] == {"Audio": "SendReceive", "Video": "None", "Content": "None"}
    aws(server, "batch-update-attendee-capabilities-except", "--meeting-id", mid, "--capabilities", caps,
        "--excluded-attendee-ids", f"AttendeeId={alice['AttendeeId']}")
    listed = aws(server, "list-attendees", "--meeting-id", mid)["Attendees"]
    assert {a["Capabilities"]["Video"] for a in listed} == {"None"} and len(listed) == 3
    aws(server, "start-meeting-transcription", "--meeting-id", mid, "--transcription-configuration",
        '{"EngineTranscribeSettings": {"LanguageCode": "en-US"}}')
    assert server.client.meeting(mid)["Transcription"]["EngineTranscribeSettings"] == {"LanguageCode": "en-US"}
    aws(server, "stop-meeting-transcription", "--meeting-id", mid)
    aws(server, "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=dev")
    aws(server, "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
    assert aws(server, "list-tags-for-resource", "--resource-arn", arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    aws(server, "delete-attendee", "--meeting-id", mid, "--attendee-id", alice["AttendeeId"])
    aws(server, "delete-meeting", "--meeting-id", mid)
    from chime_mock.service.pipeline import protocol
    assert {c["Operation"] for c in server.client.journal()} == set(protocol().operations)


@needs_aws
def test_cli_errors_and_exit_codes(chime_meetings_server):
    server = chime_meetings_server
    missing = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    done = aws(server, "get-meeting", "--meeting-id", missing, check=False)
    assert done.returncode in SERVICE_ERROR_EXIT, done.returncode
    assert (f"An error occurred (NotFoundException) when calling the GetMeeting operation: "
            f"Meeting <{missing}> not found") in done.stderr
    mid = server.client.add_meeting()["MeetingId"]
    done = aws(server, "create-attendee", "--meeting-id", mid, "--external-user-id", "aws:reserved", check=False)
    assert done.returncode in SERVICE_ERROR_EXIT and "An error occurred (BadRequestException)" in done.stderr
    server.client.inject("ServiceUnavailableException", "GetMeeting", times=None, retry_after=0)
    done = subprocess.run([AWS, "chime-sdk-meetings", "get-meeting", "--meeting-id", mid],
                          env=dict(client_env(server.url), AWS_MAX_ATTEMPTS="2", AWS_CONFIG_FILE=os.devnull,
                                   AWS_SHARED_CREDENTIALS_FILE=os.devnull),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in SERVICE_ERROR_EXIT and "(ServiceUnavailableException)" in done.stderr
    unavailable = [c for c in server.client.journal("GetMeeting") if c["Error"] == "ServiceUnavailableException"]
    assert len(unavailable) == 2       # the CLI retried once, as configured
    done = aws(server, "get-meeting", check=False)                # a missing required argument
    assert done.returncode in (2, 252) and "--meeting-id" in done.stderr   # usage error: v1 2, v2 252


@needs_aws
def test_cli_accounts_and_regions(chime_meetings_server):
    server = chime_meetings_server
    meeting = aws(server, "create-meeting", "--client-request-token", "acct-1", "--media-region", "eu-central-1",
                  "--external-meeting-id", "acct", account="111122223333", region="eu-central-1")["Meeting"]
    assert meeting["MeetingArn"].split(":")[3:5] == ["eu-central-1", "111122223333"]
    done = aws(server, "get-meeting", "--meeting-id", meeting["MeetingId"], account="444455556666",
               region="eu-central-1", check=False)
    assert done.returncode in SERVICE_ERROR_EXIT and "NotFoundException" in done.stderr


@needs_aws
def test_getting_started_steps_as_separate_processes(chime_meetings_server, tmp_path):
    """The getting-started walk-through of the service's docs, each step its own
    ``aws`` process in a shell script sharing only the server: create a meeting
    with features, tag it, read it back, add an attendee, list attendees, and
    delete the meeting on exit."""
    script = tmp_path / "walkthrough.sh"
    script.write_text(r"""set -euo pipefail
trap 'aws chime-sdk-meetings delete-meeting --meeting-id "$MID" >/dev/null' EXIT
OUT=$(aws chime-sdk-meetings create-meeting --client-request-token "tok-$$" --media-region us-east-1 \
      --external-meeting-id "walk-$$" --output json \
      --meeting-features '{"Audio":{"EchoReduction":"AVAILABLE"},"Video":{"MaxResolution":"HD"},"Content":{"MaxResolution":"FHD"},"Attendee":{"MaxCount":10}}')
MID=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Meeting"]["MeetingId"])')
ARN=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Meeting"]["MeetingArn"])')
aws chime-sdk-meetings tag-resource --resource-arn "$ARN" --tags Key=step,Value=walkthrough
test "$(aws chime-sdk-meetings get-meeting --meeting-id "$MID" --query Meeting.MeetingId --output text)" = "$MID"
AID=$(aws chime-sdk-meetings create-attendee --meeting-id "$MID" --external-user-id "walker-$$" \
      --query Attendee.AttendeeId --output text)
aws chime-sdk-meetings list-attendees --meeting-id "$MID" --query 'Attendees[].AttendeeId' --output text \
    | grep -q "$AID"
echo "meeting=$MID attendee=$AID"
""")
    env = dict(chime_meetings_server.env, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               PATH=os.path.dirname(AWS) + os.pathsep + os.environ["PATH"])
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("meeting=")
    calls = chime_meetings_server.client.journal()
    assert [(c["Operation"], c["Status"]) for c in calls] == [
        ("CreateMeeting", 200), ("TagResource", 204), ("GetMeeting", 200), ("CreateAttendee", 200),
        ("ListAttendees", 200), ("DeleteMeeting", 204)]
    assert chime_meetings_server.client.meetings() == []
    assert calls[0]["Params"]["MeetingFeatures"]["Attendee"] == {"MaxCount": 10}
