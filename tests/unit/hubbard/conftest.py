"""Fixtures: QE's own HP example outputs (real pw.x / hp.x outputs shipped by the Debian package)."""

from pathlib import Path

import pytest

QE_HP_EXAMPLES = Path("/usr/share/doc/quantum-espresso/examples/HP")


@pytest.fixture(scope="session")
def qe_reference():
    """Function giving the path of ``example<NN>/reference/<name>``; skips when QE's docs are absent."""
    if not QE_HP_EXAMPLES.is_dir():
        pytest.skip("Quantum ESPRESSO HP examples are not installed (apt-get install quantum-espresso)")

    def reference(example: str, name: str) -> Path:
        return QE_HP_EXAMPLES / example / "reference" / name

    return reference
