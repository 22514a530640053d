"""The documentation: the site builds with warnings as errors, every Python
example in docs/ runs, and the README stays short and points into docs/."""
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_the_site_builds_strictly(tmp_path):
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                            str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                           timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert built.returncode == 0, built.stdout + built.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("gdfast.minimize", "gdfast.denoise", "gdfast.Adam", "gdfast.schedules"):
        assert f'id="{name}"' in api, name           # the reference is generated


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_python_example_of_a_page_runs(page, tmp_path, capsys, monkeypatch):
    """A page's ```python blocks run in order as one script, as a reader
    would paste them into a file (gdfast.cached_objective needs one), in a
    folder of their own (the files they write land there); ```text blocks
    are signatures and output."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    script = tmp_path / f"{page.stem.replace('-', '_')}_examples.py"
    script.write_text("\n".join(blocks))
    runpy.run_path(str(script), run_name="__main__")


def test_the_readme_is_short_and_its_links_into_docs_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links, "README points into docs/"
    for link in links:
        assert (ROOT / link).exists(), link
    assert "<!-- ci: test command" in text
