"""The source distribution is complete: the test suite runs from it, the
documentation builds from it, and its long description reads the same on a
package index.  The sdist is built offline from this checkout
(`python -m build --sdist --no-isolation`) and installed, offline too, into a
fresh virtual environment, where the getting-started page's project runs
against the installed package and the sdist's own tests run."""
from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import List, Set

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    pytest.importorskip("build", reason='building the sdist needs `build` (pip install -e ".[test]")')
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--skip-dependency-check",
                           "--outdir", str(out), str(ROOT)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [archive] = out.glob("*.tar.gz")
    return archive


def _names(archive: Path) -> Set[str]:
    with tarfile.open(archive) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}


def _tracked(*folders: str) -> List[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return []
    done = subprocess.run(["git", "ls-files", "--", *folders], cwd=ROOT, capture_output=True, text=True)
    return [line for line in done.stdout.splitlines() if line] if done.returncode == 0 else []


def test_sdist_carries_tests_docs_changelog_and_examples(sdist):
    names = _names(sdist)
    assert sdist.name == "chime-mock-0.2.0.tar.gz" or sdist.name == "chime_mock-0.2.0.tar.gz", sdist.name
    for required in ["README.md", "CHANGELOG.md", "LICENSE", "mkdocs.yml", "pyproject.toml", "setup.cfg",
                     "conftest.py", "tests/__init__.py", "tests/conftest.py", "tests/helpers.py",
                     "tests/test_docs.py", "tests/test_packaging.py", "tests/typed/user_tests.py",
                     "tests/js/package.json", "tests/js/package-lock.json", "tests/js/chime_flow.mjs",
                     "docs/index.md", "docs/getting-started.md", "docs/behaviour.md", "docs/css/pygments.css",
                     "examples/demo.py", "chime_mock/py.typed", "chime_mock/doors/server/dashboard.html"]:
        assert required in names, required
    assert not [n for n in names if "node_modules" in n or "__pycache__" in n or n.endswith(".pyc")]
    # Every tracked file of these folders is in it (a new test helper cannot be forgotten).
    missing = [f for f in _tracked("tests", "docs", "examples", "chime_mock", "bench") if f not in names]
    assert not missing, missing


def _pkg_info(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        handle = tar.extractfile(member)
        assert handle is not None
        return handle.read().decode("utf-8")


def test_long_description_has_no_relative_links(sdist):
    """On a package index a relative link points nowhere: the long description has none."""
    info = _pkg_info(sdist)
    assert "Description-Content-Type: text/markdown" in info
    assert "## Quick start" in info
    targets = re.findall(r"\]\(([^)]*)\)", info) + re.findall(r'(?:href|src)="([^"]*)"', info)
    relative = [t for t in targets if not re.match(r"(https?:|mailto:)", t)]
    assert not relative, relative


def test_twine_check_passes(sdist):
    if not _importable("twine"):
        pytest.skip("twine is not installed here (pip install twine)")
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED" in done.stdout


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def _clean_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


@pytest.fixture(scope="module")
def installed(sdist, tmp_path_factory):
    """A fresh virtual environment with the sdist installed (offline, no dependencies): its
    dependencies come from this environment's site-packages, listed after its own."""
    pytest.importorskip("wheel", reason="installing offline with setuptools < 70.1 needs `wheel`")
    where = tmp_path_factory.mktemp("venv")
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    parents = [p for p in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(p)]
    Path(own, "_parent_env.pth").write_text("\n".join(parents) + "\n", encoding="utf-8")
    env = _clean_env(where)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--no-build-isolation", str(sdist)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return python, env


def test_installed_sdist_is_the_package_imported(installed):
    python, env = installed
    done = subprocess.run([str(python), "-c", "import chime_mock, sys; print(chime_mock.__file__); "
                           "print(chime_mock.__version__)"], cwd="/", env=env, capture_output=True, text=True)
    where, version = done.stdout.split()
    assert Path(where).is_relative_to(python.parent.parent), where
    assert version == "0.2.0"
    cli = subprocess.run([str(python.parent / "chime-mock"), "--version"], env=env, capture_output=True, text=True)
    assert cli.returncode == 0 and cli.stdout.strip() == "chime-mock 0.2.0", cli.stdout + cli.stderr
    assert (Path(where).parent / "py.typed").is_file()


def test_getting_started_project_passes_against_the_installed_sdist(installed, tmp_path):
    """The getting-started page's project, with the package installed from the sdist (as its
    step 1 says) and nothing else on the path."""
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from test_docs import getting_started_project
    finally:
        sys.path.pop(0)
    python, env = installed
    project = tmp_path / "project"
    project.mkdir()
    command = getting_started_project(project)
    argv = [str(python)] + command.split()[1:] + ["-p", "no:cacheprovider"]
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b3 passed\b", done.stdout), done.stdout[-2000:]


def test_sdist_test_suite_runs_from_the_unpacked_sdist(installed, sdist, tmp_path):
    """Unpack the sdist and run a part of its own suite there: conftest.py, tests/conftest.py
    and tests/helpers.py are all needed for these to be collected."""
    python, env = installed
    with tarfile.open(sdist) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(tmp_path, **safe)  # type: ignore[arg-type]
    [unpacked] = [p for p in tmp_path.iterdir() if p.is_dir()]
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_readme.py", "tests/test_controls.py"],
                          cwd=unpacked, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 10, done.stdout[-2000:]
