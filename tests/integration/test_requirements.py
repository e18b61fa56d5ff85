"""requirements/lock.txt pins every installed package (transitive ones too) and agrees with the
direct pins of requirements/direct.txt."""

from importlib import metadata
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
NOT_PINNED = {"matdisco", "pip", "setuptools", "wheel"}


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line (names normalised as pip does)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            out[normalise(name.split("[")[0])] = version
    return out


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_direct_pins_are_in_the_lock_at_the_same_version():
    lock = pins(REQUIREMENTS / "lock.txt")
    direct = pins(REQUIREMENTS / "direct.txt")
    assert {n: v for n, v in direct.items() if lock.get(n) != v} == {}


def test_every_installed_package_is_pinned_at_its_installed_version():
    lock = pins(REQUIREMENTS / "lock.txt")
    installed = {normalise(d.metadata["Name"]): d.version.split("+")[0] for d in metadata.distributions()}
    if "ruff" not in installed:
        pytest.skip("the venv was not built from requirements/lock.txt (`make setup`)")
    drift = {n: (v, lock.get(n)) for n, v in installed.items() if n not in NOT_PINNED and lock.get(n) != v}
    assert drift == {}, f"installed (version, pinned) differ; run `make lock`: {drift}"
