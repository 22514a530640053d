"""How the benchmark suites report: times, the environment, targets, JSON."""
import json
import os
import platform

import numba
import numpy as np

BUSY_LOAD_FRACTION = 0.5   # 1-minute load average above this share of the cores: busy
BUSY_WARNING = "busy machine: ratios not trustworthy"
# `gdfast bench`'s exit status (documented in command.EXIT_STATUS and
# docs/benchmarks.md); 1 (an error, nothing measured), 2 (a bad argument) and
# 130 (interrupted) are every gdfast command's
EXIT_MET = 0            # every target met (or the suite has none)
EXIT_NOT_MET = 3        # a target NOT met, on an idle machine (or one whose load is unknown)
EXIT_NOT_MET_BUSY = 4   # a target NOT met on a busy machine: rerun on an idle one to know


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


def missed_targets(results):
    """The targets of ``results`` (a suite's dict) that were NOT met. A rules
    target's verdict may be a tie (missed, but within the run's own noise):
    not counted as a miss."""
    return [t for t in results.get("targets", ())
            if t.get("verdict", "met" if t["met"] else "NOT met") == "NOT met"]


def exit_status(results):
    """`gdfast bench`'s exit status for a suite's results: EXIT_MET when no
    target was missed, else EXIT_NOT_MET, or EXIT_NOT_MET_BUSY when the
    machine was busy before the run (results['machine']['busy'])."""
    if not missed_targets(results):
        return EXIT_MET
    return EXIT_NOT_MET_BUSY if results.get("machine", {}).get("busy") else EXIT_NOT_MET


def verdict_line(results):
    """The last line `gdfast bench` prints: how many targets were missed and
    the exit status that says so."""
    status, missed = exit_status(results), len(missed_targets(results))
    if not results.get("targets"):
        return f"verdict: no targets in this run (exit status {status})"
    if status == EXIT_MET:
        return f"verdict: every target met (exit status {status})"
    what = f"{missed} target{'s' if missed > 1 else ''} NOT met"
    if status == EXIT_NOT_MET_BUSY:
        return (f"verdict: {what} on a busy machine, {BUSY_WARNING}: rerun on an idle machine "
                f"(exit status {status})")
    return f"verdict: {what} (exit status {status})"


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
