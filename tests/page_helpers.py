"""Shared helpers of the results-page tests (tests/unit/core/test_report.py and each family's test_<family>_page.py):
a tree of metrics files written as the steps' layout builders make them, the page built from it, and the
cells as the page spells them."""

from __future__ import annotations

import html
import json
import re
import struct
import zlib
from pathlib import Path

from matdisco.core import report


def tiny_png(path: Path, width: int = 2, height: int = 2) -> None:
    """A valid RGB PNG of ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write_tree(root: Path, files: dict[str, object]) -> Path:
    """Write ``files`` (relative path -> content: JSON for dicts, text for strings) under ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return root


def build(root: Path) -> str:
    """The page of the tree at ``root`` (without the experiments table)."""
    page = root / "results/report/index.html"
    report.write_report(root, page, experiments=False)
    return page.read_text()


def section(page: str, family: str) -> str:
    """The HTML of one family's section."""
    match = re.search(rf'<section id="{family}">(.*?)</section>', page, re.S)
    assert match, f"no section for family {family}"
    return match.group(1)


def row_of(section_html: str, first_cell: str) -> str:
    """The first table row whose first cell is ``first_cell``."""
    match = re.search(rf"<tr><td>{re.escape(html.escape(first_cell))}</td>.*?</tr>", section_html, re.S)
    assert match, f"no row starting with {first_cell!r}"
    return match.group(0)


def interval(entry: dict, digits: int = 3, signed: str = "") -> str:
    """``value [low, high]`` of a writer's interval entry, as the page shows it."""
    return "{:{s}.{d}f} [{:{s}.{d}f}, {:{s}.{d}f}]".format(
        entry["value"], entry["ci_low"], entry["ci_high"], s=signed, d=digits
    )


def percent_interval(entry: dict) -> str:
    """``value % [low %, high %]`` of a writer's interval entry of a fraction, as the page shows it."""
    return " ".join(
        (f"{100 * entry['value']:.1f} %", f"[{100 * entry['ci_low']:.1f} %,", f"{100 * entry['ci_high']:.1f} %]")
    )
