"""An optimizer's run as a dict: gdfast's own form and torch.optim's, for one
array and for several (torch's param groups).

The four entries of `Optimizer`'s state_dict methods: `dict_of` and
`state_from_dict` (gdfast's form), `torch_dict_of` and `state_from_torch`
(torch.optim's), each for an `OptimizerState` or, given several arrays, an
`OptimizerStates`. The tables `STATE_KEYS` (torch's keys of each class's
state arrays) and `TORCH_SWITCHES` (torch's param-group switches gdfast has
no counterpart for) are what the torch form reads and writes.
"""
import copy
import math
import numbers
from collections.abc import Mapping

import numpy as np

from .. import _validation as check
from .._rules import SCHEDULES
from ..kernels.adam_family import nadam_mu
from ..schedules import Schedule
from .states import OptimizerState, OptimizerStates

# An optimizer's run as a dict: gdfast's own form, and torch.optim's.
#
# ``Optimizer.state_dict(state)`` / ``load_state_dict(d)``: the
# hyperparameters, the step count, the skip counts and copies of the state
# arrays, as plain Python values and float64 arrays; a run restored from it
# continues with the same bits as the run that made it.
#
# ``Optimizer.to_torch_state_dict(state, shape)`` /
# ``load_torch_state_dict(d, x)``: torch.optim's ``optimizer.state_dict()``
# of the class of the same name, for one parameter tensor (one param group
# holding one parameter). The state arrays have torch's names already
# (gdfast's state names are torch's keys). Reading a torch dict needs no
# torch: tensors are read through ``tensor.detach().cpu().numpy()``; writing
# one imports torch to make the tensors.

# Every state array each class can hold (over all of its options): torch's keys.
STATE_KEYS = {
    "SGD": ("momentum_buffer",),
    "Adagrad": ("sum",),
    "RMSprop": ("square_avg", "grad_avg", "momentum_buffer"),
    "Adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "AdamW": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "Adamax": ("exp_avg", "exp_inf"),
    "NAdam": ("exp_avg", "exp_avg_sq"),
    "RAdam": ("exp_avg", "exp_avg_sq"),
    "Adadelta": ("square_avg", "acc_delta"),
    "Rprop": ("prev", "step_size"),
    "ASGD": ("ax",),
    "Adafactor": ("row_var", "col_var", "variance"),
    "Muon": ("momentum_buffer",),
    "SparseAdam": ("exp_avg", "exp_avg_sq"),
}
# torch.optim's param-group switches that gdfast has no counterpart for, with
# torch 2.13's defaults (written by to_torch, ignored when read)
TORCH_SWITCHES = {
    "SGD": dict(foreach=None, differentiable=False, fused=None),
    "Adagrad": dict(foreach=None, differentiable=False, fused=None),
    "RMSprop": dict(capturable=False, foreach=None, differentiable=False),
    "Adam": dict(foreach=None, capturable=False, differentiable=False, fused=None),
    "AdamW": dict(foreach=None, capturable=False, differentiable=False, fused=None),
    "Adamax": dict(foreach=None, differentiable=False, capturable=False),
    "NAdam": dict(foreach=None, capturable=False, differentiable=False),
    "RAdam": dict(foreach=None, capturable=False, differentiable=False),
    "Adadelta": dict(capturable=False, foreach=None, differentiable=False),
    "Rprop": dict(foreach=None, differentiable=False, capturable=False),
    "ASGD": dict(foreach=None, differentiable=False, capturable=False),
    "Adafactor": dict(foreach=None),
    "Muon": {},
    "SparseAdam": {},
}
IGNORED_GROUP_KEYS = {"params", "param_names", "initial_lr", "foreach", "fused", "capturable",
                      "differentiable"}
FORMAT = "gdfast.optimizer_state/1"
FORMAT_MANY = "gdfast.optimizer_states/1"
# the classes whose torch state keeps no step count (their only state is the
# momentum buffer, made at torch's first step)
NO_STEP_COUNT = ("SGD", "Muon")


# --- the entries of Optimizer's state_dict methods -----------------------------

def dict_of(opt, state):
    """`Optimizer.state_dict`: gdfast's form of one array's state or of several."""
    if isinstance(state, OptimizerStates):
        return _many_state_dict_of(opt, state)
    return _state_dict_of(opt, state)


def state_from_dict(opt, d):
    """`Optimizer.load_state_dict`: the state of gdfast's form, one array's or
    several (by its format); opt takes its hyperparameters."""
    if isinstance(d, Mapping) and d.get("format") == FORMAT_MANY:
        return _many_state_from_dict(opt, d)
    if opt._groups is not None:
        raise ValueError("state_dict is one array's, but this optimizer has several groups "
                         "(a state_dict of several arrays has format "
                         f"{FORMAT_MANY!r})")
    return _state_from_dict(opt, d)


def torch_dict_of(opt, state, shape):
    """`Optimizer.to_torch_state_dict`: torch.optim's form of one array's state
    or of several."""
    if isinstance(state, OptimizerStates):
        return _many_torch_state_dict_of(opt, state, shape)
    return _torch_state_dict_of(opt, state, shape)


def state_from_torch(opt, d, x):
    """`Optimizer.load_torch_state_dict`: the state of torch.optim's form for x
    (an array, or a list of them); opt takes its hyperparameters."""
    if isinstance(x, (list, tuple)) or opt._groups is not None:
        return _many_state_from_torch(opt, d, x)
    return _state_from_torch(opt, d, x)


# --- one array ---------------------------------------------------------------

def _check_state(opt, state):
    if type(state) is not OptimizerState or state.kind != type(opt).__name__:
        raise TypeError(f"state must be an OptimizerState made by a {type(opt).__name__}'s "
                        f"init(x), got {state!r}")


def _plain_lr(lr):
    if isinstance(lr, Schedule):
        if not all(isinstance(p, (int, float, np.integer, np.floating)) for p in lr.params):
            raise TypeError(f"state_dict: the lr schedule {lr.name!r} holds a user's function, "
                            "which a state_dict of plain values cannot (torch's leaves lambdas "
                            "out too): save the state with a numeric schedule, or pass the "
                            "function's schedule as lr again after load_state_dict")
        return {"schedule": lr.name, "lr0": float(lr.lr0), "params": [float(p) for p in lr.params]}
    return lr


def _schedule_from(name, value):
    if not isinstance(value, Mapping):
        return value
    if set(value) != {"schedule", "lr0", "params"} or value["schedule"] not in SCHEDULES:
        raise ValueError(f"{name} must be a number or {{'schedule': one of {sorted(SCHEDULES)}, "
                         f"'lr0': float, 'params': list}}, got {value!r}")
    params = value["params"]
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"{name}['params'] must be a list of numbers, got {params!r}")
    return Schedule(value["schedule"], SCHEDULES[value["schedule"]][0],
                    check.finite(f"{name}['lr0']", value["lr0"]),
                    tuple(check.finite(f"{name}['params']", p) for p in params))


def _state_dict_of(opt, state):
    """`Optimizer.state_dict`."""
    _check_state(opt, state)
    scratch = opt._scratch
    in_use = {k: a.copy() for k, a, length in zip(state.names, state.arrays, state.lengths)
              if state.holds(a, length) and k not in scratch}
    kept = {k: a.copy() for k, a in state.arrays_by_name().items()
            if k not in in_use and k not in scratch}
    out = {"format": FORMAT, "optimizer": type(opt).__name__,
           "hyperparameters": {k: _plain_lr(v) for k, v in opt.hyperparameters().items()},
           "t": state.t, "n": state.n, "skipped": state.skipped,
           "skipped_in_a_row": state.skipped_in_a_row,
           "names": list(state.names), "state": in_use, "kept": kept}
    if state.shape is not None:
        out["shape"] = list(state.shape)
    return out


def _count(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < 0:
        raise ValueError(f"state_dict[{name!r}] must be an integer >= 0, got {value!r}")
    return int(value)


def _saved_array(name, a, n):
    if type(a) is not np.ndarray or a.dtype != np.float64 or a.shape != (n,):
        raise ValueError(f"state_dict's {name} must be a float64 array of shape ({n},), got "
                         f"{getattr(a, 'dtype', type(a).__name__)} "
                         f"{getattr(a, 'shape', '')}")
    return np.array(a, dtype=np.float64, order="C")       # a copy of its own


def _entry(d, key, what="state_dict"):
    if key not in d:
        raise ValueError(f"{what} has no {key!r} entry")
    return d[key]


def _restore_skips(state, d):
    """The saved skip counts of d into state (OptimizerState or OptimizerStates)."""
    state.skipped = _count("skipped", _entry(d, "skipped"))
    state.skipped_in_a_row = _count("skipped_in_a_row", _entry(d, "skipped_in_a_row"))


def _state_from_dict(opt, d):
    """`Optimizer.load_state_dict`."""
    cls = type(opt).__name__
    if not isinstance(d, Mapping):
        raise TypeError(f"state_dict must be a mapping (made by state_dict()), "
                        f"got {type(d).__name__}")
    if d.get("format") != FORMAT:
        raise ValueError(f"state_dict is not gdfast's optimizer state (format {FORMAT!r}), "
                         f"got format {d.get('format')!r}; for torch.optim's, use "
                         "load_torch_state_dict")
    if _entry(d, "optimizer") != cls:
        raise ValueError(f"state_dict was made by a {d['optimizer']}, not a {cls}")
    hp = _entry(d, "hyperparameters")
    if not isinstance(hp, Mapping) or set(hp) != set(opt.hyperparameters()):
        raise ValueError(f"state_dict['hyperparameters'] must hold exactly "
                         f"{list(opt.hyperparameters())}, got {hp!r}")
    hp = {k: _schedule_from(f"hyperparameters[{k!r}]", v) for k, v in hp.items()}
    candidate = copy.copy(opt)
    candidate.set_hyperparameters(**hp)        # checks them; opt is not touched
    n, t = _count("n", _entry(d, "n")), _count("t", _entry(d, "t"))
    if opt._shaped:
        return _shaped_state_from_dict(opt, candidate, d, hp, n, t)
    names, saved, kept = _entry(d, "names"), _entry(d, "state"), _entry(d, "kept")
    if not isinstance(names, (list, tuple)) or not all(isinstance(k, str) for k in names):
        raise ValueError(f"state_dict['names'] must be a list of str, got {names!r}")
    if not isinstance(saved, Mapping) or not isinstance(kept, Mapping) \
            or not set(saved) <= set(names) or set(kept) & set(names):
        raise ValueError("state_dict['state'] must map names of state_dict['names'] to arrays "
                         "and state_dict['kept'] other names to arrays")
    # the length of each array in use (n, but for the layer-wise rules' fixed
    # ones); a scratch array, not saved, starts afresh
    by_name = dict(zip(candidate.rule.state, candidate._lengths(n)))
    lengths = [by_name.get(k, n) for k in names]
    arrays = [_saved_array(f"state[{k!r}]", saved[k], length) if k in saved
              else np.zeros(length if k in opt._scratch else 0)
              for k, length in zip(names, lengths)]
    state = OptimizerState(names, arrays, n, t, kind=cls, lengths=lengths)
    state._owner = opt._token
    _restore_skips(state, d)
    state._kept = {k: _saved_array(f"kept[{k!r}]", a, n) for k, a in kept.items()}
    opt.set_hyperparameters(**hp)
    return state


def _shaped_state_from_dict(opt, candidate, d, hp, n, t):
    """`_state_from_dict` for the rules whose state depends on the parameters'
    shape (Adafactor, Muon): a fresh state for the saved shape, the saved arrays
    copied in."""
    shape = _entry(d, "shape")
    if not isinstance(shape, (list, tuple)) or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 0
            for k in shape) or math.prod(shape) != n:
        raise ValueError(f"state_dict['shape'] must be the parameters' shape ({n} entries), "
                         f"got {shape!r}")
    state = candidate.init(np.empty(tuple(int(k) for k in shape)))
    saved = _entry(d, "state")
    lengths = dict(zip(state.names, state.lengths))
    wanted = {k for k, a, length in zip(state.names, state.arrays, state.lengths)
              if state.holds(a, length) and k not in opt._scratch}
    if not isinstance(saved, Mapping) or set(saved) != wanted \
            or list(_entry(d, "names")) != list(state.names):
        raise ValueError(f"state_dict['state'] must hold exactly {sorted(wanted)} for "
                         f"{type(opt).__name__} of shape {tuple(shape)}")
    arrays = {k: _saved_array(f"state[{k!r}]", saved[k], lengths[k]) for k in wanted}
    for name, a in zip(state.names, state.arrays):
        if name in arrays:
            a[:] = arrays[name]
    state.t = t
    _restore_skips(state, d)
    state._owner = opt._token
    opt.set_hyperparameters(**hp)
    return state


def _torch_class(opt):
    cls = type(opt).__name__
    if cls not in STATE_KEYS:
        raise ValueError(f"{cls} has no torch.optim counterpart (it follows optax); "
                         "use state_dict() for gdfast's own form")
    return cls


def nadam_mu_product(t, beta1, momentum_decay):
    """mu_1 ... mu_t, in the order (and with the function) of the kernel."""
    product = 1.0
    for k in range(1, t + 1):
        product *= nadam_mu(k, beta1, momentum_decay)
    return product


def _torch_state_dict_of(opt, state, shape):
    """`Optimizer.to_torch_state_dict`."""
    cls = _torch_class(opt)      # before torch's import: optax's rules say so without torch
    import torch
    _check_state(opt, state)
    shape = (state.n,) if shape is None else tuple(shape)
    if math.prod(shape) != state.n:
        raise ValueError(f"shape {shape} does not hold the state's {state.n} entries")
    hp = opt.hyperparameters()
    lr = hp["lr"]
    group = dict(hp, lr=float(opt.lr(state.t + 1)) if isinstance(lr, Schedule) else lr,
                 **TORCH_SWITCHES[cls], params=[0])
    held = {k: a for k, a in state.arrays_by_name().items() if k not in opt._scratch}
    # the arrays the current options use, by the rule's own start where a buffer
    # was turned on since the last step (torch's start too: zeros; SGD's
    # momentum buffer is left out, so that torch starts it as the step's d)
    fresh = opt.init(np.empty(state.shape if opt._shaped else state.n))
    for name, start in zip(opt.rule.state, fresh.arrays):
        if start.shape[0] and name not in held and not (cls == "SGD" and state.t > 0) \
                and name not in opt._scratch:
            held[name] = start
    if cls in NO_STEP_COUNT and state.t == 0:
        held = {}
    shapes = opt._torch_shapes(shape)
    entry = {k: torch.tensor(a.reshape(shapes.get(k, shape)), dtype=torch.float64)
             for k, a in held.items()}
    scalar = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    if cls == "SparseAdam":
        if state.t:
            entry["step"] = state.t                  # torch keeps a Python int
    elif cls not in NO_STEP_COUNT:
        entry["step"] = torch.tensor(float(state.t), dtype=scalar)
        if cls == "NAdam":
            entry["mu_product"] = torch.tensor(
                nadam_mu_product(state.t, hp["betas"][0], hp["momentum_decay"]),
                dtype=torch.float64)
        if cls == "ASGD":
            eta, mu = opt._factors(state.t + 1)
            entry["eta"] = torch.tensor(eta, dtype=scalar)
            entry["mu"] = torch.tensor(mu, dtype=scalar)
    return {"state": {0: entry}, "param_groups": [group]}


def _numpy(value):
    """A tensor as a numpy array (through .detach().cpu().numpy()), else value."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return value


def _torch_value(value):
    value = _numpy(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_numpy(v) for v in value)
    return value


def _state_from_torch(opt, d, x):
    """`Optimizer.load_torch_state_dict`."""
    cls = _torch_class(opt)
    if not isinstance(d, Mapping):
        raise TypeError(f"state_dict must be a mapping (torch's optimizer.state_dict()), "
                        f"got {type(d).__name__}")
    groups, states = _entry(d, "param_groups"), _entry(d, "state")
    if not isinstance(groups, (list, tuple)) or len(groups) != 1 \
            or not isinstance(groups[0], Mapping) \
            or len(_entry(groups[0], "params", "param_groups[0]")) != 1:
        raise ValueError("gdfast's optimizers hold one array: the torch state_dict must have "
                         "one param group with one parameter")
    group = groups[0]
    names = list(opt.hyperparameters())
    unknown = set(group) - set(names) - IGNORED_GROUP_KEYS
    if unknown:
        raise ValueError(f"param_groups[0] has key(s) {sorted(unknown)} that {cls} does not "
                         f"have (is it a torch.optim.{cls}'s state_dict?)")
    hp = {k: _torch_value(_entry(group, k, "param_groups[0]")) for k in names}
    candidate = copy.copy(opt)
    candidate.set_hyperparameters(**hp)        # checks them; opt is not touched
    if type(x) is not np.ndarray:
        raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    if opt._shaped:
        state = candidate.init(np.empty(x.shape))
    else:
        state = candidate.init(x.reshape(-1) if x.flags.c_contiguous else np.empty(x.size))
    n = state.n
    lengths = dict(zip(state.names, state.lengths))
    entry = states.get(group["params"][0], {}) if isinstance(states, Mapping) else None
    if not isinstance(entry, Mapping):
        raise ValueError("state_dict['state'] must map the parameter's index to its state")
    extra = set(entry) - set(STATE_KEYS[cls]) - {"step", "mu_product", "eta", "mu"}
    if extra:
        raise ValueError(f"the torch state has key(s) {sorted(extra)} that {cls} does not "
                         "have")
    arrays = {}
    for k in STATE_KEYS[cls]:
        if entry.get(k) is not None:
            a = np.asarray(_numpy(entry[k]), dtype=np.float64)
            if a.size != lengths.get(k, n):
                raise ValueError(f"the torch state's {k!r} has {a.size} entries, expected "
                                 f"{lengths.get(k, n)} for x of shape {x.shape}")
            arrays[k] = np.array(a.reshape(-1), dtype=np.float64)
    if cls in NO_STEP_COUNT:
        t = 1 if "momentum_buffer" in arrays else 0     # torch keeps no step count
    elif entry:
        step = float(np.asarray(_numpy(_entry(entry, "step", "the torch state"))))
        if not (step >= 0 and step.is_integer()):
            raise ValueError(f"the torch state's step must be an integer >= 0, got {step!r}")
        t = int(step)
    else:
        t = 0                                           # before torch's first step
    # an array the options use that torch's state lacks (an option turned on in
    # the group since torch's last step) starts as init's, zeros: as gdfast's
    # own state does after a live change (torch would raise a KeyError)
    new = [arrays.pop(k) if k in arrays and a.shape[0] == length else a
           for k, a, length in zip(state.names, state.arrays, state.lengths)]
    if cls == "ASGD" and t > 0:
        for key, want in zip(("eta", "mu"), candidate._factors(t + 1)):
            _check_recomputed(entry, key, want,
                              f"the one of step {t + 1} for lr, lambd, alpha and t0 ({want!r})",
                              "lr")
    if cls == "NAdam" and t > 0:
        want = nadam_mu_product(t, hp["betas"][0], hp["momentum_decay"])
        _check_recomputed(entry, "mu_product", want,
                          f"mu_1 ... mu_t ({want!r}) for betas[0] and momentum_decay",
                          "momentum_decay or betas", scale=t)
    state.set_layout(state.names, new)
    state._kept = arrays                  # buffers torch holds for options now off
    state.t = t
    opt.set_hyperparameters(**hp)
    return state


def _check_recomputed(entry, key, want, what, changed, scale=1):
    """A scalar of torch's state that gdfast recomputes (ASGD's eta and mu,
    NAdam's mu_product) against ``want``, to torch's rounding (relative 1e-12 in
    float64, 1e-6 in float32, times scale): ValueError naming it otherwise."""
    got_array = np.asarray(_numpy(_entry(entry, key, "the torch state")))
    rtol = (1e-12 if got_array.dtype == np.float64 else 1e-6) * scale
    if not abs(float(got_array) - want) <= rtol * abs(want):
        raise ValueError(f"the torch state's {key} {float(got_array)!r} is not {what}: gdfast "
                         f"recomputes it from them (was {changed} changed mid-run in torch?)")


# --- several arrays: gdfast's form and torch's ---------------------------------


def _check_many(opt, state):
    if type(state) is not OptimizerStates or state._owner is not opt._token:
        raise TypeError(f"state must be the OptimizerStates made by this "
                        f"{type(opt).__name__}'s init(x) for a list of arrays, got {state!r}")


def _many_state_dict_of(opt, state):
    """`Optimizer.state_dict` of several arrays: the defaults, each group's
    size and hyperparameters, and one array's state_dict per array."""
    _check_many(opt, state)
    subs = opt._array_optimizers(len(state.states))
    groups = None if opt._groups is None else [
        {"params": k, "hyperparameters": {n: _plain_lr(v) for n, v in
                                          sub.hyperparameters().items()}}
        for sub, k in zip(opt._groups, opt._group_sizes)]
    return {"format": FORMAT_MANY, "optimizer": type(opt).__name__,
            "defaults": {k: _plain_lr(v) for k, v in opt.hyperparameters().items()},
            "groups": groups, "shapes": [list(shape) for shape in state.shapes],
            "skipped": state.skipped, "skipped_in_a_row": state.skipped_in_a_row,
            "arrays": [_state_dict_of(sub, st) for sub, st in zip(subs, state.states)]}


def _candidate(opt, defaults):
    """A copy of opt (its token: the states it makes are opt's) with the
    checked defaults and no groups."""
    candidate = copy.copy(opt)
    for name, value in (("_groups", None), ("_group_sizes", None)):
        object.__setattr__(candidate, name, value)
    candidate._apply({**opt._values, **defaults})
    return candidate


def _take(opt, candidate):
    """Move the candidate's hyperparameters and groups into opt."""
    for name in ("_values", "rule", "hyper", "lr", "_lr_constant", "_unused_mask", "_groups",
                 "_group_sizes"):
        object.__setattr__(opt, name, candidate.__dict__.get(name))


def _many_state_from_dict(opt, d):
    """`Optimizer.load_state_dict` of several arrays: opt takes the saved
    defaults and groups; nothing changes if an entry is bad."""
    cls = type(opt).__name__
    if _entry(d, "optimizer") != cls:
        raise ValueError(f"state_dict was made by a {d['optimizer']}, not a {cls}")
    defaults, groups = _entry(d, "defaults"), _entry(d, "groups")
    arrays, shapes = _entry(d, "arrays"), _entry(d, "shapes")
    if not isinstance(defaults, Mapping) or set(defaults) != set(opt._spec):
        raise ValueError(f"state_dict['defaults'] must hold exactly {list(opt._spec)}, "
                         f"got {defaults!r}")
    if not isinstance(arrays, (list, tuple)) or not arrays \
            or not isinstance(shapes, (list, tuple)) or len(shapes) != len(arrays):
        raise ValueError("state_dict['arrays'] must be a non-empty list of one array's "
                         "state_dicts, and state_dict['shapes'] their shapes")
    candidate = _candidate(opt, {k: _schedule_from(f"defaults[{k!r}]", v)
                                 for k, v in defaults.items()})
    if groups is not None:
        if not isinstance(groups, (list, tuple)) or not all(
                isinstance(g, Mapping) and isinstance(g.get("hyperparameters"), Mapping)
                for g in groups):
            raise ValueError("state_dict['groups'] must be None or a list of "
                             "{'params': count, 'hyperparameters': {...}}")
        candidate._set_groups([
            {"params": g.get("params"),
             **{k: _schedule_from(f"groups[{i}][{k!r}]", v)
                for k, v in g["hyperparameters"].items()}} for i, g in enumerate(groups)])
        candidate._check_count("state_dict['arrays']", len(arrays))
    states = []
    for i, (sub, a, shape) in enumerate(zip(candidate._array_optimizers(len(arrays)), arrays,
                                            shapes)):
        try:
            st = _state_from_dict(sub, a)
            if not isinstance(shape, (list, tuple)) or math.prod(shape) != st.n:
                raise ValueError(f"shape {shape!r} does not hold the state's {st.n} entries")
        except (TypeError, ValueError) as e:
            raise type(e)(f"state_dict['arrays'][{i}]: {e}") from None
        states.append(st)
    out = OptimizerStates(states, [tuple(int(k) for k in shape) for shape in shapes], kind=cls)
    _restore_skips(out, d)
    out._owner = opt._token
    _take(opt, candidate)
    return out


def _many_torch_state_dict_of(opt, state, shapes):
    """`Optimizer.to_torch_state_dict` of several arrays: torch numbers the
    parameters 0, 1, ... over the groups in order."""
    _check_many(opt, state)
    shapes = state.shapes if shapes is None else shapes
    if not isinstance(shapes, (list, tuple)) or len(shapes) != len(state.states) or not all(
            isinstance(shape, (list, tuple)) for shape in shapes):
        raise ValueError(f"shape must be a list of the {len(state.states)} parameters' "
                         f"shapes, got {shapes!r}")
    groups = opt._groups or (opt,)
    sizes = opt._group_sizes or (len(state.states),)
    out_state, out_groups, k = {}, [], 0
    for sub, size in zip(groups, sizes):
        group = None
        for _ in range(size):
            d = _torch_state_dict_of(sub, state.states[k], shapes[k])
            if d["state"]:
                out_state[k] = d["state"][0]
            group = d["param_groups"][0]
            k += 1
        group["params"] = list(range(k - size, k))
        out_groups.append(group)
    return {"state": out_state, "param_groups": out_groups}


def _many_state_from_torch(opt, d, xs):
    """`Optimizer.load_torch_state_dict` of several arrays: torch's groups must
    be this optimizer's (one group of any count, or group_sizes), as torch's own
    load_state_dict requires; nothing changes if an entry is bad."""
    _torch_class(opt)
    if not isinstance(d, Mapping):
        raise TypeError(f"state_dict must be a mapping (torch's optimizer.state_dict()), "
                        f"got {type(d).__name__}")
    if not isinstance(xs, (list, tuple)) or not xs:
        raise TypeError(f"x must be the list of the parameters' arrays for an optimizer of "
                        f"several groups, got {type(xs).__name__}")
    groups, states = _entry(d, "param_groups"), _entry(d, "state")
    if not isinstance(groups, (list, tuple)) or not all(
            isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple))
            for g in groups) or not isinstance(states, Mapping):
        raise ValueError("state_dict must have torch's 'param_groups' (a list of groups, each "
                         "with its 'params') and 'state'")
    sizes = [len(g["params"]) for g in groups]
    want = list(opt._group_sizes) if opt._group_sizes is not None else [len(xs)]
    if sizes != want or sum(sizes) != len(xs):
        raise ValueError(f"the torch state_dict has groups of {sizes} parameter(s); this "
                         f"optimizer's groups cover {want} and x holds {len(xs)} array(s)")
    candidate = _candidate(opt, {})
    if opt._groups is not None:
        candidate._set_groups([{"params": k} for k in sizes])
    subs, k, out = candidate._array_optimizers(len(xs)), 0, []
    for gi, group in enumerate(groups):
        for p in group["params"]:
            one = {"param_groups": [dict(group, params=[p])],
                   "state": {p: states[p]} if p in states else {}}
            try:
                out.append(_state_from_torch(subs[k], one, xs[k]))
            except (TypeError, ValueError) as e:
                raise type(e)(f"param_groups[{gi}], parameter {p} (x[{k}]): {e}") from None
            k += 1
    result = OptimizerStates(out, [np.shape(x) for x in xs], kind=type(opt).__name__)
    result._owner = opt._token
    _take(opt, candidate)
    return result
