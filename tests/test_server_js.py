"""The AWS SDK for JavaScript v3 against a real ``chime-mock serve`` process.

``tests/js/chime_flow.mjs`` drives every operation of
``@aws-sdk/client-chime-sdk-meetings`` (pinned in ``tests/js/package.json``
and ``package-lock.json``) the way a Node meeting backend does, over
loopback, and exits non-zero naming the first check that failed.  The
packages are installed into ``tests/js/node_modules`` with ``npm ci`` the
first time (later runs need no network).  Skipped only where ``node`` or
``npm`` is not installed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"
PACKAGE = "@aws-sdk/client-chime-sdk-meetings"

NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="the JavaScript SDK test needs node and npm (Node.js >= 20); "
           f"not found on PATH: {', '.join(n for n, p in (('node', NODE), ('npm', NPM)) if p is None)}")


def _pinned_version() -> str:
    return json.loads((JS_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"][PACKAGE]


def _installed_version() -> str | None:
    manifest = JS_DIR / "node_modules" / Path(*PACKAGE.split("/")) / "package.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def _ensure_installed() -> None:
    """``npm ci`` into tests/js/node_modules unless the pinned version is there
    (under a file lock: pytest-xdist workers may get here together)."""
    if _installed_version() == _pinned_version():
        return
    lock_path = JS_DIR / ".npm-install.lock"
    with open(lock_path, "w") as lock:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        if _installed_version() == _pinned_version():
            return
        done = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--prefer-offline"],  # type: ignore[list-item]
            cwd=JS_DIR, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or _installed_version() != _pinned_version():
            pytest.fail(f"`npm ci` in {JS_DIR} failed (exit {done.returncode}); the JavaScript SDK "
                        f"{PACKAGE}@{_pinned_version()} is needed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def js_sdk() -> Path:
    _ensure_installed()
    return JS_DIR


def _run_flow(url: str, timeout: float = 120) -> subprocess.CompletedProcess:
    from chime_mock.doors.server.client import client_env

    env = client_env(url)  # fake credentials, the endpoint variable, no profile
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    env.update(CHIME_MOCK_ENDPOINT=url, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               NODE_NO_WARNINGS="1")
    return subprocess.run([NODE, "chime_flow.mjs"], cwd=JS_DIR, env=env,  # type: ignore[list-item]
                          capture_output=True, text=True, timeout=timeout)


def test_js_sdk_v3_flow_against_the_server(js_sdk, chime_meetings_server):
    done = _run_flow(chime_meetings_server.url)
    assert done.returncode == 0, f"chime_flow.mjs failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("chime_flow: ") and last.endswith("all passed"), done.stdout
    assert " 16 operations" in last, last


def test_js_flow_fails_loudly_when_the_server_is_wrong(js_sdk, tmp_path):
    """The script is a real check: against a server that is not chime_mock it
    exits non-zero with a FAIL line, not a pass."""
    import socket
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = _run_flow(f"http://127.0.0.1:{port}", timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL: " in done.stderr, done.stderr


def test_docs_javascript_example_runs_as_written(js_sdk, chime_meetings_server):
    """docs/server.md's ```js example, run by node next to the pinned SDK against the server."""
    import re
    from chime_mock.doors.server.client import client_env

    page = (JS_DIR.parent.parent / "docs" / "server.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```js\n(.*?)```", page, flags=re.S)
    assert blocks, "docs/server.md has no ```js example"
    script = JS_DIR / f"readme_example_{os.getpid()}.mjs"   # beside node_modules, so imports resolve
    script.write_text(blocks[0], encoding="utf-8")
    try:
        env = client_env(chime_meetings_server.url)
        env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, NODE_NO_WARNINGS="1")
        done = subprocess.run([NODE, script.name], cwd=JS_DIR, env=env,  # type: ignore[list-item]
                              capture_output=True, text=True, timeout=120)
    finally:
        script.unlink()
    assert done.returncode == 0, done.stdout + done.stderr
    assert chime_meetings_server.client.journal("BatchCreateAttendee")[0]["Status"] == 200
