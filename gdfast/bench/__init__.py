"""gdfast.bench: the benchmark suites behind `gdfast bench SUITE`.

Suites (one module each): ``denoise`` (the README's main job), ``adam``,
``driver``, ``rules``, ``memory``; their shared helpers: ``timing``
(round-robin timing, the STREAM triad), ``stats`` (the median's interval)
and ``report`` (times, environment, targets, JSON); ``command`` builds the
`gdfast bench` sub-commands. Figures are ratios measured side by side in one
run; compile time is never timed (every candidate gets a warm-up call).
"""
