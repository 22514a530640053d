"""kernels/ installs as gdfast.kernels and never as a top-level `kernels`."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code, cwd):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_installed_package_resolves_gdfast_kernels_only(tmp_path):
    """Run outside the repository, so only the installed package is seen."""
    ok = _python("from gdfast.kernels import adam_step; import gdfast.kernels as k;"
                 "print(k.__file__)", tmp_path)
    assert ok.returncode == 0, ok.stderr
    top = _python("import kernels", tmp_path)
    assert top.returncode != 0 and "No module named 'kernels'" in top.stderr


def test_wheel_holds_kernels_under_gdfast_only(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("gdfast", "kernels"):
        shutil.copytree(ROOT / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PIP_NO_INPUT": "1"})
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("gdfast-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gdfast/kernels/__init__.py" in names
    assert "gdfast/kernels/adaptive.py" in names
    assert "gdfast/reference.py" in names
    assert "gdfast/py.typed" in names                 # PEP 561: the hints are shipped
    # the tools' subpackages
    assert {"gdfast/bench/denoise.py", "gdfast/bench/command.py", "gdfast/cli/__init__.py",
            "gdfast/cli/image_files.py", "gdfast/cli/demo.py"} <= set(names)
    assert not any(n.startswith("kernels/") for n in names), names
    # every subpackage of gdfast/ (pyproject.toml lists them one by one: a new
    # one left out would be missing from `pip install .`, not from -e)
    for init in sorted(ROOT.glob("gdfast/*/__init__.py")):
        sub = init.parent.name
        if sub != "kernels":                      # the symlink of a worktree, if any
            assert f"gdfast/{sub}/__init__.py" in names, sub


def test_the_build_requirement_fits_the_metadata_syntax():
    """license = "MIT" (an SPDX expression) is understood from setuptools 77
    on; an older build backend rejects the project (pip install
    --no-build-isolation with setuptools 65 failed)."""
    import re
    import tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requires = " ".join(meta["build-system"]["requires"])
    if isinstance(meta["project"].get("license"), str):
        least = re.search(r"setuptools>=(\d+)", requires)
        assert least and int(least.group(1)) >= 77, requires
