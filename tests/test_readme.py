"""The README's Python examples run and do what they say."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_kernel_example_runs_and_converges(capsys):
    blocks = [b for b in python_blocks() if "fit_rows" in b]
    assert len(blocks) == 1
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    err = np.abs(namespace["X"] - namespace["targets"]).max()
    assert err < 1e-12
    assert float(capsys.readouterr().out) == err
