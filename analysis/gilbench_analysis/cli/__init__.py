"""The command lines, kept thin: parse arguments, load, call the library, print.

One module per command; each `main(argv=None)` returns the exit status, so tests call it
without a subprocess. They are installed as `gilbench-report` and `gilbench-table`
([project.scripts] in analysis/pyproject.toml); analysis/gilbench-report and
analysis/gilbench-table run them from a checkout without installing.
"""
from .report import main as report_main
from .table import main as table_main

__all__ = ["report_main", "table_main"]
