"""The per-frame AU table that ``tools/infer.py`` writes and ``AUDetector`` returns, one module per job:

* :mod:`.columns`: the layout (:class:`CsvLayout`, the columns of both formats) and building rows
  (:func:`make_table`);
* :mod:`.csv_io`: CSV text, writing (atomic) and reading (:func:`read_au_csv`);
* :mod:`.smoothing`: the paper's temporal smoothing per face track (:func:`smooth_table`);
* :mod:`.timeline`: the first face's probabilities on the source's frame grid, drawn by
  :func:`mindface_au.plots.plot_au_timeline` (:func:`plot_table_timeline`);
* :mod:`.frame`: :class:`AUTable`, the pandas DataFrame the Python API returns.

Formats (``csv_format``):

* ``mindface`` (default): ``frame, timestamp, face_id, confidence, success``, then ``AU1_p ...
  AU26_p`` (probabilities), ``AU1_c ... AU26_c`` (0/1 decisions), and for a model with the
  intensity head ``AU1_r ... AU26_r`` (intensities, 0-5), the AU names of
  the model (its config's ``data.aus``, an export's stored names; Aff-Wild2's 12 by default). A
  frame without a face has ``success=0`` and empty AU cells.
* ``openface``: OpenFace 2's names and order for the columns it writes: ``frame, face_id,
  timestamp, confidence, success``, then OpenFace's occurrence columns ``AU01_c ... AU26_c``
  (AU numbers zero-padded, ascending as OpenFace sorts them), then our probabilities
  ``AU01_p ... AU26_p`` (OpenFace has no probabilities). A model with the intensity head adds
  OpenFace's ``AU01_r ... AU26_r`` (0-5) before the ``_c`` columns, as OpenFace writes every
  ``AUxx_r``, then every ``AUxx_c``; without it there are no ``_r`` columns. Fields are separated by
  ``", "`` as OpenFace writes them. Our 12 AUs include
  AU24, which OpenFace lacks: ``AU24_c`` sits in numeric order between ``AU23_c`` and
  ``AU25_c``; OpenFace's AU05, AU09, AU14, AU17, AU20, AU28 and AU45 are absent. A frame without
  a face gets ``_c`` = 0 and ``_r`` = 0 (OpenFace's convention) and empty ``_p`` cells.

Smoothed values never replace the raw ones: they go in their own columns ``<AU>_p_smooth``
(probability smoothing), ``<AU>_r_smooth`` (the intensities over the same windows, with intensity)
and ``<AU>_c_smooth`` (the decisions after probability and label smoothing), in that order after
the raw columns. Extra columns (``file`` for folders of images)
come last.
"""
from .columns import (CSV_FORMATS, INT_COLUMNS, META_COLUMNS, SMOOTH_SUFFIX, CsvLayout, csv_columns, empty_table,
                      make_table, openface_au_name)
from .csv_io import format_csv, read_au_csv, round_like_csv, write_au_csv
from .frame import AUTable, as_au_table
from .smoothing import smooth_table
from .timeline import plot_table_timeline, timeline_probs

__all__ = ["AUTable", "CSV_FORMATS", "CsvLayout", "INT_COLUMNS", "META_COLUMNS", "SMOOTH_SUFFIX", "as_au_table",
           "csv_columns", "empty_table", "format_csv", "make_table", "openface_au_name", "plot_table_timeline",
           "read_au_csv", "round_like_csv", "smooth_table", "timeline_probs", "write_au_csv"]
