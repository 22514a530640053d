"""How the benchmark suites report: times, the environment, targets, JSON."""
import json
import platform

import numba
import numpy as np


def report_targets(results, lines, say):
    """Print each (text, met, goal) line under "targets:" and store them in results."""
    say("targets:")
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
