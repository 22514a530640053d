"""How the benchmark suites report: times, the environment, targets, JSON."""
import json
import os
import platform

import numba
import numpy as np

BUSY_LOAD_FRACTION = 0.5   # 1-minute load average above this share of the cores: busy
BUSY_WARNING = "busy machine: ratios not trustworthy"


def machine_load():
    """(1-minute load average, or None where the system has none; core count)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    return load, os.cpu_count() or 1


def is_busy(load, cores):
    """Whether a 1-minute load average ``load`` makes timings untrustworthy:
    above BUSY_LOAD_FRACTION of the ``cores``."""
    return load is not None and load > BUSY_LOAD_FRACTION * cores


def machine_state(say):
    """Print and return the machine's load before a timed run: dict(load,
    cores, busy); a busy machine's line says its figures are not trustworthy."""
    load, cores = machine_load()
    busy = is_busy(load, cores)
    state = "unknown" if load is None else f"{load:.2f}"
    say(f"machine: 1-minute load average {state} on {cores} cores before the run"
        + (f"; {BUSY_WARNING} (rerun on an idle machine)" if busy else ""))
    return dict(load=load, cores=cores, busy=busy)


def report_targets(results, lines, say):
    """Print each (text, met, goal) line under "targets:" and store them in
    results; on a busy machine (results['machine']['busy']) the verdicts
    are marked as not trustworthy."""
    busy = results.get("machine", {}).get("busy", False)
    say("targets:" + (f" ({BUSY_WARNING}: rerun on an idle machine)" if busy else ""))
    results["targets"] = []
    for text, ok, goal in lines:
        say(f"  {text}  (target {goal}: {'met' if ok else 'NOT met'})")
        results["targets"].append(dict(text=text, target=goal, met=bool(ok)))


def fmt_time(sec):
    if sec >= 1:
        return f"{sec:.2f} s"
    if sec >= 1e-3:
        return f"{sec * 1e3:.2f} ms"
    return f"{sec * 1e6:.1f} us"


def environment(with_torch):
    env = dict(python=platform.python_version(), numba=numba.__version__,
               numpy=np.__version__, numba_threads=numba.get_num_threads(),
               machine=platform.machine(), processor=platform.processor())
    summary = (f"numba {env['numba']} ({env['numba_threads']} threads), numpy {env['numpy']}, "
               f"Python {env['python']}")
    if with_torch:
        import torch
        env.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
        summary += f", torch {env['torch']} ({env['torch_threads']} threads)"
    env["summary"] = summary
    return env


def write_json(results, path):
    with open(path, "w") as fh:
        json.dump(results, fh, indent=2)
