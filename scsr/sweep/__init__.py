"""Quantisation studies (``scsr sweep``): accuracy × bit widths × FPGA cost over a grid.

One module per job: :mod:`.grid` parses the widths and lists the points, :mod:`.cache`
keys every result by the hash of what produced it and stores it atomically,
:mod:`.evaluate` measures one point (export, fixed-point accuracy, diagnostics, QAT,
synthesis), :mod:`.executors` runs points in a local process pool or on a Dask cluster,
:mod:`.progress` draws the bar, :mod:`.study` ties them together and writes
``results.csv``/``study.json``, :mod:`.plots` and :mod:`.report` turn the CSV into PNGs and
``report.md``.
"""
