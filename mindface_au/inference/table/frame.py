"""The AU table the Python API returns: a pandas DataFrame that writes its own CSV and timeline."""
from __future__ import annotations

import os
from typing import Optional

import pandas as pd

from .columns import CsvLayout
from .csv_io import format_csv, write_au_csv
from .timeline import plot_table_timeline


class AUTable(pd.DataFrame):
    """A per-frame AU table as a pandas DataFrame (one row per frame and face), with the CSV's columns.

    Everything pandas does works (``table[table.success == 1].AU12_p.mean()``); two helpers add
    what ``tools/infer.py`` writes: :meth:`to_csv` (the CSV, in the table's format) and
    :meth:`plot_timeline` (the PNG heat map). ``attrs`` holds ``fps``, ``source`` and
    ``thresholds``.
    """

    @property
    def _constructor(self):
        return AUTable

    @property
    def layout(self) -> CsvLayout:
        return CsvLayout.from_columns([str(c) for c in self.columns], source="AUTable")

    def to_csv(self, path_or_buf=None, *args, **kwargs):
        """Without further arguments: the AU CSV (the header and number formats ``tools/infer.py``
        writes), written atomically to ``path_or_buf`` (returns it) or returned as text when None.
        With any other pandas argument: ``pandas.DataFrame.to_csv`` unchanged."""
        if args or kwargs:
            return super().to_csv(path_or_buf, *args, **kwargs)
        layout = self.layout
        if path_or_buf is None:
            return format_csv(self, layout)
        if isinstance(path_or_buf, (str, os.PathLike)):
            return write_au_csv(self, os.fspath(path_or_buf), layout)
        path_or_buf.write(format_csv(self, layout))
        return None

    def plot_timeline(self, path: Optional[str] = None, title: Optional[str] = None) -> Optional[str]:
        """PNG heat map of the first face's AU probabilities over time (seconds when the fps is known);
        ``path`` defaults to ``<source name>_timeline.png`` in the current folder. Returns the path."""
        source = self.attrs.get("source") or "au"
        stem = os.path.splitext(os.path.basename(str(source).rstrip("/\\")))[0] or "au"
        path = path or f"{stem}_timeline.png"
        return plot_table_timeline(self, self.layout, path, self.attrs.get("fps"), title or stem,
                                   self.attrs.get("thresholds"))


def as_au_table(table: pd.DataFrame, **attrs) -> AUTable:
    out = AUTable(table)
    out.attrs.update(attrs)
    return out
