"""``ionic_generate``: rank every new cation x anion pair with the default-split ensemble of
``data.screening.model`` (science in :mod:`matdisco.ionic.screening`)."""

from __future__ import annotations

import pandas as pd

from matdisco.core.config import artifact
from matdisco.core.io import atomic_path, atomic_write_json, atomic_write_text
from matdisco.ionic import keys
from matdisco.ionic.data import load_points, model_dir, processed_dir
from matdisco.ionic.prediction import Ensemble
from matdisco.ionic.screening import candidate_pairs, locate_references, per_ion_terms, rank, screen, top_markdown


def generate(cfg) -> dict:
    """Rank all new pairs with the default-split ensemble of ``data.screening.model``.

    Writes results/ionic/screening.csv (every pair and temperature), results/ionic/screening_top.md
    and metrics/ionic/screening.json.
    """
    settings = cfg.data.screening
    points = load_points(cfg)
    ions = pd.read_parquet(processed_dir(cfg) / "ions.parquet")
    ensemble = Ensemble.load(model_dir(cfg, settings.model) / "default")
    pairs = candidate_pairs(ions, points)
    ion_terms, ion_unseen = per_ion_terms(ensemble, list(ions[keys.ION_SMILES]), cfg.data.typing.scheme)
    table = screen(ensemble, pairs, ion_terms, ion_unseen, list(settings.temperatures_K))
    ranked = rank(table, settings.temperatures_K[0])
    references = locate_references(ranked, points, list(settings.reference_pairs))
    with atomic_path(artifact(cfg, "results", "ionic", "screening.csv")) as tmp:
        table.sort_values([keys.TEMPERATURE_K, keys.PRED_LN_SIGMA], ascending=[True, False]).to_csv(tmp, index=False)
    atomic_write_text(artifact(cfg, "results", "ionic", "screening_top.md"), top_markdown(ranked, references, settings.model, settings.temperatures_K[0], settings.top_n))
    summary = {
        "model": settings.model,
        "n_pairs": len(pairs),
        "n_temperatures": len(settings.temperatures_K),
        "n_pairs_with_unseen_types": int((ranked[keys.UNSEEN_TYPES] != "").sum()),
        "top_pair": f"{ranked.iloc[0][keys.CATION_NAME]} + {ranked.iloc[0][keys.ANION_NAME]}",
        "top_sigma_S_per_m": float(ranked.iloc[0][keys.PRED_SIGMA_S_PER_M]),
        "talk_reference_pairs": references,
    }
    atomic_write_json(artifact(cfg, "metrics", "ionic", "screening.json"), summary)
    return {k: summary[k] for k in ("n_pairs", "top_pair", "top_sigma_S_per_m")}
