"""Logging under the ``chime_mock`` logger: each answered call at DEBUG,
activation and faults at INFO, nothing by default."""
from __future__ import annotations

import logging
import subprocess
import sys

import boto3
from botocore.config import Config

from chime_mock import mock_chime_meetings

NO_RETRY = Config(retries={"max_attempts": 0, "mode": "standard"})


def test_each_call_is_logged_at_debug_with_operation_status_region_and_request_id(caplog):
    caplog.set_level(logging.DEBUG, logger="chime_mock")
    with mock_chime_meetings(account_id="111122223333") as m:
        client = boto3.client("chime-sdk-meetings", region_name="eu-central-1", config=NO_RETRY)
        meeting = client.create_meeting(ClientRequestToken="tok-log", MediaRegion="eu-central-1",
                                        ExternalMeetingId="logged")["Meeting"]
        try:
            client.get_meeting(MeetingId="0f8e2c1a-5b7d-4e21-9c3f-6a1b2c3d2713")
        except client.exceptions.NotFoundException:
            pass
        m.inject("ThrottlingException", "GetMeeting")
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and r.name == "chime_mock"]
    first, second = m.journal[0], m.journal[1]
    assert f"CreateMeeting 111122223333/eu-central-1 -> 200 {first.request_id}" in debug
    assert any(line.startswith("GetMeeting 111122223333/eu-central-1 -> 404 NotFoundException")
               and line.endswith(second.request_id) for line in debug)
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name == "chime_mock"]
    assert any(line.startswith("chime_mock active") for line in info)
    assert any(line.startswith("fault added") and "ThrottlingException" in line for line in info)
    assert "chime_mock stopped" in info
    assert meeting["MeetingId"]


def test_silent_by_default():
    code = ("import boto3, chime_mock\n"
            "with chime_mock.mock_chime_meetings():\n"
            "    boto3.client('chime-sdk-meetings', region_name='us-east-1').create_meeting(\n"
            "        ClientRequestToken='tok-1', MediaRegion='us-east-1', ExternalMeetingId='quiet')\n")
    # -W ignore: libraries' own warnings (e.g. boto3's Python-version notice) are not logging
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
