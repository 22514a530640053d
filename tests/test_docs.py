"""The documentation: the site builds with warnings as errors (Sphinx,
docs/conf.py: numpydoc's check that every argument of the reference is
documented included), every Python example in docs/ and the README runs and
prints what its comments say, every Examples section of a public docstring
runs as a doctest, and the README stays short and points into docs/.

What an example's comment promises, and how it is checked
---------------------------------------------------------
Every ``print(...)`` in a ```python block ends with a comment, and what the
call printed (every line, if it runs more than once) is compared with it:

- each *number* of the comment must be printed, in the comment's order, to
  the precision it is written with: ``0.161`` is any printed value that
  rounds to 0.161, ``102`` is 102, ``[-2.5]`` is -2.5. After the word
  ``about``, the rest of the comment's numbers may be off by one unit of
  their last digit: ``about 1e-14`` is 0 to 2e-14, ``about [1.39 -3.93
  1.90]`` 1.38 to 1.40, then -3.94 to -3.92, then 1.89 to 1.91;
- each *value word* must be printed too, in order among the numbers: True,
  False, None and the statuses of gdfast.Status (gtol, ftol, max_iter, ...);
- every other word or sign is the reader's gloss and is not compared
  (``# 22 iterations, 33.7 dB`` checks 22 and 33.7; ``->`` is prose);
- a comment that starts with such a word (``# numpy.polyfit's
  coefficients, ...``) describes the output instead of stating it, and is
  not compared.

So ``print(res.nopython, res.status)   # True gtol`` fails when the run
prints ``True max_iter``. Printed values may carry more digits and more
values than the comment names (``gtol 3283 [ 1.39170542 ...]`` satisfies
``# gtol, a few thousand iterations, about [1.39 -3.93 1.90]``).
"""
import ast
import doctest
import inspect
import io
import re
import runpy
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

import gdfast

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
VALUE_WORDS = {"True", "False", "None"} | {status.value for status in gdfast.Status}
TOKEN = re.compile(r"(?P<word>[A-Za-z_][\w'-]*(?:\.[A-Za-z_][\w'-]*)*)"
                   r"|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def test_the_site_builds_strictly(tmp_path):
    built = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                            "-b", "dirhtml", "docs", str(tmp_path / "site")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("gdfast.minimize", "gdfast.denoise", "gdfast.Adam", "module-gdfast.schedules",
                 "gdfast.kernels.adam_step", "gdfast.dask.denoise", "gdfast.cached_objective"):
        assert f'id="{name}"' in api, name           # the reference is generated
    assert 'id="kernels.' not in api                 # the kernels under their public name
    minimize = api[api.index('id="gdfast.minimize"'):api.index('id="gdfast.minimize_batch"')]
    assert "Parameters" in minimize and "Returns" in minimize and "Raises" in minimize
    assert "field-list" in minimize                  # numpydoc's sections, one entry a name
    for page in ("minimize", "denoising", "design", "kernels"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page


def public_objects():
    """(name, object) of every function and class the API reference shows."""
    import gdfast.dask
    modules = [gdfast.schedules, gdfast.images, gdfast.checkpoint, gdfast.problems]
    found = {f"gdfast.{n}": getattr(gdfast, n) for n in gdfast.__all__}
    found.update({f"gdfast.kernels.{n}": getattr(gdfast.kernels, n)
                  for n in gdfast.kernels.__all__})
    found.update({f"gdfast.dask.{n}": getattr(gdfast.dask, n) for n in gdfast.dask.__all__})
    for module in modules:
        found[module.__name__] = module
        found.update({f"{module.__name__}.{n}": v for n, v in vars(module).items()
                      if not n.startswith("_") and getattr(v, "__module__", None)
                      == module.__name__})
    return found


def docstring_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests, seen = {}, set()
    for name, obj in public_objects().items():
        if id(obj) in seen:                         # gdfast.estimate_sigma is images'
            continue
        seen.add(id(obj))
        if inspect.ismodule(obj):
            if name not in ("gdfast.schedules", "gdfast.images", "gdfast.checkpoint",
                            "gdfast.problems"):
                continue
        elif not callable(obj):                     # RULES, __version__: data
            continue
        for test in finder.find(obj, name, module=False, globs={}):
            if test.examples and test.name not in tests:
                tests[test.name] = test
    return sorted(tests.values(), key=lambda t: t.name)


EXAMPLES = docstring_examples()


def test_the_reference_has_examples_to_run():
    names = {t.name for t in EXAMPLES}
    assert {"gdfast.minimize", "gdfast.denoise", "gdfast.Optimizer"} <= names, names


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_every_docstring_example_runs_and_prints_what_it_shows(test, tmp_path, monkeypatch):
    """A public docstring's Examples section is a doctest: its output is
    compared as printed (whitespace normalised)."""
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    result = runner.run(test, out=out.write)
    assert result.failed == 0, out.getvalue()


def promised(comment):
    """The checks of a print's comment, in order: ('word', w, None) or
    ('number', value, tolerance); [] for a comment that describes its
    output in words (it starts with a word that is not a value)."""
    checks, about = [], False
    for token in TOKEN.finditer(comment):
        word, number = token.group("word"), token.group("number")
        if word is not None and word == "about":
            about = True
        elif word is not None and word in VALUE_WORDS:
            checks.append(("word", word, None))
        elif word is not None and not checks and not about:
            return []
        elif number is not None:
            mantissa, _, exponent = number.lower().partition("e")
            decimals = len(mantissa.partition(".")[2])
            unit = 10.0 ** (int(exponent or 0) - decimals)
            checks.append(("number", float(number), unit if about else unit / 2))
    return checks


def printed_tokens(text):
    return [("word", t.group("word")) if t.group("word") is not None
            else ("number", float(t.group("number"))) for t in TOKEN.finditer(text)]


def mismatch(comment, text):
    """None when the printed text keeps the comment's promises, else the
    first promise it breaks."""
    tokens = iter(printed_tokens(text))
    for kind, value, tolerance in promised(comment):
        for got_kind, got in tokens:
            if got_kind == kind and (got == value if kind == "word" else
                                     abs(got - value) <= tolerance * (1 + 1e-9)):
                break
        else:
            return f"{value!r}" + ("" if tolerance is None else f" (within {tolerance:g})")
    return None


def test_the_comparison_of_output_and_comment_can_fail():
    assert mismatch("True gtol", "True gtol") is None
    assert mismatch("True gtol", "True max_iter") == "'gtol'"
    assert mismatch("0.1 0.161 102", "0.1 0.161 103") == "102.0 (within 0.5)"
    assert mismatch("20.0 -> 39.3 dB", "20.0 39.34") is None
    assert mismatch("about 1e-14", "3.552713678800501e-15") is None
    assert mismatch("about 1e-14", "2.5e-14") is not None
    assert mismatch("gtol, a few thousand iterations, about [1.39 -3.93 1.90]",
                    "gtol 3283 [ 1.39170542 -3.92721829  1.90000113]") is None
    assert mismatch("about [1.39 -3.93 1.90]", "[1.39 -3.95 1.90]") == "-3.93 (within 0.01)"
    assert mismatch("max_iter 30 5 (24, 64, 64)", "max_iter 30 5 (24, 64)") is not None
    assert mismatch("numpy.polyfit's coefficients: the same to 1e-8", "[1.39 -3.93]") is None


def print_comments(script):
    """{(first line, last line): comment} of every print(...) call of the script."""
    comments = {t.start[0]: t.string.lstrip("#").strip()
                for t in tokenize.generate_tokens(io.StringIO(script).readline)
                if t.type == tokenize.COMMENT}
    calls = {}
    for node in ast.walk(ast.parse(script)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "print"):
            lines = range(node.lineno, node.end_lineno + 1)
            said = [comments[n] for n in lines if n in comments]
            assert said, f"line {node.lineno}: a print(...) without a comment of its output"
            calls[node.lineno, node.end_lineno] = said[-1]
    return calls


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_python_example_of_a_page_runs_and_prints_what_it_says(page, tmp_path,
                                                                       monkeypatch):
    """A page's ```python blocks run in order as one script, as a reader
    would paste them into a file (gdfast.cached_objective needs one), in a
    folder of their own (the files they write land there); ```text blocks
    are signatures and output. Each print's output is held to its comment
    (the module's docstring)."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    script = tmp_path / f"{page.stem.replace('-', '_')}_examples.py"
    script.write_text("\n".join(blocks))
    comments = print_comments(script.read_text())
    printed = {span: [] for span in comments}

    def recording_print(*values, sep=" ", end="\n", file=None, flush=False):
        print(*values, sep=sep, end=end, file=file, flush=flush)
        line = sys._getframe(1).f_lineno
        spans = [s for s in comments if s[0] <= line <= s[1]]
        if file in (None, sys.stdout) and spans:
            printed[min(spans, key=lambda s: s[1] - s[0])].append(sep.join(map(str, values)))

    runpy.run_path(str(script), run_name="__main__", init_globals={"print": recording_print})
    lines = script.read_text().splitlines()
    for span, comment in comments.items():
        call = lines[span[0] - 1].strip()
        assert printed[span], f"{page.name}: {call} never ran"
        for text in printed[span]:
            broken = mismatch(comment, text)
            assert broken is None, (f"{page.name}: {call}\n printed {text!r}, which lacks "
                                    f"{broken} that its comment promises")


def test_the_readme_is_short_and_its_links_into_docs_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links, "README points into docs/"
    for link in links:
        assert (ROOT / link).exists(), link
    assert "<!-- ci: test command" in text
