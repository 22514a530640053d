"""`gdfast`'s messages for a new user's slips (issue 28 item 4): each names
what was wrong and what to type instead."""
import numpy as np
import pytest

from gdfast.cli import main


def _run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:                   # argparse's errors exit 2
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.npy"
    np.save(path, 0.5 + 0.1 * np.random.default_rng(0).standard_normal((24, 24)))
    return path


def test_a_misspelt_option_gets_its_commands_usage_and_the_closest_name(image, capsys):
    code, _, err = _run(["denoise", image, "-o", image.with_name("o.npy"), "--lamda", "0.1"],
                        capsys)
    assert code == 2 and "usage: gdfast denoise" in err and "did you mean --lam?" in err


def test_a_misspelt_command_gets_the_closest_name(capsys):
    code, _, err = _run(["benhc"], capsys)
    assert code == 2 and "did you mean bench?" in err


def test_a_flag_before_the_suite_is_told_to_go_after_it(capsys):
    code, _, err = _run(["bench", "--size", "100"], capsys)
    assert code == 2 and "flags go after the suite's name" in err


def test_an_output_folder_is_called_a_folder(image, tmp_path, capsys):
    (tmp_path / "outdir").mkdir()
    code, _, err = _run(["denoise", image, "-o", tmp_path / "outdir"], capsys)
    assert code == 1 and "OUTPUT is a folder" in err


def test_one_iteration_is_singular_and_the_stop_is_in_the_flags_words(image, capsys):
    code, out, err = _run(["denoise", image, "-o", image.with_name("o.npy"), "--lam", "0.1",
                           "--max-iter", "1"], capsys)
    assert code == 0, err
    assert "after 1 iteration (" in out and "--max-iter" in out


def test_help_is_plain_text(capsys):
    code, out, _ = _run(["--help"], capsys)
    assert code == 0 and "``" not in out


def test_gd_stopping_at_max_iter_is_told_what_it_needs(image, capsys):
    code, out, err = _run(["denoise", image, "-o", image.with_name("o.npy"), "--lam", "0.1",
                           "--method", "gd", "--max-iter", "5"], capsys)
    assert code == 0, err
    assert "not converged to --tol: gd needs about L = 801 iterations" in out


def test_a_run_that_converges_gets_no_hint(image, capsys):
    code, out, err = _run(["denoise", image, "-o", image.with_name("o.npy"), "--lam", "0.1"],
                          capsys)
    assert code == 0 and "not converged" not in out


@pytest.mark.parametrize("suite, torch", [("quality", False), ("dask", False), ("rules", True),
                                          ("denoise", True)])
def test_a_suites_help_shows_its_own_examples_and_no_torch_only_where_it_applies(
        suite, torch, capsys):
    code, out, _ = _run(["bench", suite, "--help"], capsys)
    examples = out.split("examples:")[1]
    assert code == 0 and f"gdfast bench {suite}" in examples
    assert all(other not in examples for other in ("bench blocking", "bench startup"))
    assert ("--no-torch" in out) == torch
