"""Human-facing results as text: the per-AU F1 table (Markdown). The figures are in :mod:`mindface_au.plots`."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from ..plots import au_labels


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}" if abs(float(v)) < 1e-3 and v != 0 else f"{float(v):.3f}"
    return str(v)


def format_f1_table(per_au_f1, mean: Optional[float] = None,
                    extra_columns: Optional[Mapping[str, Sequence]] = None, percent: bool = True,
                    au_names: Optional[Sequence[str]] = None) -> str:
    """A Markdown table: one row per AU and a final ``mean`` row.

    Args:
        per_au_f1: (C,) F1 per AU (fractions in [0, 1]).
        mean: the mean-row F1 (default: the mean of ``per_au_f1``).
        extra_columns: {column title: C values}, or C + 1 values whose last is the mean row's
            (e.g. ``{"threshold": thr, "F1 @best": list(best) + [best.mean()]}``).
        percent: print F1 x100 with 2 decimals (as the paper) instead of fractions.
        au_names: the C AU names of the rows (the model's; :func:`mindface_au.plots.au_labels`).

    Returns:
        The table as a string (lines joined by newlines, no trailing newline).
    """
    f1 = np.asarray(per_au_f1, dtype=np.float64).reshape(-1)
    c = f1.size
    mean = float(f1.mean()) if mean is None else float(mean)
    extras = dict(extra_columns or {})
    cols = {}
    for title, values in extras.items():
        vals = list(np.asarray(values, dtype=object).reshape(-1))
        if len(vals) not in (c, c + 1):
            raise ValueError(f"extra column {title!r} has {len(vals)} values; expected {c} or {c + 1}")
        cols[title] = vals + [None] * (c + 1 - len(vals))

    def f1_cell(v: float) -> str:
        return f"{100 * v:.2f}" if percent else f"{v:.4f}"

    header = ["AU", "F1 (%)" if percent else "F1"] + list(cols)
    names = au_labels(c, au_names)
    body = [[name, f1_cell(v)] + [_fmt(cols[t][j]) for t in cols] for j, (name, v) in enumerate(zip(names, f1))]
    body.append(["mean", f1_cell(mean)] + [_fmt(cols[t][c]) for t in cols])
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return "| " + " | ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in
                                 enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in body])
