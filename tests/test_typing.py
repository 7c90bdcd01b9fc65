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



def test_mistakes_in_controls_are_type_errors(tmp_path):
    """One mypy run over several mistakes (each on its own line)."""
    cases = [
        ('m.inject("ThrottlingException", tims=2)', 'Unexpected keyword argument "tims"'),
        ('m.inject("ThrottlingException", time=1)', 'Unexpected keyword argument "time"'),
        # shape members go in members={...} in the typed form
        ('m.inject("ResourceNotFoundException", ResourceName="arn")', 'Unexpected keyword argument "ResourceName"'),
        ('m.journal.calls(ok="yes")', 'Argument "ok"'),
        ('ChimeMeetingsMock(retry_delay=True)', 'Unexpected keyword argument "retry_delay"'),
    ]
    lines = ["from chime_mock import ChimeMeetingsMock, mock_chime_meetings", "",
             "def test_x() -> None:", "    with mock_chime_meetings() as m:"]
    first = len(lines) + 1
    lines += [f"        {call}" for call, _ in cases]
    lines += ['        m.inject("ResourceNotFoundException", members={"ResourceName": "arn"})']   # fine
    source = tmp_path / "mistake.py"
    source.write_text("\n".join(lines) + "\n")
    result = mypy(str(source))
    assert result.returncode == 1, result.stdout
    for offset, (call, expected) in enumerate(cases):
        reported = [line for line in result.stdout.splitlines() if line.startswith(f"{source}:{first + offset}:")]
        assert any(expected in line for line in reported), (call, result.stdout)
    assert f"{source}:{first + len(cases)}:" not in result.stdout
