"""Typed schema of the composed config, checked once before any step runs.

Pydantic models of the sections every run reads (top level, ``trainer``, ``model``, ``data``):
types, ranges and required values. Keys not modelled here pass through (``extra="allow"``); Hydra
already rejects unknown keys at composition. :func:`validate_config` reports every problem at once,
each by its dotted key with the value given and what was expected.
"""

from __future__ import annotations

from typing import Annotated, Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from matdisco.core.config import OUTPUT_KINDS, outside_project_problem, unwritable_problems
from matdisco.core.errors import ConfigError
from matdisco.core.families import FAMILIES

Family = Literal[FAMILIES]  # type: ignore[valid-type]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False)]
Kelvin = PositiveFloat
"""Numbers are finite: ``inf`` and ``nan`` are refused like any other value out of range."""


class _Section(BaseModel):
    """A config section: modelled keys are checked, the others pass through."""

    model_config = ConfigDict(extra="allow")


class TrainerSchema(_Section):
    name: str
    max_epochs: PositiveInt | None = None
    early_stopping_patience: NonNegativeInt | None = None
    monitor: str
    parallel_fits: PositiveInt | None = None


class TrainingSchema(_Section):
    n_members: PositiveInt | None = None
    kfold_members: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    batch_size_ils: PositiveInt | None = None


class ModelSchema(_Section):
    name: str
    family: Family
    lr: PositiveFloat
    l2: NonNegativeFloat | None = None
    weight_decay: NonNegativeFloat | None = None
    training: TrainingSchema | None = None


class IonicSplitSchema(_Section):
    n_test: PositiveInt
    val_fraction: Fraction
    n_folds: Annotated[int, Field(ge=2)]
    kfold: bool


class MotifsSplitSchema(_Section):
    val_cells: PositiveInt
    test_cells: PositiveInt


class HubbardSplitSchema(_Section):
    fractions: dict[Literal["train", "val", "test"], Annotated[float, Field(ge=0.0, le=1.0)]]
    seed: int


class IonicCurationSchema(_Section):
    pressure_max_deviation_kPa: NonNegativeFloat
    sigma_max_S_per_m: PositiveFloat
    temperature_range_K: Annotated[list[Kelvin], Field(min_length=2, max_length=2)]

    @field_validator("temperature_range_K")
    @classmethod
    def _low_below_high(cls, range_K: list[float]) -> list[float]:
        if range_K[0] >= range_K[1]:
            raise ValueError("the low end must lie below the high end")
        return range_K


class IonicMeltingSchema(_Section):
    margin_K: FiniteFloat


class IonicScreeningSchema(_Section):
    temperatures_K: Annotated[list[Kelvin], Field(min_length=1)]
    top_n: PositiveInt
    min_ils_per_ion: NonNegativeInt
    min_points_per_ion: NonNegativeInt
    max_half_width_ln: NonNegativeFloat
    sigma_range_window_K: NonNegativeFloat


class IonicDataSchema(_Section):
    name: str
    family: Literal["ionic"]
    split: IonicSplitSchema
    curation: IonicCurationSchema
    screening: IonicScreeningSchema
    melting: IonicMeltingSchema


UnitFraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class MotifsEvaluateSchema(_Section):
    n_samples: PositiveInt
    bond_cutoff_angstrom: PositiveFloat
    min_distance_angstrom: PositiveFloat
    max_negative_fraction: UnitFraction
    n_bootstrap: PositiveInt
    noise_angstrom: NonNegativeFloat


class MotifsInpaintSchema(_Section):
    k_known: Annotated[list[PositiveInt], Field(min_length=1)]
    n_environments: PositiveInt
    steps: NonNegativeInt
    lr: PositiveFloat
    n_restarts: PositiveInt
    prior_weight: NonNegativeFloat
    n_candidates: PositiveInt
    n_best: PositiveInt


class MotifsGenerateSchema(_Section):
    n_samples: PositiveInt
    interpolation_frames: PositiveInt
    inpaint: MotifsInpaintSchema


class MotifsDataSchema(_Section):
    name: str
    family: Literal["motifs"]
    r_cut_angstrom: PositiveFloat
    n_neighbours: PositiveInt
    n_permutations: NonNegativeInt
    max_deficient_fraction: UnitFraction
    split: MotifsSplitSchema
    evaluate: MotifsEvaluateSchema
    generate: MotifsGenerateSchema

    @model_validator(mode="after")
    def _known_atoms_fewer_than_neighbours(self):
        too_many = [k for k in self.generate.inpaint.k_known if k >= self.n_neighbours]
        if too_many:
            raise ValueError(
                f"generate.inpaint.k_known {too_many}: each must be below n_neighbours={self.n_neighbours} "
                "(the known atoms of an environment, at least one left to inpaint)"
            )
        return self


class HubbardClosedLoopSchema(_Section):
    max_paths: PositiveInt


class HubbardGenerateSchema(_Section):
    target: Literal["next", "converged"]
    max_paths: PositiveInt
    saving_margin_eV: NonNegativeFloat
    closed_loop: HubbardClosedLoopSchema


class HubbardDataSchema(_Section):
    name: str
    family: Literal["hubbard"]
    split: HubbardSplitSchema
    generate: HubbardGenerateSchema


class RunSchema(_Section):
    seed: NonNegativeInt
    torch_num_threads: PositiveInt
    trainer: TrainerSchema
    model: ModelSchema | None = None


DATA_SCHEMAS = {"ionic": IonicDataSchema, "motifs": MotifsDataSchema, "hubbard": HubbardDataSchema}
"""Schema of the ``data`` section by its ``family``."""


def config_problems(cfg: DictConfig) -> list[str]:
    """One line per invalid value of ``cfg``: ``key=value: what was expected``."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    problems = _problems(RunSchema, plain, "")
    data = plain.get("data")
    if isinstance(data, dict) and data.get("family") in DATA_SCHEMAS:
        problems += _problems(DATA_SCHEMAS[data["family"]], data, "data.")
    if isinstance(plain.get("paths"), dict):
        problems += [p for p in (outside_project_problem(cfg, kind) for kind in OUTPUT_KINDS) if p]
    return problems


def _problems(schema: type[BaseModel], values: dict, prefix: str) -> list[str]:
    """Problems of ``values`` against ``schema``, keys prefixed with ``prefix``."""
    try:
        schema.model_validate(values)
    except ValidationError as err:
        return [_describe(prefix, error) for error in err.errors(include_url=False)]
    return []


def _describe(prefix: str, error: dict) -> str:
    """``data.split.n_test=None: Input should be a valid integer`` from one pydantic error."""
    key = (prefix + ".".join(str(part) for part in error["loc"])).rstrip(".")
    if error["type"] == "missing":
        given = " missing"
    elif isinstance(error["input"], dict):  # a check across keys of a section: its message names them
        given = ""
    else:
        given = "=" + ("null" if error["input"] is None else repr(error["input"]))
    return f"{key}{given}: {error['msg'].replace('Input should', 'expected to').replace('Value error, ', '')}"


def validate_config(cfg: DictConfig, step: str | None = None) -> None:
    """Raise one :class:`ConfigError` listing every problem of ``cfg`` (see :func:`config_problems`)
    and, for a ``step``, every output folder it cannot write (:func:`unwritable_problems`)."""
    problems = config_problems(cfg) + (unwritable_problems(cfg, step) if step else [])
    if problems:
        raise ConfigError(f"{len(problems)} invalid config value(s):\n  " + "\n  ".join(problems))
