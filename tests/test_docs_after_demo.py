"""The README's and the quickstart's examples run after ``complaint-flow demo``, and again.

A newcomer runs the demo, which fills ``complaints.db`` in the current
directory, then pastes the README's example or follows the quickstart in the
same directory. Sybil runs every page in a scratch directory of its own (see
the root ``conftest.py``), so only this test proves that the examples do not
depend on what the demo — or their own previous run — left in that directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import complaint_flow
from complaint_flow import Engine

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "docs" / "quickstart.md"]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)

# The console script as installed, wherever its `main` lives: `python -m
# complaint_flow.cli` runs nothing (the module has no `__main__` guard).
ENTRY_POINT = (
    "import sys; from importlib.metadata import entry_points; "
    "[script] = entry_points(group='console_scripts', name='complaint-flow'); "
    "sys.argv[0] = 'complaint-flow'; sys.exit(script.load()())"
)


def demo_command() -> list[str]:
    """``complaint-flow demo``: the script beside this Python or on PATH, else its entry point."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    script = shutil.which("complaint-flow", path=search)
    if script is not None:
        return [script, "demo"]
    return [sys.executable, "-c", ENTRY_POINT, "demo"]


def python_blocks(page: Path) -> list[str]:
    return PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.fixture
def after_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory in which ``complaint-flow demo`` has run, as the current directory."""
    # The subprocess imports the complaint_flow under test, not another installed copy.
    source = str(Path(complaint_flow.__file__).resolve().parent.parent)
    paths = [source, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("COMPLAINT_FLOW_STORE", None)
    done = subprocess.run(
        demo_command(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The premise: the demo filled ./complaints.db, the file a newcomer's examples meet.
    with Engine.open(f"sqlite:///{tmp_path}/complaints.db", load_entry_points=False) as demo:
        assert len(demo.find()) >= 5
        assert any(complaint.reference.endswith("-000001") for complaint in demo.find())
    monkeypatch.chdir(tmp_path)
    # The examples' fresh files (tempfile.mkdtemp()) go where pytest cleans up.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return tmp_path


def run_page(page: Path) -> None:
    """Run the page's python blocks in order, in one namespace, as a reader would."""
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python example"
    namespace: dict[str, object] = {"__name__": f"example_{page.stem}"}
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{page.name} python block {number}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"{page.name}, python block {number} raised {error!r} after the demo")


def test_the_readme_and_the_quickstart_run_after_the_demo_and_again(after_the_demo: Path) -> None:
    for page in [*PAGES, *PAGES]:
        run_page(page)
    assert (after_the_demo / "complaints.db").exists()


def test_the_pages_still_tell_where_the_default_store_keeps_complaints() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "Engine.open()" in text, page.name
        assert "complaints.db" in text, page.name
