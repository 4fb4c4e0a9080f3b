"""A run's report: one self-contained HTML file to hand on (``report`` and "Save report…").

* :mod:`core.report.gather` reads what a run folder (and the run history) knows;
* :mod:`core.report.charts` draws the training curves and the reliability
  diagram as inline SVG and the thumbnails as PNG data URIs (no dependency, no network);
* :mod:`core.report.html` lays it out, with print CSS for A4, and writes it atomically.
"""
