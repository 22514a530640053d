"""The statuses of a batch (gdfast._run.batch_statuses): per-problem names,
success flags and the message's counts, against a count by name."""
import collections

import numpy as np

from gdfast._run import batch_statuses


def test_names_success_and_counts_by_name():
    codes = np.random.default_rng(0).integers(0, 9, 500)
    codes[:3] = 3                                    # some code surely present
    status, success, message = batch_statuses(codes)
    by_code = {0: "gtol", 1: "ftol", 2: "xtol", 3: "max_iter"}   # kernels.driver's codes
    for code, name in by_code.items():
        assert set(status[codes == code]) == {name}
    assert np.array_equal(success, np.isin(status, ["gtol", "ftol", "xtol"]))
    counts = collections.Counter(status.tolist())
    want = ", ".join(f"{k}: {counts[k]}" for k in sorted(counts))
    assert message == f"500 problems; {want}"
