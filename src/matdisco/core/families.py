"""The model families of matdisco: the one list of them.

Each name is a package ``matdisco.<name>`` exposing the step functions (``extract``, ``train``,
``evaluate``, ``generate``, optionally ``simulate``), ``bench`` and optionally ``fetch_raw``; configs
name their family in ``family:``. Core code reaches a family only through this list and importlib.
"""

FAMILIES = ("ionic", "motifs", "hubbard")
