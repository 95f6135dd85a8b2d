"""Print the seed table, per-cell statistics and each user function's verdict of a gilbench
results file.

    gilbench-table results/seed.h5 [--run run-000]
"""
from __future__ import annotations

import argparse
import sys

from ..load import SchemaError, load
from ..functions import function_families
from ..tables import cell_summary, seed_table_text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gilbench-table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="HDF5 file written by gilbench run")
    parser.add_argument("--run", help="run name (default: the latest)")
    args = parser.parse_args(argv)
    try:
        results = load(args.file, args.run)
    except SchemaError as e:
        print(f"gilbench-table: error: {e}", file=sys.stderr)
        return 1
    print(f"{results.path} /runs/{results.run} status={results.status}")
    print(cell_summary(results).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    table = seed_table_text(results)
    if not table.empty:
        print()
        # Whole rows however wide the terminal: a run of both engines has four seed columns.
        print(table.to_string(line_width=None))
    for f in function_families(results):
        print(f"\n{f.title}")
        print(f.shapes[["name", "ranks", "threads", "trials", "median", "speedup", "cpu_over_wall"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print(f"{f.function}: {f.verdict}")
    if not results.failed.empty:
        print(f"\nfailed: {len(results.failed)} measured trial(s) had I/O errors (trials.io_errors > 0); "
              "they are left out of every statistic above")
    return 0
