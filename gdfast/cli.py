"""The ``gdfast`` command: ``gdfast bench`` and ``gdfast classic``."""
import argparse
import sys

EXAMPLES = {
    "bench": "examples: gdfast bench --json bench.json ; gdfast bench --size 4096 ; "
             "gdfast bench --suite adam",
    "classic": "example: gdfast classic",
}


def _bench(args):
    from .benchmarks import run_kernel_benchmark, write_json
    from .denoise_benchmark import run_denoise_benchmark
    from .driver_benchmark import run_driver_benchmark
    from .rules_benchmark import SIZES, run_rules_benchmark
    with_torch = False if args.no_torch else None
    if args.suite == "rules":
        results = run_rules_benchmark(sizes=tuple(args.rules_sizes or SIZES), reps=args.reps)
    elif args.suite == "driver":
        results = run_driver_benchmark(pixels_per_side=args.size or 256)
    elif args.suite == "adam":
        results = run_kernel_benchmark(n_large=args.n_large, n_small=args.n_small,
                                       reps=args.reps, with_torch=with_torch)
    else:
        results = run_denoise_benchmark(size=args.size or 2048, reps=args.reps,
                                        reference_iterations=args.reference_iterations,
                                        with_torch=with_torch,
                                        with_skimage=False if args.no_skimage else None)
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
    bench = sub.add_parser("bench", help="time TV denoising (default) or the Adam kernel "
                           "against numpy, pure Python, torch and scikit-image, beside a "
                           "STREAM triad", epilog=EXAMPLES["bench"])
    bench.add_argument("--suite", choices=("denoise", "adam", "driver", "rules"), default="denoise",
                       help="denoise: one TV-denoising iteration per optimizer and the time "
                       "to chambolle's PSNR (default); adam: the Adam kernel at two sizes; "
                       "driver: the nopython loop and the batch relaxometry fit; rules: every "
                       "update rule beside torch.optim at three sizes")
    bench.add_argument("--rules-sizes", type=int, nargs="+", metavar="N",
                       help="rules: the sizes (default 10000 1000000 16000000)")
    bench.add_argument("--size", type=int, default=None,
                       help="denoise: image side in pixels (512, 2048 default, 4096); "
                       "driver: side of the relaxometry stack (default 256)")
    bench.add_argument("--reference-iterations", type=int, default=1,
                       help="denoise: iterations of the pure-Python reference (default 1)")
    bench.add_argument("--n-large", type=int, default=16_000_000, help="adam: large size (default 16,000,000)")
    bench.add_argument("--n-small", type=int, default=10_000, help="adam: small size (default 10,000)")
    bench.add_argument("--reps", type=int, default=10, help="timed rounds for fast candidates (default 10)")
    bench.add_argument("--no-torch", action="store_true", help="leave torch out even if installed")
    bench.add_argument("--no-skimage", action="store_true",
                       help="denoise: synthetic image, no chambolle comparison")
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
