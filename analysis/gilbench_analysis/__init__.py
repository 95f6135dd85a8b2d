"""Offline analysis of gilbench results files (schema gilbench/1)."""
from .load import Results, SchemaError, load, list_runs
from .tables import seed_table, cell_summary

__all__ = ["Results", "SchemaError", "load", "list_runs", "seed_table", "cell_summary"]
