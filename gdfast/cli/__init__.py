"""The gdfast command: denoise image files, draw the demo figures, run the
benchmarks and the tutorials' problem. python -m gdfast is the same."""
import argparse
import contextlib
import difflib
import errno
import os
import re
import sys
import time

from .. import _validation as check
from ..bench.command import add_bench_command

EXAMPLES = {
    "denoise": """examples:
  gdfast denoise noisy.png -o clean.png                 # lam chosen from the data
  gdfast denoise scan.tif -o scan_tv.tif --sigma 0.02    # the noise level, if known
  gdfast denoise scan.tif -o scan_tv.tif --lam 0.05 --method nesterov --threads 2
  gdfast denoise volume.npy -o volume_tv.npy --volume --max-iter 500
  gdfast denoise big.tif -o big_tv.tif --checkpoint big.npz     # Ctrl-C, then:
  gdfast denoise big.tif -o big_tv.tif --checkpoint big.npz --resume
  gdfast denoise scan.zarr/0 -o scan.zarr/tv --workers 2 --memory-limit 4GB
  gdfast denoise ct.zarr -o ct_tv.zarr --scheduler tcp://10.0.0.5:8786 --lam 0.02
  gdfast denoise cells.ome.zarr -o cells_tv.ome.zarr --workers 2   # OME-Zarr in and out

Integer images (8 or 16 bit) are scaled to [0, 1] (lam, eps and sigma are in
those units) and
written back in their own bit depth; float .npy data are denoised as stored.
Colour images are denoised one channel at a time; alpha is kept as it is.
Every page of a multi-page TIFF or animated PNG is denoised (page by page
at one lam chosen for the stack, one line for it, a line per page with
--verbose; or as one volume with --volume) and written as a multi-page TIFF
or .npy.
Ctrl-C stops after the iteration (on images of 1024^2 pixels or more, the
block of up to 32) in progress, saves the checkpoint (with --checkpoint) and
writes no OUTPUT.
Exit status: 0 done, 1 a file problem, 2 a bad argument, 130 interrupted.""",
    "demo": """examples:
  gdfast demo -o figures
  gdfast bench --json bench.json && gdfast demo -o figures --bench-json bench.json
  gdfast bench quality --json q.json && gdfast demo -o figures --quality-json q.json""",
    "classic": "example:\n  gdfast classic --max-iter 100",
}
DENOISE_METHODS = ("momentum", "nesterov", "gd", "adam")
# why a plane's run stopped, in the words of the denoise flags (gdfast's
# messages speak of minimize's arguments: ftol, gtol)
DENOISE_STOPS = {
    "ftol": "tol: relative change of the energy <= --tol",
    "gtol": "gtol: the gradient is zero",
    "max_iter": "max_iter: --max-iter iterations done",
}


def _classic(args):
    from .._rules import RULES
    from ..problems import CLASSIC_SETTINGS, classic_cost, run_classic
    print("minimising f(x) = x**2 + 5x + 10 from x0 = 5 (minimum -2.5), "
          "derivative by central differences, stop at |x + 2.5| < 1e-6")
    for name, settings in CLASSIC_SETTINGS.items():
        path, nit = run_classic(RULES[name], max_iter=args.max_iter, **settings)
        opts = ", ".join(f"{k}={v}" for k, v in settings.items())
        print(f"  {name:<9} ({opts:<22}) x = {path[-1]: .9f}  f = {classic_cost(path[-1]):.9f}"
              f"  iterations = {nit}")
    return 0


def _denoise(args):
    from . import zarr_denoise
    if zarr_denoise.is_zarr_path(args.input):
        return zarr_denoise.run(args)
    from .._denoise import denoise, describe_choice, describe_eps, print_guard
    from .._files import check_distinct
    from ..checkpoint import checked_checkpoint_options
    from .image_files import check_writable, read_picture, write_picture
    if args.threads is not None:
        import numba
        numba.set_num_threads(args.threads)
    if os.path.isdir(args.output):
        raise IsADirectoryError(errno.EISDIR, "OUTPUT is a folder; name the file to write, "
                                f"e.g. {os.path.join(args.output, 'clean.png')}", args.output)
    picture = read_picture(args.input, volume=args.volume)
    names = picture.plane_names()
    checkpoints = _channel_checkpoints(args, names)
    check_distinct([("INPUT", args.input), ("OUTPUT", args.output)]
                   + [("--checkpoint", c) for c in checkpoints])
    check_writable(args.output, picture, args.force)
    resumes = [args.resume and os.path.exists(c) for c in checkpoints]
    for ckpt, resume in zip(checkpoints, resumes):
        if ckpt is not None:
            checked_checkpoint_options(ckpt, args.checkpoint_every, resume)
    progress = _tqdm_installed()
    lam = "auto" if args.lam is None else args.lam
    eps = "lam/10, then lam/100" if args.eps is None else args.eps
    print(f"{args.input}: {picture.describe(gloss=True)}; lam={lam}, eps={eps}, "
          f"method={args.method}" + ("" if progress else " (pip install tqdm for a progress bar)"))
    correlated = lam == "auto" and args.sigma is None and _noise_looks_correlated(picture)
    planes, start = [], time.perf_counter()
    stack = picture.layout == "pages" and len(picture.planes) > 1
    if stack and lam == "auto":
        lam, words, note = _stack_choice(picture.planes, args)
        print(f"  {len(picture.planes)} pages: {words}")
        print_guard(note)
    runs = []
    for name, plane, ckpt, resume in zip(names, picture.planes, checkpoints, resumes):
        what = ("channel " + name if len(name) == 1 else name) if name else ""
        if args.resume and not resume:
            print(f"  no checkpoint {ckpt}: {what or 'the image'} starts afresh")
        with _naming_input(args.input, what):
            res = denoise(plane, lam, args.eps, method=args.method, max_iter=args.max_iter,
                          tol=args.tol,
                          progress=f"denoise {name}".rstrip() if progress else False,
                          checkpoint=ckpt, checkpoint_every=args.checkpoint_every if ckpt else 0,
                          resume=resume, sigma=args.sigma if lam == "auto" else None)
        if res.status == "interrupted":
            where = f"{what}, " if what else ""
            saved = (f"; the run is saved in {ckpt}: go on with the same command and --resume"
                     if ckpt else "; pass --checkpoint PATH to be able to go on")
            print(f"interrupted ({where}iteration {res.nit}); {args.output} not written{saved}",
                  file=sys.stderr)
            return 130
        if res.status == "non-finite":
            where = f"{what}: " if what else ""
            print(f"gdfast denoise: error: {where}the iterate became NaN or inf at iteration "
                  f"{res.nit + 1} (the optimizer diverged); {args.output} not written. Try "
                  "--method gd or nesterov (they converge for any --lam and --eps), or a "
                  "larger --eps", file=sys.stderr)
            return 1
        planes.append(res.x)
        runs.append(res)
        if stack and not args.verbose:
            continue
        chosen, note = "", None
        if lam == "auto":
            words, note = describe_choice(res, args.sigma is not None, correlated=correlated)
            chosen = words + ", "
        print(f"  {name + ': ' if name else ''}{chosen}{describe_eps(res)}: energy {res.fun:.8g} "
              f"after {_iterations(res.nit)} ({_stopped(res)})")
        print_guard(note)
    hint = _unconverged_hint(runs, args)
    if hint:
        print(f"  {hint}")
    if stack:
        _print_stack_summary(runs, args.verbose)
        if _looks_like_a_volume(picture.planes):
            print("  neighbouring pages differ by little more than their noise: if they are "
                  "slices of one volume, --volume denoises them together in 3-D")
    seconds = time.perf_counter() - start
    write_picture(args.output, picture.with_planes(planes), overwrite=args.force)
    print(f"wrote {args.output} ({picture.describe()}): {seconds:.2f} s")
    return 0


def _noise_looks_correlated(picture):
    """Whether an RGB picture's noise looks correlated, as JPEG's colour
    leaves it (gdfast.images.chroma_ratio above CORRELATED_CHROMA): each
    channel's estimate then reads low. False for gray pictures and stacks,
    and below 16 pixels a side (nothing to compare)."""
    from ..images import CORRELATED_CHROMA, MIN_NOISE_SIDE, chroma_ratio_of_planes
    if picture.layout != "rgb" or min(picture.planes[0].shape) < 2 * MIN_NOISE_SIDE:
        return False
    return bool(chroma_ratio_of_planes(*picture.planes) > CORRELATED_CHROMA)


# a stack's lam is chosen on at most STACK_SAMPLE of its pages, evenly spaced
STACK_SAMPLE = 8


def _stack_choice(pages, args):
    """(lam, words, guard note): lam='auto' once for a stack of pages (one
    acquisition's pages share their noise; a lam per page flickers),
    gdfast.denoise's choice on up to STACK_SAMPLE evenly spaced pages side by
    side (the seams are edges, which the noise estimate leaves out)."""
    import numpy as np

    from .._denoise import denoise, describe_choice
    picks = np.unique(np.linspace(0, len(pages) - 1, min(STACK_SAMPLE, len(pages))).round())
    sample = np.concatenate([pages[int(k)] for k in picks], axis=1)
    with _naming_input(args.input, f"{len(picks)} of its pages side by side"):
        chosen = denoise(sample, "auto", args.eps, tol=args.tol, max_iter=0, sigma=args.sigma)
    words, note = describe_choice(chosen, args.sigma is not None,
                                  f" on {len(picks)} of the pages side by side")
    return chosen.lam, words + " for every page", note


@contextlib.contextmanager
def _naming_input(path, what=""):
    """A ValueError of gdfast.denoise about the data (f) said of INPUT:
    'INPUT in.tif (channel R): f ranges from ...'."""
    try:
        yield
    except ValueError as err:
        raise ValueError(f"INPUT {path}{f' ({what})' if what else ''}: {err}") from None


def _print_stack_summary(runs, verbose):
    """One line for a stack's pages: iterations and why they stopped."""
    counts = {}
    for res in runs:
        counts[_stopped(res)] = counts.get(_stopped(res), 0) + 1
    nits = [res.nit for res in runs]
    stops = "; ".join(f"{n} {why}" if len(counts) > 1 else why for why, n in counts.items())
    more = "" if verbose else " (each page's line with --verbose)"
    print(f"  {len(runs)} pages denoised at lam {runs[0].lam:.4g}, eps {runs[0].eps:.3g}: "
          f"{min(nits)}-{max(nits)} iterations ({stops}){more}")


def _looks_like_a_volume(pages):
    """Whether neighbouring pages differ as little as neighbouring pixels in a
    page do (the median over pages of mean squared differences, noise in
    both): then they may be slices of one volume, which --volume denoises
    with the neighbours' help; unrelated pages differ by far more."""
    import numpy as np
    if len(pages) < 3:
        return False
    across = np.median([np.mean((b - a) ** 2) for a, b in zip(pages[:-1], pages[1:])])
    within = np.median([np.mean(np.diff(p, axis=-1) ** 2) for p in pages])
    return bool(across <= 2.0 * within)


def _iterations(n):
    return f"{n} iteration{'' if n == 1 else 's'}"


def _unconverged_hint(runs, args):
    """What to do when a run stopped at --max-iter before --tol was reached
    ('' when none did, or with --tol 0, which asks for max-iter iterations)."""
    if args.tol == 0 or all(res.status != "max_iter" for res in runs):
        return ""
    res = next(res for res in runs if res.status == "max_iter")
    if args.method == "gd":
        from .._denoise import lipschitz_bound
        steps = lipschitz_bound(res.lam, res.eps, res.x.ndim)
        return (f"not converged to --tol: gd needs about L = {steps:.0f} iterations at this "
                "lam and eps (1 + 8 lam/eps); raise --max-iter, give a larger --eps, or use "
                "the default --method momentum (about 100)")
    return "not converged to --tol: raise --max-iter (or --tol)"


def _stopped(res):
    """Why a plane's run stopped, naming the flag: 'tol: ... <= --tol'."""
    return DENOISE_STOPS.get(res.status, f"{res.status}: {res.message}")


def _channel_checkpoints(args, names):
    """The checkpoint file of each plane: PATH itself for one, PATH with the
    plane's name (.R, .G, .B; .page1, ...) before its suffix for several; None
    without --checkpoint."""
    if args.checkpoint is None:
        if args.resume:
            raise ValueError("--resume needs --checkpoint PATH, the file to go on from")
        return [None] * len(names)
    if len(names) == 1:
        paths = [args.checkpoint]
    else:
        stem, suffix = os.path.splitext(args.checkpoint)
        paths = [f"{stem}.{name}{suffix}" for name in names]
    if args.resume and not any(os.path.exists(p) for p in paths):
        raise FileNotFoundError(f"no checkpoint at {' or '.join(paths)}: nothing to resume")
    return paths


def _tqdm_installed():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _demo(args):
    from .demo import require_matplotlib, write_demo
    require_matplotlib()
    write_demo(args.output, bench_json=args.bench_json, size=args.size,
               quality_json=args.quality_json)
    return 0


def _checked(kind, flag):
    """An argparse type: parse the text as int or float and check it with
    gdfast._validation (the error names the flag)."""
    def parse(text):
        try:
            value = int(text) if kind == "count" else float(text)
        except ValueError:
            expected = "an integer" if kind == "count" else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        try:
            if kind == "count":
                return check.whole_number(flag, value, 0)
            if kind == "eps":
                from .._denoise import checked_eps
                return checked_eps(flag, value)
            if kind == "positive":
                return check.positive(flag, value)
            return check.non_negative(flag, value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return parse


def _count_or_auto(flag):
    """An argparse type: 'auto', or a whole number checked as _checked('count')."""
    count = _checked("count", flag)

    def parse(text):
        return "auto" if text == "auto" else count(text)
    return parse


def _thread_count(text):
    import numba
    most = numba.config.NUMBA_NUM_THREADS
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= most:
        raise argparse.ArgumentTypeError(f"--threads must be an integer from 1 to {most} "
                                         f"(NUMBA_NUM_THREADS), got {text!r}")
    return n


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors say what to type instead. An option
    that a command does not know is refused by that command (its usage, not
    gdfast's) with the closest of its options; a misspelt command or suite
    gets the closest name; a flag before the name of a command or suite is
    told to go after it. Every parser of gdfast is one of these
    (add_subparsers makes the sub-parsers of the parent's class)."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}"
                       + self._hint_for_extras(extras))
        return namespace, extras

    def error(self, message):
        bad = re.match(r"argument \S+: invalid choice: '(.*?)'", message)
        names = self._names()
        if bad and names is not None:
            message += self._hint_for_name(bad.group(1), names)
        super().error(message)

    def _names(self):
        """The action of this parser's commands or suites, or None."""
        return next((a for a in self._actions if isinstance(a.choices, dict)), None)

    def _option_strings(self):
        return [s for action in self._actions for s in action.option_strings]

    def _hint_for_extras(self, extras):
        """'; did you mean --lam?', or for a flag left before a suite's name
        '; flags go after the suite's name, ...'; '' without a hint."""
        flags = [w for w in extras if w.startswith("-")]
        names = self._names()
        if names is not None and flags:
            return self._after_the_name(names, extras)
        for flag in flags:
            near = difflib.get_close_matches(flag.split("=")[0], self._option_strings(), 1)
            if near:
                return f"; did you mean {near[0]}?"
        return ""

    def _hint_for_name(self, word, names):
        """For a word that is not a command (or suite): flags go after the
        name when an unknown flag stands before it, else the closest name."""
        given = getattr(self, "_given", [])
        at = given.index(word) if word in given else 0
        if at > 0 and given[at - 1].startswith("-") and given[at - 1] not in self._option_strings():
            return self._after_the_name(names, given[at - 1:at + 1])
        near = difflib.get_close_matches(word, list(names.choices), 1)
        return f"; did you mean {near[0]}?" if near else ""

    def _after_the_name(self, names, flags):
        return (f"; flags go after the {names.metavar.lower()}'s name, e.g. "
                f"{self.prog} {names.metavar} {' '.join(flags)}")


def build_parser():
    parser = _Parser(prog="gdfast", description=__doc__)
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"gdfast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help, description=None, usage=None):
        return sub.add_parser(name, help=help, description=description or help,
                              epilog=EXAMPLES[name], usage=usage,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    den = command("denoise", "denoise an image file (PNG, TIFF, JPEG, .npy) by smoothed "
                  "total-variation minimisation",
                  "Denoise INPUT by minimising 1/2|u - f|^2 + lam * sum sqrt(|grad u|^2 + "
                  "eps^2) (gdfast.denoise) and write OUTPUT in INPUT's bit depth; the type "
                  "of OUTPUT follows its suffix.",
                  usage="gdfast denoise INPUT -o OUTPUT [options]   (options: gdfast denoise -h)")
    den.add_argument("input", metavar="INPUT", help="a .png, .tif/.tiff, .jpg/.jpeg or .npy "
                     "file, or a zarr array (a .zarr folder or a dataset inside one) or an "
                     "OME-Zarr image (NGFF 0.4 or 0.5: level 0, each channel and time point "
                     "apart): runs on Dask, needs gdfast[dask]")
    den.add_argument("-o", "--output", metavar="OUTPUT", required=True,
                     help="where to write the result (.png, .tif/.tiff, .jpg/.jpeg or .npy; "
                     "a zarr array for zarr INPUT; an OME-Zarr image, with INPUT's metadata and "
                     "levels, for OME-Zarr INPUT)")
    den.add_argument("--lam", type=_checked("non_negative", "--lam"), default=None,
                     help="weight of the TV term, in units of the [0, 1] intensity (larger "
                     "is smoother; default: chosen per channel, once for a page stack, by "
                     "minimising Stein's unbiased risk estimate)")
    den.add_argument("--sigma", type=_checked("positive", "--sigma"), default=None,
                     help="the noise's standard deviation, for the choice of lam (default: "
                     "estimated from the data)")
    den.add_argument("--eps", type=_checked("eps", "--eps"), default=None,
                     help="smoothing of |grad u| (default lam/10 for 20 iterations, then "
                     "lam/100: the exact TV minimiser's quality)")
    den.add_argument("--method", choices=DENOISE_METHODS, default="momentum",
                     help="optimizer (default momentum: Polyak's heavy ball; nesterov has a "
                     "convergence guarantee)")
    den.add_argument("--max-iter", type=_checked("count", "--max-iter"), default=300,
                     help="most iterations per channel (default 300)")
    den.add_argument("--tol", type=_checked("non_negative", "--tol"), default=1e-7,
                     help="stop when the relative change of the energy is <= tol "
                     "(default 1e-7; 0 runs max-iter iterations)")
    den.add_argument("--threads", type=_thread_count, default=None,
                     help="numba threads (default: NUMBA_NUM_THREADS, all cores)")
    den.add_argument("--volume", action="store_true",
                     help=".npy: treat a 3-D array as a (D, H, W) volume even if its last "
                     "axis has length 3 or 4")
    den.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    den.add_argument("--verbose", action="store_true",
                     help="a line per page of a stack (default: one line for the stack)")
    den.add_argument("--checkpoint", metavar="PATH",
                     help="save the run to PATH (.npz; PATH.R.npz, .G, .B for colour) every "
                     "--checkpoint-every iterations and on Ctrl-C")
    den.add_argument("--checkpoint-every", type=_checked("count", "--checkpoint-every"),
                     default=50, help="iterations between checkpoints (default 50)")
    den.add_argument("--resume", action="store_true",
                     help="go on from --checkpoint (same INPUT and parameters), bit for bit as "
                     "if never stopped")
    dask = den.add_argument_group("zarr INPUT (on Dask)")
    dask.add_argument("--workers", type=_checked("count", "--workers"), default=None,
                      help="worker processes of the LocalCluster (default: the cores)")
    dask.add_argument("--memory-limit", metavar="BYTES", default=None,
                      help="memory limit of each worker, e.g. 4GB (default: dask's 'auto', "
                      "the machine's memory shared out); the chunks are sized from it")
    dask.add_argument("--scheduler", metavar="ADDRESS", default=None,
                      help="run on an existing Dask cluster (tcp://host:port) instead")
    dask.add_argument("--sweep", type=_count_or_auto("--sweep"), default="auto",
                      help="iterations per sweep: each sweep reads and writes the work group "
                      "once (default auto: as many as keep the halo's extra work under 40%%)")
    dask.add_argument("--store", metavar="FOLDER", default=None,
                      help="the work group (default OUTPUT + .gdfast-work; removed when "
                      "OUTPUT is written, kept on Ctrl-C for --resume)")
    den.set_defaults(run=_denoise)

    demo = command("demo", "write the demo figures (PNG) into a folder (needs matplotlib)",
                   "Write PNG figures: the classic cost with the gradient-descent path, every "
                   "optimizer's path and cost, the polynomial fit, a denoising triptych and a "
                   "bar chart of the figures of gdfast bench.")
    demo.add_argument("-o", "--output", metavar="DIR", required=True, help="folder for the PNGs")
    demo.add_argument("--bench-json", metavar="PATH",
                      help="a gdfast bench --json file to chart (default: run a small "
                      "benchmark now and save it as DIR/bench.json)")
    demo.add_argument("--quality-json", metavar="PATH",
                      help="a gdfast bench quality --json file: also draw quality.png, "
                      "PSNR against time for gdfast and the TV anchors")
    demo.add_argument("--size", type=_checked("count", "--size"), default=256,
                      help="side of the denoising example image (default 256)")
    demo.set_defaults(run=_demo)

    add_bench_command(sub, argparse.RawDescriptionHelpFormatter)
    classic = command("classic", "the tutorials' problem: every rule on x**2 + 5x + 10 "
                      "from x0 = 5")
    classic.add_argument("--max-iter", type=_checked("count", "--max-iter"), default=1000,
                         help="most steps per rule (default 1000)")
    classic.set_defaults(run=_classic)
    return parser


def main(argv=None):
    """Run the command; user errors print one line and exit with status 1
    (files, data) or 2 (arguments, as argparse does)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "denoise" and args.sigma is not None and args.lam is not None:
        parser.error("--sigma sets how lam is chosen; give --sigma or --lam, not both")
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"gdfast {args.command}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ModuleNotFoundError, ValueError) as err:   # disk full, read-only, ...
        print(f"gdfast {args.command}: error: {_message(err)}", file=sys.stderr)
        return 1


def _message(err):
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    return str(err)


if __name__ == "__main__":
    sys.exit(main())
