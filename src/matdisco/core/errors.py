"""Error types that name what was wrong and where."""


class MatdiscoError(Exception):
    """Base class for errors that a user can act on (bad input, missing file, bad config)."""


class InputError(MatdiscoError, ValueError):
    """Input data is malformed: the message names the file, the row or the species, and what was expected."""

    def __init__(self, what: str, where: str | None = None, expected: str | None = None):
        parts = [what]
        if where:
            parts.append(f"in {where}")
        if expected:
            parts.append(f"(expected {expected})")
        super().__init__(" ".join(parts))


class ConfigError(MatdiscoError, ValueError):
    """A configuration value is missing or out of range."""
