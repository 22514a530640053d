"""`gdfast bench [SUITE]`: one sub-command per suite, each with its own flags.

Plain `gdfast bench` runs the denoise suite with its defaults (README's main
job). --json is common to every suite and --no-torch to those that time
torch (TORCH_SUITES); both may stand before or after the suite's name. The
exit status says whether every target was met (EXIT_STATUS, below; the
codes are gdfast.bench.report's).
"""
import argparse

EXAMPLES = """examples:
  gdfast bench                          # the denoise suite at 2048x2048
  gdfast bench --json bench.json
  gdfast bench denoise --size 4096
  gdfast bench adam                     # the Adam kernel against numpy and torch.optim
  gdfast bench rules                    # every update rule beside torch.optim
  gdfast bench driver                   # the nopython loop and the batch fit
  gdfast bench memory                   # peak RSS, in fresh interpreters
  gdfast bench startup                  # whole processes: first and second run
  gdfast bench quality                  # denoising quality per time, against the anchors
  gdfast bench dask                     # gdfast.dask beside the in-memory run (needs gdfast[dask])
  gdfast bench dask --out-of-core       # also a volume 1.5x the machine's RAM
  gdfast bench blocking                 # K iterations by tiles against the fused pass
  gdfast bench solve                    # minimize's default against scipy and torch L-BFGS
  gdfast bench solve --quick --png p.png # the suite at small sizes, performance profiles
  gdfast bench fit                      # per-pixel fits: LM, L-BFGS, Adam and scipy side by side"""

TORCH_SUITES = ("denoise", "adam", "rules")

EXIT_STATUS = """exit status:
  0    every target met (or the run has none)
  1    an error, nothing measured (a bad value, a missing file or package)
  2    a bad argument
  3    a target NOT met on an idle machine: a real miss
  4    a target NOT met on a busy machine (load average above half the cores
       before the run): the figures are not trustworthy; rerun on an idle one
  130  interrupted
A rules target missed within the run's own noise (a tie) is not a miss. The
last line printed says which applies."""


def suite_examples(name):
    """The examples of EXAMPLES that run suite ``name`` (plain `gdfast bench`
    lines run denoise)."""
    lines = [line for line in EXAMPLES.splitlines()[1:]
             if f"gdfast bench {name}" in line
             or (name == "denoise" and line.split("#")[0].split()[2:3] in ([], ["--json"]))]
    return "examples:\n" + "\n".join(lines)


SUITES = {
    "denoise": "one TV-denoising iteration per optimizer against numpy, the pure-Python "
               "reference and torch, and gdfast.denoise's defaults against scikit-image, "
               "pyproximal and torch at equal quality (default)",
    "adam": "the Adam kernel at two sizes against numpy, pure Python and torch.optim",
    "driver": "the nopython loop and the batch relaxometry fit",
    "rules": "every update rule beside torch.optim at three sizes",
    "memory": "peak RSS of long Adam runs and of gdfast denoise, in fresh interpreters",
    "startup": "whole processes (gdfast denoise on a PNG, minimize_batch, import) on an "
               "empty and a warm compile cache, beside a scikit-image script",
    "quality": "denoise's defaults (lam='auto', eps=None) against the exact TV minimiser, "
               "and the time to the best PSNR beside scikit-image and pyproximal",
    "dask": "gdfast.dask.denoise on a LocalCluster beside the in-memory run (throughput, "
            "bit for bit), apply_parallel's seams, and out of core",
    "blocking": "K iterations by cache-sized tiles (temporal blocking) against denoise's "
                "fused pass at 2048^2 and 4096^2, beside a STREAM triad",
    "solve": "time to the answer: gdfast.minimize's default beside scipy's L-BFGS-B and "
             "torch's LBFGS on More, Garbow & Hillstrom's 18 problems, extended Rosenbrock, "
             "a logistic regression and TV denoising of a 1024^2 image",
    "fit": "the batch relaxometry fit (65,536 pixels): least_squares_batch (LM) beside "
           "minimize_batch's L-BFGS and Adam and a loop over scipy's least_squares",
}


def _common(suppress, torch=True):
    """--json, and --no-torch where the suite times torch; on the suites'
    parsers their defaults are suppressed so that a flag given before the
    suite's name is kept."""
    common = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if suppress else None
    common.add_argument("--json", metavar="PATH", default=default,
                        help="also write the figures as JSON")
    if torch:
        common.add_argument("--no-torch", action="store_true",
                            default=argparse.SUPPRESS if suppress else False,
                            help="leave torch out even if installed")
    return common


def _add_suite_arguments(name, p):
    if name == "denoise":
        p.add_argument("--size", type=int, default=2048,
                       help="image side in pixels (512, 2048 default, 4096)")
        p.add_argument("--reps", type=int, default=10, help="timed rounds (default 10)")
        p.add_argument("--reference-iterations", type=int, default=1,
                       help="iterations of the pure-Python reference (default 1)")
        p.add_argument("--no-skimage", action="store_true",
                       help="synthetic image, no chambolle comparison")
    elif name == "adam":
        p.add_argument("--n-large", type=int, default=16_000_000,
                       help="large size (default 16,000,000)")
        p.add_argument("--n-small", type=int, default=10_000, help="small size (default 10,000)")
        p.add_argument("--reps", type=int, default=10, help="timed rounds (default 10)")
    elif name == "driver":
        p.add_argument("--size", type=int, default=256,
                       help="side of the relaxometry stack (default 256)")
    elif name == "rules":
        p.add_argument("--sizes", type=int, nargs="+", metavar="N",
                       help="the sizes (default 10000 1000000 16000000)")
        p.add_argument("--reps", type=int, default=10,
                       help="rounds: 5x, 2x and 1x this at n <= 100,000, <= 1,000,000 and "
                       "above (default 10)")
    elif name == "startup":
        p.add_argument("--size", type=int, default=512, help="PNG side in pixels (default 512)")
        p.add_argument("--reps", type=int, default=7,
                       help="rounds of the second run, candidates alternating (default 7)")
        p.add_argument("--python", metavar="PATH",
                       help="interpreter for the gdfast and import candidates (default: this "
                       "one), e.g. an environment with only gdfast's own dependencies")
        p.add_argument("--warm-only", action="store_true",
                       help="no first run on an empty cache folder: only the second run, on "
                       "the compile cache this Python already uses (seconds, not a minute)")
    elif name == "quality":
        p.add_argument("--sizes", type=int, nargs="+", metavar="N",
                       help="sides of the frontier's image (default 512 2048)")
        p.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
        p.add_argument("--frontier-only", action="store_true",
                       help="only the time-to-PSNR frontier (section 3), minutes sooner")
        p.add_argument("--quick", action="store_true",
                       help="a small run that checks the suite works (256 px photographs "
                       "camera and coffee, sigma 0.02 and 0.1, frontier at 256)")
        p.add_argument("--photo-side", type=int, metavar="N",
                       help="centre crops of N px of the photographs and textures (sections "
                       "1 and 2; default whole, 256 with --quick)")
        p.add_argument("--weights", type=float, nargs="+", metavar="W",
                       help="the frontier's weights, sigma x these (default 0.5 0.71 1 1.41 2)")
    elif name == "dask":
        p.add_argument("--size", type=int, default=512, help="side of the volume (default 512)")
        p.add_argument("--iterations", type=int, default=64, help="iterations (default 64)")
        p.add_argument("--sweep", type=lambda t: t if t == "auto" else int(t), default="auto",
                       help="iterations per sweep (default auto)")
        p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
        p.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
        p.add_argument("--seam-size", type=int, default=256,
                       help="side of apply_parallel's volume (default 256)")
        p.add_argument("--seam-iterations", type=int, default=50,
                       help="iterations of the seams' runs (default 50)")
        p.add_argument("--checkpoint-every", type=int, default=8, metavar="N",
                       help="the checkpointed in-memory run's checkpoint_every (default 8)")
        p.add_argument("--out-of-core", action="store_true",
                       help="also a volume whose working set is 1.5x this machine's RAM")
        p.add_argument("--folder", metavar="DIR", default=None,
                       help="where the zarr arrays go (default: the temporary folder)")
    elif name == "blocking":
        p.add_argument("--sizes", type=int, nargs="*", metavar="N",
                       default=[512, 1024, 2048, 4096],
                       help="image sides (default 512 1024 2048 4096; none: volumes only)")
        p.add_argument("--volumes", type=int, nargs="*", metavar="N", default=[128, 256],
                       help="3-D volume sides (default 128 256; none: images only)")
        p.add_argument("--volume-sweeps", type=int, nargs="+", metavar="K", default=[4, 8],
                       help="iterations per 3-D tile visit (default 4 8)")
        p.add_argument("--bricks", type=_brick, nargs="+", metavar="PxR",
                       default=[(16, 32), (32, 64), (32, 0)],
                       help="3-D tiles of P planes by R whole rows, R = 0: whole planes "
                       "(default 16x32 32x64 32x0)")
        p.add_argument("--sweeps", type=int, nargs="+", metavar="K", default=[16, 32],
                       help="iterations per tile visit (default 16 32)")
        p.add_argument("--tiles", type=int, nargs="+", metavar="C", default=[256, 512],
                       help="tile sides, multiples of 256 (default 256 512)")
        p.add_argument("--slabs", type=int, nargs="*", metavar="R", default=[256],
                       help="slabs of R whole rows (default 256)")
        p.add_argument("--iterations", type=int, default=64,
                       help="iterations per timed call, a multiple of every K (default 64)")
        p.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    elif name == "solve":
        p.add_argument("--quick", action="store_true",
                       help="the suite at small sizes (Rosenbrock n = 100, logistic 2,000 x 20)")
        p.add_argument("--problems", nargs="+", metavar="NAME",
                       help="only these problems (default: all)")
        p.add_argument("--reps", type=int, default=None,
                       help="runs per solver, the median time (default 3; 1 with --quick "
                       "and for the large problems)")
        p.add_argument("--png", metavar="PATH", help="draw the performance profiles there")
    elif name == "fit":
        p.add_argument("--side", type=int, default=256,
                       help="the stack is SIDE^2 pixels (default 256: 65,536)")
        p.add_argument("--scipy-pixels", type=int, default=512,
                       help="pixels scipy's loop fits (default 512)")
        p.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    elif name == "memory":
        p.add_argument("--n", type=int, default=16_000_000,
                       help="parameters of the Adam runs, pixels of the denoised image "
                       "(default 16,000,000)")


def add_bench_command(sub, formatter):
    """Add `bench` and its suites to the sub-parsers ``sub`` of `gdfast`."""
    bench = sub.add_parser("bench", parents=[_common(False)],
                           help="time the kernels and the denoiser against numpy, pure "
                           "Python, torch and scikit-image, beside a STREAM triad",
                           description=__doc__, epilog=EXAMPLES + "\n\n" + EXIT_STATUS,
                           formatter_class=formatter)
    suites = bench.add_subparsers(dest="suite", metavar="SUITE",
                                  help="the suite to run (default: denoise)")
    parsers = {}
    for name, text in SUITES.items():
        p = suites.add_parser(name, parents=[_common(True, name in TORCH_SUITES)], help=text,
                              description=text,
                              epilog=suite_examples(name) + "\n\n" + EXIT_STATUS,
                              formatter_class=formatter)
        _add_suite_arguments(name, p)
        parsers[name] = p
    bench.set_defaults(run=lambda args: run_bench(args, parsers))
    return bench


def run_bench(args, parsers):
    """Run the suite args name (denoise when none), print, write --json;
    returns the exit status (EXIT_STATUS: 0 every target met, 3 one NOT met,
    4 one NOT met on a busy machine)."""
    if args.suite is None:                       # plain `gdfast bench`: denoise's defaults
        args.suite = "denoise"
        parsers["denoise"].parse_args([], namespace=args)
    with_torch = False if args.no_torch else None
    if args.suite == "startup":
        from .startup import run_startup_benchmark
        results = run_startup_benchmark(size=args.size, reps=args.reps, python=args.python,
                                        warm_only=args.warm_only)
    elif args.suite == "quality":
        from .quality import FRONTIER_WEIGHTS, run_quality_benchmark
        weights = tuple(args.weights or FRONTIER_WEIGHTS)
        if args.quick:
            results = run_quality_benchmark(sizes=tuple(args.sizes or (256,)),
                                            photo_side=args.photo_side or 256,
                                            photos=("camera", "coffee"), sigmas=(0.02, 0.1),
                                            textures=("gravel",), texture_sigmas=(0.005,),
                                            rounds=min(args.rounds, 3),
                                            frontier_only=args.frontier_only, weights=weights)
        else:
            results = run_quality_benchmark(sizes=tuple(args.sizes or (512, 2048)),
                                            photo_side=args.photo_side, rounds=args.rounds,
                                            frontier_only=args.frontier_only, weights=weights)
    elif args.suite == "dask":
        from .on_dask import run_dask_benchmark
        results = run_dask_benchmark(size=args.size, iterations=args.iterations,
                                     sweep=args.sweep, workers=args.workers, rounds=args.rounds,
                                     seam_size=args.seam_size, out_of_core=args.out_of_core,
                                     folder=args.folder, seam_iterations=args.seam_iterations,
                                     checkpoint_every=args.checkpoint_every)
    elif args.suite == "blocking":
        from .blocking import run_blocking_benchmark
        results = run_blocking_benchmark(sizes=tuple(args.sizes), sweeps=tuple(args.sweeps),
                                         tiles=tuple(args.tiles), slabs=tuple(args.slabs),
                                         iterations=args.iterations,
                                         rounds=args.rounds, volumes=tuple(args.volumes),
                                         volume_sweeps=tuple(args.volume_sweeps),
                                         bricks=tuple(args.bricks))
    elif args.suite == "solve":
        from .solve import run_solve_suite
        results = run_solve_suite(quick=args.quick, problems=args.problems, reps=args.reps,
                                  png=args.png)
    elif args.suite == "fit":
        from .fit import run_fit_benchmark
        results = run_fit_benchmark(side=args.side, scipy_pixels=args.scipy_pixels,
                                    rounds=args.rounds)
    elif args.suite == "memory":
        from .memory import run_memory_benchmark
        results = run_memory_benchmark(n=args.n)
    elif args.suite == "rules":
        from .rules import SIZES, run_rules_benchmark
        results = run_rules_benchmark(sizes=tuple(args.sizes or SIZES), reps=args.reps,
                                      with_torch=with_torch)
    elif args.suite == "driver":
        from .driver import run_driver_benchmark
        results = run_driver_benchmark(pixels_per_side=args.size)
    elif args.suite == "adam":
        from .adam import run_kernel_benchmark
        results = run_kernel_benchmark(n_large=args.n_large, n_small=args.n_small,
                                       reps=args.reps, with_torch=with_torch)
    else:
        from .denoise import run_denoise_benchmark
        results = run_denoise_benchmark(size=args.size, reps=args.reps,
                                        reference_iterations=args.reference_iterations,
                                        with_torch=with_torch,
                                        with_skimage=False if args.no_skimage else None)
    from .report import exit_status, verdict_line, write_json
    if args.json:
        write_json(results, args.json)
        print(f"wrote {args.json}")
    print(verdict_line(results))
    return exit_status(results)


def _brick(text):
    """'PxR' -> (P, R): a 3-D tile of P planes by R whole rows (0: all rows)."""
    try:
        planes, rows = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected PxR (e.g. 32x64), got {text!r}") from None
    if planes < 1 or rows < 0:
        raise argparse.ArgumentTypeError(f"expected P >= 1 and R >= 0, got {text!r}")
    return planes, rows
