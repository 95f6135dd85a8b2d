"""Offline analysis of gilbench results files (schema gilbench/1, docs/hdf5-schema.md).

    from gilbench_analysis import load, seed_table, scaling_families   # PYTHONPATH=analysis, or installed
    r = load("results/seed.h5")              # DataFrames: r.cells, r.trials, r.workers, r.trace, r.requests
    print(seed_table(r))

Modules: load (the loader), tables (per-cell statistics, the seed table), scaling (speed-up,
efficiency, Amdahl/Gustafson fits, Karp–Flatt), nodes (ranks per host, cells within one node or
across nodes, per-node workers), latency (per-request latency), timeline (who held the GIL when),
sweep (switch-interval sweeps), functions (the user's own python cells: threads or processes,
with a verdict), fidelity (emulated cells against their -cpython twins and other
interpreters' reference files), compare (two runs), report and plots (the report; only these
import matplotlib, and nothing imports them before a report is written), cli (the command
lines: gilbench-report, gilbench-table).
"""
from .functions import function_families
from .load import Results, SchemaError, list_runs, load
from .scaling import fit_amdahl, fit_gustafson, karp_flatt, scaling_families
from .tables import cell_summary, seed_summary, seed_table, seed_table_text

__all__ = ["Results", "SchemaError", "load", "list_runs", "seed_table", "seed_table_text", "seed_summary",
           "cell_summary", "scaling_families", "fit_amdahl", "fit_gustafson", "karp_flatt",
           "function_families"]
