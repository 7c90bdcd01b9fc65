"""The documentation site (mkdocs.yml, docs/): it builds in strict mode, every
page of its nav renders in a real browser, its examples run as written, and
the getting-started page's steps work for a newcomer.

The build is skipped where MkDocs is not installed (`pip install -e ".[docs]"`),
the browser check where Debian's `chromium` is not (`apt-get install chromium`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# ```python title="name.py"  -> a file of the getting-started project.
TITLED = re.compile(r'```python title="([^"]+)"\n(.*?)```', re.S)
UNTITLED = re.compile(r"```python\n(.*?)```", re.S)


def nav_pages() -> List[Tuple[str, str]]:
    """(title, file) of every page in mkdocs.yml's nav, in order."""
    yaml = pytest.importorskip("yaml")
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as handle:
        config = yaml.load(handle, Loader=yaml.SafeLoader)

    pages: List[Tuple[str, str]] = []

    def walk(items: list) -> None:
        for item in items:
            for title, target in item.items():
                if isinstance(target, list):
                    walk(target)
                else:
                    pages.append((title, target))
    walk(config["nav"])
    return pages


def test_every_docs_page_is_in_the_nav():
    """A page left out of the nav is unreachable on the site (strict mode also says so)."""
    listed = {name for _, name in nav_pages()}
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert listed <= on_disk, sorted(listed - on_disk)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs", reason='the docs build needs MkDocs: pip install -e ".[docs]"')
    pytest.importorskip("mkdocstrings", reason='the docs build needs mkdocstrings: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
                           "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return out


def test_site_builds_in_strict_mode(site):
    for _, name in nav_pages():
        assert (site / name.replace(".md", ".html")).is_file(), name
    api = (site / "api.html").read_text(encoding="utf-8")
    # The API reference is generated from the docstrings, not left empty.
    assert "mock_chime_meetings" in api and "inject" in api and "ServerProcess" in api


def test_strict_build_fails_on_a_broken_anchor(tmp_path):
    """The strict build is what catches a broken link: prove it does, on a copy."""
    pytest.importorskip("mkdocs", reason='the docs build needs MkDocs: pip install -e ".[docs]"')
    pytest.importorskip("mkdocstrings", reason='the docs build needs mkdocstrings: pip install -e ".[docs]"')
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    page = tmp_path / "docs" / "rules.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [D99](behaviour.md#d99).\n", encoding="utf-8")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "#d99" in done.stderr


class _Text(HTMLParser):
    """The <title> and the text of each <h1> of a rendered DOM."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1: List[str] = []
        self._in: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("title", "h1"):
            self._in.append(tag)
            if tag == "h1":
                self.h1.append("")

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        if not self._in:
            return
        if self._in[-1] == "title":
            self.title += data
        else:
            self.h1[-1] += data


def _first_heading(markdown: str) -> str:
    match = re.search(r"^# (.+)$", markdown, re.M)
    return match.group(1).strip() if match else ""


@pytest.mark.skipif(CHROMIUM is None, reason="the pages are opened in a real browser: Debian's `chromium` is "
                                             "not installed (apt-get install chromium)")
def test_each_nav_page_renders_its_title_in_chromium(site, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    def render(job: Tuple[int, str]) -> str:
        index, name = job
        url = (site / name.replace(".md", ".html")).as_uri()
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",  # type: ignore[list-item]
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / f'profile-{index}'}",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, (name, done.stderr[-2000:])
        return done.stdout

    pages = nav_pages()
    with ThreadPoolExecutor(max_workers=3) as pool:
        doms = list(pool.map(render, enumerate(name for _, name in pages)))
    for (title, name), dom in zip(pages, doms):
        page = _Text()
        page.feed(dom)
        # The browser's title is the nav title (the home page: the site name).
        expected_title = "chime_mock" if name == "index.md" else f"{title} - chime_mock"
        assert page.title.strip() == expected_title, (name, page.title)
        heading = _first_heading((DOCS / name).read_text(encoding="utf-8"))
        if heading:  # the page's own heading, rendered (the permalink sign follows it)
            assert any(h.strip().rstrip("\u00b6").strip() == heading.replace("`", "") for h in page.h1), \
                (name, heading, page.h1)
    assert {"getting-started.md", "behaviour.md", "api.md"} <= {name for _, name in pages}


def _clean_env(tmp_path: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTEST_ADDOPTS"}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    return env


def getting_started_project(where: Path) -> str:
    """Write the getting-started page's files into `where`; return its test command."""
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    files = TITLED.findall(text)
    assert [name for name, _ in files] == ["meetings.py", "test_meetings.py"]
    for name, body in files:
        (where / name).write_text(body, encoding="utf-8")
    commands = [line.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)
                for line in block.splitlines() if line.strip().startswith("python -m pytest")]
    assert commands == ["python -m pytest -q test_meetings.py"]
    return commands[0]


def test_getting_started_steps_run_as_written(tmp_path):
    """The page's project, in a directory of its own: its test command passes, three tests.
    (The install step itself is run against a built sdist by tests/test_packaging.py.)"""
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert "pip install /path/to/chime_mock\n" in text
    command = getting_started_project(tmp_path)
    # The project's test run, with this checkout importable as if installed and this
    # project's network guard beside it (a test that reached AWS would fail).
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    env = _clean_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    argv = [sys.executable] + command.split()[1:] + ["-p", "no:cacheprovider"]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b3 passed\b", done.stdout), done.stdout[-2000:]


def docs_python_blocks() -> List[Tuple[str, str]]:
    """(page, code) of every untitled ```python block of the docs (titled ones are files
    of the getting-started project, run above)."""
    blocks = []
    for page in sorted(DOCS.glob("*.md")):
        for code in UNTITLED.findall(page.read_text(encoding="utf-8")):
            blocks.append((page.stem, code))
    return blocks


def test_docs_examples_run(tmp_path):
    """Each ```python block of the docs becomes a test module (module-level code runs on
    import; its test functions and TestCase classes run as tests) in a fresh pytest process."""
    blocks = docs_python_blocks()
    assert len(blocks) >= 14
    for index, (page, code) in enumerate(blocks):
        stem = re.sub(r"\W", "_", page)
        (tmp_path / f"test_docs_{stem}_{index}.py").write_text(code, encoding="utf-8")
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    env = _clean_env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Every module was collected (an import error would be an error, not a pass).
    assert not re.search(r"\berror", done.stdout.splitlines()[-1]), done.stdout[-2000:]
    assert re.search(r"\d+ passed", done.stdout)
