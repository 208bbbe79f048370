"""`dtp`: the command-line tool for one pair.

    dtp stylize CONTENT STYLE -o OUT.png [--size 256] [--iterations 1000] [--preset dtp_lc1_5] [--full-res] [--overwrite] ...
    dtp presets        list the named presets (the paper's settings and the Fig. 5 ablations)
    dtp backbone       say which backbone weights a run would use, and why

Every user error (a bad image, option or weights file) ends with one line naming what and how to
fix it, exit status 2; nothing already written is touched. Every path a run will write is checked
before the backbone is loaded (docs/refusals.md lists the checks), so a run never fails over an
output path after training, and it replaces existing results only with --overwrite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from pathlib import Path

import yaml

from .backbone import BACKBONES, resolve_weights
from .config import PRESET_DESCRIPTIONS, PRESETS, DTPConfig, preset, typed_fields
from .errors import ConfigError, Note, exit_status
from .images import load_pair
from .outputs import check_outputs, partial_loss_csv_path, planned_paths, save_result
from .records import git_commit, package_version


def _snapshots(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(sorted({int(part) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated iteration numbers, got {text!r}") from None


def _assignment(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip().replace("-", "_"), yaml.safe_load(value)


def version_line() -> str:
    """`dtp --version`: the package's version, and the commit when run from a checkout (the sidecars
    record both)."""
    commit = git_commit()
    return f"dtp (dtp-bench) {package_version('dtp-bench') or 'not installed'}" + (f", git {commit}" if commit else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dtp", description="Deep Translation Prior: photorealistic style transfer "
                                     "by test-time training on one content/style pair.")
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("stylize", help="stylise CONTENT in the look of STYLE")
    run.add_argument("content", type=Path)
    run.add_argument("style", type=Path)
    run.add_argument("-o", "--output", type=Path, required=True, help="output PNG (sidecar .json and .loss.csv beside it)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace OUT.png and its other files if they exist (default: refuse)")
    run.add_argument("--preset", default="dtp_lc1_5", choices=sorted(PRESETS), help="named setting (default: %(default)s)")
    run.add_argument("--size", type=int, help="resize both images to SIZE x SIZE (default 256)")
    run.add_argument("--keep-aspect", action="store_true", help="long side = SIZE, aspect ratio kept")
    run.add_argument("--full-res", action="store_true",
                     help="train at SIZE, deliver at the content's own size and orientation (edge-aware local "
                          "affine upsampling; OUT.working.png keeps the working-size result)")
    run.add_argument("--iterations", type=int, help="test-time training iterations (default 1000)")
    run.add_argument("--lambda-c", type=float, help="content weight lambda_c in [0, 1] (default 1/5)")
    run.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    run.add_argument("--seed", type=int, help="random seed (default 1006)")
    run.add_argument("--deterministic", action="store_true", help="deterministic kernels (slower on CUDA)")
    run.add_argument("--backbone", choices=sorted(BACKBONES), help="feature extractor (default vgg19)")
    run.add_argument("--weights", type=Path, help="backbone weights file (torchvision VGG state dict)")
    run.add_argument("--snapshots", type=_snapshots, help="iterations to save as well, e.g. 0,499,999 or none")
    run.add_argument("--set", dest="overrides", type=_assignment, action="append", default=[], metavar="KEY=VALUE",
                     help="any other DTPConfig field, e.g. --set tau_corr=0.07 (repeatable)")
    progress = run.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")

    commands.add_parser("presets", help="list the named presets")
    which = commands.add_parser("backbone", help="show which backbone weights a run would use")
    which.add_argument("--backbone", default="vgg19", choices=sorted(BACKBONES))
    which.add_argument("--weights", type=Path)
    return parser


def config_from_args(args: argparse.Namespace) -> DTPConfig:
    try:  # the workflow's reading of parameters: unknown keys (with the closest name) and types
        overrides = typed_fields(DTPConfig, dict(args.overrides), "is not a DTP parameter")
    except ConfigError as err:
        raise ConfigError(f"--set {err.option}", err.problem, err.fix) from None
    named = {"size": args.size, "iterations": args.iterations, "lambda_c": args.lambda_c, "seed": args.seed,
             "backbone": args.backbone, "snapshots": args.snapshots}
    overrides.update({key: value for key, value in named.items() if value is not None})
    if args.keep_aspect:
        overrides["keep_aspect"] = True
    if args.deterministic:
        overrides["deterministic"] = True
    for key, value in overrides.items():
        if isinstance(value, list):
            overrides[key] = tuple(value)
    try:
        return preset(args.preset, **overrides)
    except TypeError as err:  # e.g. a string where a number is expected
        raise ConfigError("options", str(err)) from None
    except ConfigError as err:  # a range check of DTPConfig: say which option sets the value
        if err.fix:
            raise
        flag = f"--{err.option.replace('_', '-')}" if err.option in named else f"--set {err.option}=VALUE"
        raise ConfigError(err.option, err.problem, f"change {flag}") from None


def planned_outputs(args: argparse.Namespace, config: DTPConfig) -> dict[str, Path]:
    """Every file `dtp stylize` will write (a snapshot past the last iteration never exists)."""
    snapshots = [iteration for iteration in config.snapshots if iteration < config.iterations]
    # trainer.stylize's one extra image, and the working-size image that fullres.deliver_full_res adds
    extras = ["warped", "working"] if args.full_res else ["warped"]
    return planned_paths(args.output, snapshots, extras)


def _stylize(args: argparse.Namespace) -> int:
    from .fullres import deliver_full_res, load_full_size  # deferred: keeps `dtp --help` fast
    from .trainer import stylize

    if args.output.suffix.lower() != ".png":
        raise ConfigError("--output", f"{args.output} must end in .png", "e.g. -o result.png")
    config = config_from_args(args)
    check_outputs(planned_outputs(args, config).values(),
                  {"content image": args.content, "style image": args.style}, overwrite=args.overwrite)
    # the inputs before the weights: a bad image is found in a moment, the weights may be hashed first
    content, style = load_pair(args.content, args.style, size=config.size, keep_aspect=config.keep_aspect)
    resolved = resolve_weights(config.backbone, args.weights)
    if resolved.note:
        print(f"note: {resolved.note}", file=sys.stderr)
    result = stylize(content, style, config=config, device=args.device, progress=args.progress, resolved=resolved,
                     loss_log=partial_loss_csv_path(args.output))
    if args.full_res:
        result = deliver_full_res(result, content, load_full_size(args.content))
    sidecar = save_result(result, args.output, extra_facts={
        "preset": args.preset, "content_file": str(args.content), "style_file": str(args.style)})
    delivered = f", delivered at {sidecar['full_res']['output_shape']} in {sidecar['full_res']['seconds']:.1f} s" \
        if args.full_res else ""
    print(f"wrote {args.output} ({sidecar['seconds']:.1f} s, {sidecar['seconds_per_iteration']:.3f} s/it, "
          f"peak RSS {sidecar['peak_rss_mib']:.0f} MiB, {sidecar['device']}{delivered})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with _notes_on_stderr():
        return exit_status(lambda: COMMANDS[args.command](args), "dtp", "interrupted; nothing was written for this run")


@contextlib.contextmanager
def _notes_on_stderr():
    """Show each `Note` (e.g. "has 3 frames; the first is used") once, as a "note:" line like
    the backbone's: the user wants the fact, not a warning's source file and line. The content is
    loaded twice with --full-res, hence the once."""
    shown, default = set(), warnings.showwarning

    def show(message, category, *rest, **kwargs):
        if not issubclass(category, Note):
            return default(message, category, *rest, **kwargs)
        if str(message) not in shown:
            shown.add(str(message))
            print(f"note: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", Note)
        warnings.showwarning = show
        yield


def _presets(args: argparse.Namespace) -> int:
    for name in PRESETS:
        print(f"{name:24s} {PRESET_DESCRIPTIONS[name]}  {json.dumps(PRESETS[name])}")
    return 0


def _backbone(args: argparse.Namespace) -> int:
    print(json.dumps(resolve_weights(args.backbone, args.weights).record(), indent=2))
    return 0


COMMANDS = {"stylize": _stylize, "presets": _presets, "backbone": _backbone}


if __name__ == "__main__":
    sys.exit(main())
