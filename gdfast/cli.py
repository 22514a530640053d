"""The ``gdfast`` command: ``gdfast bench`` and ``gdfast classic``."""
import argparse
import sys

EXAMPLES = {
    "bench": "example: gdfast bench --json bench.json",
    "classic": "example: gdfast classic",
}


def _bench(args):
    from .benchmarks import run_kernel_benchmark, write_json
    results = run_kernel_benchmark(n_large=args.n_large, n_small=args.n_small,
                                   reps=args.reps,
                                   with_torch=False if args.no_torch else None)
    if args.json:
        write_json(results, args.json)
        print(f"wrote {args.json}")
    return 0


def _classic(args):
    from .problems import CLASSIC_SETTINGS, classic_cost, run_classic
    from .rules import RULES
    print("minimising f(x) = x**2 + 5x + 10 from x0 = 5 (minimum -2.5), "
          "derivative by central differences, stop at |x + 2.5| < 1e-6")
    for name, settings in CLASSIC_SETTINGS.items():
        path, nit = run_classic(RULES[name], max_iter=args.max_iter, **settings)
        opts = ", ".join(f"{k}={v}" for k, v in settings.items())
        print(f"  {name:<9} ({opts:<22}) x = {path[-1]: .9f}  f = {classic_cost(path[-1]):.9f}"
              f"  iterations = {nit}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="gdfast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="time the Adam kernel against numpy, "
                           "pure Python and torch.optim beside a STREAM triad",
                           epilog=EXAMPLES["bench"])
    bench.add_argument("--n-large", type=int, default=16_000_000, help="large size (default 16,000,000)")
    bench.add_argument("--n-small", type=int, default=10_000, help="small size (default 10,000)")
    bench.add_argument("--reps", type=int, default=20, help="timed rounds for fast candidates (default 20)")
    bench.add_argument("--no-torch", action="store_true", help="leave torch.optim out even if installed")
    bench.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench.set_defaults(run=_bench)
    classic = sub.add_parser("classic", help="the tutorials' problem: every rule on "
                             "x**2 + 5x + 10 from x0 = 5", epilog=EXAMPLES["classic"])
    classic.add_argument("--max-iter", type=int, default=1000)
    classic.set_defaults(run=_classic)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
