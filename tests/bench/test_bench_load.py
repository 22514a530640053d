"""`gdfast bench`'s verdicts on a busy machine (issue 28 item 4): the load is
reported before the run, and a busy machine's targets say they are not to be
trusted; the triad runs in the candidates' rounds."""
import json
import os

import pytest

from gdfast.cli import main


@pytest.mark.parametrize("load, busy", [(0.2, False),
                                        pytest.param(7.5, True, marks=pytest.mark.slow)])
def test_the_load_is_reported_and_a_busy_machines_verdicts_are_flagged(tmp_path, capsys,
                                                                     monkeypatch, load, busy):
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    path = tmp_path / "bench.json"
    assert main(["bench", "denoise", "--size", "32", "--reps", "2", "--no-torch",
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"1-minute load average {load:.2f} on 2 cores before the run" in out
    assert ("targets: (busy machine: ratios not trustworthy" in out) == busy
    assert "alternating with the candidates" in out and "STREAM triad (numba" in out
    results = json.loads(path.read_text())
    assert results["machine"] == dict(load=load, cores=2, busy=busy)
    assert "STREAM triad" not in results["iteration"]          # not a candidate's row
