"""Fuzzing Optimizer.init and Optimizer.step: array arguments, aliasing of x and
g, and states made for other options (see test_fuzz_hyperparameters.py for
the contract every fuzz test checks)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from fuzzing import (
    AMBIG,
    BAD,
    FUZZ,
    OK,
    all_finite,
    array_specs,
    call,
    check_outcome,
    examples,
    make_array,
    snapshot,
    unchanged,
)
from hypothesis import example, given, note, settings
from hypothesis import strategies as st

import gdfast
from gdfast.optimizers import OptimizerState

# --- 3. init and step: array arguments, aliasing, state ---------------------------

TYPICAL = {
    "SGD(lr=0.1)": lambda: gdfast.SGD(lr=0.1),
    "SGD(lr=0.1, momentum=0.9, weight_decay=0.01)":
        lambda: gdfast.SGD(lr=0.1, momentum=0.9, weight_decay=0.01),
    "SGD(lr=0.1, momentum=0.9, nesterov=True)":
        lambda: gdfast.SGD(lr=0.1, momentum=0.9, nesterov=True),
    "Adagrad()": gdfast.Adagrad,
    "RMSprop()": gdfast.RMSprop,
    "RMSprop(momentum=0.5)": lambda: gdfast.RMSprop(momentum=0.5),
    "RMSprop(centered=True)": lambda: gdfast.RMSprop(centered=True),
    "RMSprop(momentum=0.9, centered=True)": lambda: gdfast.RMSprop(momentum=0.9, centered=True),
    "Adam()": gdfast.Adam,
    "Adam(amsgrad=True)": lambda: gdfast.Adam(amsgrad=True),
    "AdamW()": gdfast.AdamW,
    "Adamax()": gdfast.Adamax,
    "NAdam()": gdfast.NAdam,
    "RAdam()": gdfast.RAdam,
    "Adadelta()": gdfast.Adadelta,
    "Rprop()": gdfast.Rprop,
    "Lion()": gdfast.Lion,
    "ASGD()": gdfast.ASGD,
    "ASGD(t0=1, weight_decay=0.01)": lambda: gdfast.ASGD(t0=1.0, weight_decay=0.01),
    "Adafactor()": gdfast.Adafactor,                 # vectors; 2-D shapes factored
    "AdaBelief()": gdfast.AdaBelief,
    "Yogi()": gdfast.Yogi,
    "Adan()": gdfast.Adan,
    "LAMB()": gdfast.LAMB,
    "LARS()": gdfast.LARS,
    "NovoGrad()": gdfast.NovoGrad,
    "ScheduleFreeSGD()": gdfast.ScheduleFreeSGD,
    "ScheduleFreeAdamW(warmup_steps=3)": lambda: gdfast.ScheduleFreeAdamW(warmup_steps=3),
}
# Not here: Muon (2-D parameters only), SparseAdam (its step takes a row-sparse
# gradient) and PolyakSGD (its step takes f(x)), whose steps are another call;
# their constructors are fuzzed in test_fuzz_hyperparameters.py (PolyakSGD's
# step too), their refusals tested in test_more_optimizers.py and
# test_optax_schedule_free.py.
STEP_LENGTHS = st.one_of(st.integers(0, 6), st.sampled_from([8200, 33000]))


def step_array_shapes():
    return st.one_of(*([STEP_LENGTHS.map(lambda n: (n,))] * 6),
                     st.just(()), st.tuples(st.integers(1, 3), st.integers(1, 3)))


def kernel_array_verdict(a, writable):
    """From Optimizer.step's docstring: a C-contiguous float64 array of any
    shape (x writable)."""
    if not isinstance(a, np.ndarray):
        return BAD
    good = (a.dtype == np.float64 and a.dtype.isnative and a.flags.c_contiguous
            and (a.flags.writeable or not writable))
    if type(a) is not np.ndarray:
        return AMBIG if good else BAD
    return OK if good else BAD


def state_for(opt, key, state_from, n, pick, shape=None):
    """The state argument, and whether the docs make it valid for (opt, length n;
    x's shape, which Adafactor's state depends on)."""
    own = opt.init(np.zeros(shape if shape is not None else n))
    if state_from == "own":
        return own, OK
    if state_from == "stepped":
        for _ in range(2):
            opt.step(np.zeros(n), np.full(n, 0.25), own)
        return own, OK
    if state_from == "other-length":
        return opt.init(np.zeros(n + 1 + pick)), BAD
    if state_from in ("sibling", "other-rule"):
        same_names, other = [], []
        for k, make in TYPICAL.items():
            if k == key:
                continue
            s = make().init(np.zeros(n))
            if s.names != own.names:
                other.append(s)
            elif [a.shape for a in s.arrays] == [a.shape for a in own.arrays]:
                same_names.append(s)     # same names, same lengths: memory-safe to try
        # states whose names match but whose arrays are shorter are tried in a
        # subprocess (test_a_state_made_for_other_options_is_refused): they corrupt memory
        if state_from == "sibling" and same_names:
            return same_names[pick % len(same_names)], AMBIG
        return other[pick % len(other)], BAD
    if state_from == "none":
        return None, BAD
    return tuple(own.arrays), BAD          # "tuple": the arrays without the record


@settings(max_examples=examples(800), **FUZZ)     # 500 for the 17 rules before issue 31
@given(key=st.sampled_from(sorted(TYPICAL)),
       x_spec=array_specs(step_array_shapes()),
       g_spec=array_specs(st.one_of(st.just(None), st.just(None), step_array_shapes())),
       g_from=st.sampled_from(["own"] * 4 + ["x", "view-of-x", "overlap"]),
       overlap=st.integers(1, 5),
       state_from=st.sampled_from(["own"] * 4 + ["stepped", "other-length", "sibling",
                                                 "other-rule", "none", "tuple"]),
       pick=st.integers(0, 10), method=st.sampled_from(["step", "step", "step_if_finite"]))
# found by hypothesis: g a view of the same buffer as x, shifted by one element: the
# kernel reads g[i] after it has written x[i - 1] = g[i]; a silent wrong result
@example(key="SGD(lr=0.1)", x_spec=("float64", (5,), [0.0, 1.0, 2.0, 3.0, 4.0], "contig"),
         g_spec=("float64", None, [1.0], "contig"), g_from="overlap", overlap=1,
         state_from="own", pick=0, method="step")
@example(key="Adagrad()", x_spec=("float64", (8200,), [0.0, 1.0, 2.0, 3.0, 4.0], "contig"),
         g_spec=("float64", None, [1.0], "contig"), g_from="overlap", overlap=1,
         state_from="own", pick=0, method="step")
def test_init_and_step_validate_arrays_and_mutate_nothing_on_error(
        key, x_spec, g_spec, g_from, overlap, state_from, pick, method):
    """Contract (Optimizer.init / Optimizer.step docstrings):
    init(x) takes a 1-D float64 array and returns a state of its length;
    step(x, g, state) takes 1-D C-contiguous float64 x (writable) and g of one
    length and the state init made for that length. Valid arguments -> the
    step returns, with exactly the result of the same step on private copies
    of x, g and the state (so aliasing x and g changes nothing); invalid ->
    TypeError/ValueError naming x, g or state, and x, g and the state arrays
    (and state.t) are left as they were. step_if_finite(x, g, state): the
    same, except that a g holding NaN or inf leaves x and the state (t
    included) untouched, returns False and counts the skip."""
    opt = TYPICAL[key]()
    x = make_array(x_spec)
    if g_spec[1] is None:
        shape = np.shape(x)
        g_spec = (g_spec[0], shape, g_spec[2], g_spec[3])
    g = make_array(g_spec)
    if g_from == "x":
        g = x
    elif g_from == "view-of-x" and isinstance(x, np.ndarray):
        g = x[...]
    elif (g_from == "overlap" and kernel_array_verdict(x, True) == OK and x.size >= 2):
        n, k = x.size, min(overlap, x.size - 1)
        buf = np.resize(np.array(x_spec[2], dtype=np.float64), n + k)
        x, g = buf[k:], buf[:n]
    both_arrays = isinstance(x, np.ndarray) and isinstance(g, np.ndarray)
    note(f"x: {type(x).__name__} {getattr(x, 'dtype', '')} {np.shape(x)}; "
         f"g: {type(g).__name__} {getattr(g, 'dtype', '')} {np.shape(g)}; "
         f"shares memory: {both_arrays and np.shares_memory(x, g)}")

    # init(x): documented for float64 arrays of any shape, C-contiguous unless 1-D;
    # writability is not asked
    x_before = snapshot(x)
    init_verdict = kernel_array_verdict(x, writable=False)
    if init_verdict == BAD and isinstance(x, np.ndarray) and x.dtype == np.float64 \
            and x.dtype.isnative and x.ndim == 1 and type(x) is np.ndarray:
        init_verdict = AMBIG                  # 1-D float64 but not C-contiguous
    state0, err = call(opt.init, x)
    check_outcome({"x": init_verdict}, err, "init")
    assert unchanged(x, x_before), "init modified x"
    if err is None:
        assert type(state0) is OptimizerState and state0.t == 0 and state0.n == x.size
        for a, length in zip(state0.arrays, state0.lengths):
            # length: x.size, or the rule's own (layer-wise scratch, factors)
            assert a.dtype == np.float64 and a.ndim == 1 and a.shape[0] in (0, length)

    # step(x, g, state)
    n = x.size if isinstance(x, np.ndarray) else 1
    state, state_verdict = state_for(opt, key, state_from, n, pick,
                                     x.shape if isinstance(x, np.ndarray) else None)
    verdicts = {"x": kernel_array_verdict(x, writable=True),
                "g": kernel_array_verdict(g, writable=False), "state": state_verdict}
    if verdicts["x"] != BAD and verdicts["g"] != BAD and g.shape != x.shape:
        verdicts["g"] = BAD
    # Optimizer.step: g may be x itself (or start where x starts), never a shifted overlap
    if (verdicts["x"] != BAD and verdicts["g"] != BAD and np.shares_memory(x, g)
            and x.ctypes.data != g.ctypes.data):
        verdicts["g"] = BAD
    if state_verdict != BAD and verdicts["x"] != BAD and getattr(state, "n", None) != x.size:
        verdicts["state"] = BAD
    state_arrays = tuple(getattr(state, "arrays", state or ()))
    before = [snapshot(a) for a in (x, g)] + [a.copy() for a in state_arrays]
    t_before = getattr(state, "t", None)
    skipped_before = getattr(state, "skipped", None)
    twin = None
    if BAD not in verdicts.values():
        twin = (np.array(x, dtype=np.float64), np.array(g, dtype=np.float64),
                OptimizerState(state.names, [a.copy() for a in state.arrays], state.n, state.t,
                               kind=state.kind, lengths=state.lengths, shape=state.shape))
    applied, err = call(getattr(opt, method), x, g, state)
    # Documented for valid arguments: FloatingPointError when the step wrote NaN or inf
    # (NaN or inf in x, g or the state, or an overflow). The step was taken: it is
    # compared with the same step on copies below, which must raise too.
    wrote_nonfinite = isinstance(err, FloatingPointError) and twin is not None
    if wrote_nonfinite:
        err = None
    check_outcome(verdicts, err, method)
    if err is not None:
        after = [x, g] + list(state_arrays)
        for a, b in zip(after, before):
            assert unchanged(a, b), "a failed step modified its arguments"
        assert getattr(state, "t", None) == t_before, "a failed step advanced state.t"
        return
    tx, tg, tstate = twin
    if method == "step_if_finite" and not np.isfinite(tg).all():
        assert applied is False and state.skipped == skipped_before + 1
        assert state.t == t_before and unchanged(x, before[0]), "a skipped step modified x"
        for a, b in zip(state.arrays, before[2:]):
            assert unchanged(a, b), "a skipped step modified the state"
        return
    assert applied is (None if wrote_nonfinite or method == "step" else True)
    _, twin_err = call(opt.step, tx, tg, tstate)
    assert isinstance(twin_err, FloatingPointError) == wrote_nonfinite, (
        f"{method}: raised {err!r}, the step on copies raised {twin_err!r}")
    finite = all_finite(x, state)
    assert finite != wrote_nonfinite, (
        f"{method}: FloatingPointError: {wrote_nonfinite}, x and state finite: {finite}")
    assert state.t == tstate.t
    if not np.array_equal(x, tx, equal_nan=True):
        i = int(np.flatnonzero(~((x == tx) | (np.isnan(x) & np.isnan(tx))))[0])
        pytest.fail(f"{method} on the given arrays differs from the step on copies of them "
                    f"(x and g share memory: {np.shares_memory(x, g)}): x.flat[{i}] = "
                    f"{x.flat[i]!r} instead of {tx.flat[i]!r}")
    for a, b in zip(state.arrays, tstate.arrays):
        assert np.array_equal(a, b, equal_nan=True), "state differs from the step on copies"


# States made by init for other options of the same rule (same state names and
# length n, but an unused array left empty): the kernel then indexes an empty
# array. Run in a subprocess because the write corrupts the heap.
SIBLING_STATES = [
    ("gdfast.RMSprop(momentum=0.5).init(x)", "gdfast.RMSprop(centered=True)"),
    ("gdfast.RMSprop(centered=True).init(x)", "gdfast.RMSprop(momentum=0.9)"),
    ("gdfast.AdamW().init(x)", "gdfast.Adam(amsgrad=True)"),
    ("gdfast.Adam(decoupled_weight_decay=True).init(x)", "gdfast.AdamW(amsgrad=True)"),
    ("OptimizerState(('exp_avg', 'exp_avg_sq'), (np.zeros(1), np.zeros(1)), len(x))",
     "gdfast.Adam()"),
]

_SIBLING_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import gdfast
    from gdfast.optimizers import OptimizerState
    n = int(sys.argv[1])
    x, g = np.ones(n), np.full(n, 0.5)
    try:
        state = {state}                      # a hand-made state may be refused right here
    except (TypeError, ValueError) as e:
        print("raised", type(e).__name__, e)
        sys.exit(0 if "state" in str(e) else 3)
    opt = {opt}
    before = [a.copy() for a in state.arrays]
    try:
        for _ in range(3):
            opt.step(x, g, state)
    except (TypeError, ValueError) as e:
        print("raised", type(e).__name__, e)
        intact = (x == 1).all() and all(np.array_equal(a, b) for a, b in zip(state.arrays, before))
        sys.exit(0 if intact and "state" in str(e) else 3)
    print("accepted: x[:4] =", x[:4], "; state lengths", [a.shape for a in state.arrays],
          "; NaN in x:", bool(np.isnan(x).any()))
    sys.exit(2)
""")


# States built by hand with a rule's names whose arrays are shorter than the
# kernel indexes: the layer-wise scratch "work" (kernels.NORM_WORK entries) or a
# one-entry array of length n < NORM_WORK, a shaped rule's layout for another
# shape. They were accepted and written out of bounds (heap corruption,
# segfaults: found while fuzzing the rules of issue 31); refused now by name.
HAND_MADE_STATES = {   # id: (state, optimizer); n = 5, the length of x
    "lamb-work-of-n": ("OptimizerState(('mu', 'nu', 'work'), [np.zeros(n) for _ in range(3)], n)",
                       "gdfast.LAMB()"),
    "lars-work-of-n": ("OptimizerState(('trace', 'work'), [np.zeros(n) for _ in range(2)], n)",
                       "gdfast.LARS()"),
    "novograd-nu-of-n": ("OptimizerState(('mu', 'nu', 'work'), [np.zeros(n) for _ in range(3)], "
                         "n)", "gdfast.NovoGrad()"),
    "schedule-free-sums-of-n": ("OptimizerState(('z', 'weight_sum', 'max_lr'), "
                                "[np.zeros(n) for _ in range(3)], n)", "gdfast.ScheduleFreeSGD()"),
    "muon-short-arrays": ("OptimizerState(('momentum_buffer', 'work'), [np.zeros(1), np.zeros(1)], "
                          "n, kind='Muon', lengths=(1, 1), shape=(1, n))", "gdfast.Muon()"),
    "muon-other-shape": ("OptimizerState(('momentum_buffer', 'work'), [np.zeros(k) for k in "
                         "gdfast.Muon()._layout((50, 40))], n, kind='Muon', "
                         "lengths=gdfast.Muon()._layout((50, 40)), shape=(50, 40))",
                         "gdfast.Muon()"),
    "adafactor-short-factors": ("OptimizerState(('row_var', 'col_var', 'variance', 'work'), "
                                "[np.zeros(1) for _ in range(4)], n, kind='Adafactor', "
                                "lengths=(1, 1, 1, 1), shape=(1, n))", "gdfast.Adafactor()"),
}


_HAND_MADE_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import gdfast
    from gdfast.optimizers import OptimizerState
    n = 5
    failed = 0
    for case, (state_expr, opt_expr) in sorted({cases!r}.items()):
        x, g = np.ones(n), np.full(n, 0.5)
        state, opt = eval(state_expr), eval(opt_expr)
        before = [a.copy() for a in state.arrays]
        try:
            opt.step(x, g, state)
        except (TypeError, ValueError) as e:
            intact = (x == 1).all() and all(np.array_equal(a, b)
                                            for a, b in zip(state.arrays, before))
            ok = intact and "state" in str(e)
            print(case, "refused" if ok else "refused but modified or unnamed", e, flush=True)
            failed += not ok
            continue
        print(case, "accepted silently", flush=True)
        failed += 1
    sys.exit(3 if failed else 0)
""")


def test_a_hand_made_state_of_short_arrays_is_refused(tmp_path):
    """Contract: as test_a_state_made_for_other_options_is_refused, for states
    whose arrays have n entries (n = 5) where the rule needs others (all cases
    in one subprocess: a crash fails the test with the cases printed before)."""
    script = _HAND_MADE_SCRIPT.format(cases=HAND_MADE_STATES)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, (
        f"exit code {r.returncode} (3: a case not refused; other: a crash):\n"
        f"{r.stdout[-3000:]}{r.stderr[-1000:]}")
    assert r.stdout.count(" refused ") == len(HAND_MADE_STATES), r.stdout


@pytest.mark.parametrize("n", [50_000])
@pytest.mark.parametrize("state_expr,opt_expr", SIBLING_STATES,
                         ids=[f"{s.split('.init')[0]}->{o}" for s, o in SIBLING_STATES])
def test_a_state_made_for_other_options_is_refused(tmp_path, state_expr, opt_expr, n):
    """Contract: step(x, g, state) with a state init made for other options
    (or an OptimizerState whose arrays are shorter than n) raises
    TypeError/ValueError naming state, modifies nothing, and never crashes."""
    script = _SIBLING_SCRIPT.format(state=state_expr, opt=opt_expr)
    r = subprocess.run([sys.executable, "-c", script, str(n)], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    outcome = {0: "refused", 2: "accepted silently", 3: "refused but modified or unnamed"}.get(
        r.returncode, f"crashed (exit code {r.returncode})")
    assert r.returncode == 0, (
        f"{opt_expr}.step with the state of {state_expr}: {outcome}\n{r.stdout[-500:]}"
        f"{r.stderr[-500:]}")
