"""The public API is typed: a user's test module passes ``mypy --strict``, and a
misspelt keyword of ``mock_chime_meetings`` is a type error."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")


def mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--config-file", os.path.join(REPO, "setup.cfg"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_a_user_module_using_every_entry_point_type_checks():
    result = mypy(os.path.join(HERE, "typed", "user_tests.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_misspelt_keyword_is_a_type_error(tmp_path):
    source = tmp_path / "typo.py"
    source.write_text("from chime_mock import mock_chime_meetings\n\n"
                      "@mock_chime_meetings(sed=1)\n"
                      "def test_x() -> None:\n"
                      "    pass\n")
    result = mypy(str(source))
    assert result.returncode == 1
    # mypy names the keyword, or (older releases, with overloads) says no variant fits
    assert ('Unexpected keyword argument "sed"' in result.stdout
            or 'No overload variant of "mock_chime_meetings"' in result.stdout), result.stdout
    assert "typo.py:3:" in result.stdout


@pytest.mark.parametrize("call, name", [
    ('m.inject("ThrottlingException", tims=2)', "tims"),
    ('m.inject("ThrottlingException", time=1)', "time"),
    ('m.inject("ResourceNotFoundException", ResourceName="arn")', "ResourceName"),   # shape members: members={...}
    ('m.journal.calls(ok="yes")', None),
    ('m.add_meeting(externalMeetingId="x")', None),   # add_meeting's fields are **kwargs: a runtime check
])
def test_mistakes_in_controls_are_type_errors(tmp_path, call, name):
    source = tmp_path / "mistake.py"
    source.write_text("from chime_mock import mock_chime_meetings\n\n"
                      "def test_x() -> None:\n"
                      "    with mock_chime_meetings() as m:\n"
                      f"        {call}\n")
    result = mypy(str(source))
    if call.startswith("m.add_meeting"):
        assert result.returncode == 0, result.stdout
        return
    assert result.returncode == 1, result.stdout
    assert "mistake.py:5:" in result.stdout
    if name is not None:
        assert f'Unexpected keyword argument "{name}"' in result.stdout, result.stdout
    else:
        assert 'Argument "ok"' in result.stdout, result.stdout
