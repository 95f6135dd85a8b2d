"""Print the seed table, per-cell statistics and each user function's verdict of a gilbench
results file, or write any of its tables as open data (docs/open-data.md).

    gilbench-table results/seed.h5 [--run run-000]                  # the text summary
    gilbench-table results/seed.h5 --format csv --table trials       # a table: csv, json, markdown
    gilbench-table results/seed.h5 --format netcdf -o seed.nc        # xarray: dims cell x trial
    gilbench-table results/seed.h5 --format pyperf -o seed.json      # a pyperf benchmark suite

--table picks one of cells, trials, workers, requests, summary, errors, trace (as stored,
docs/hdf5-schema.md) or seed (the seed table, one row per slot); default: summary. String
columns come out decoded, columns in the documented order, a missing value (NaN) as an empty
CSV field, a JSON null or an empty Markdown cell.
"""
from __future__ import annotations

import argparse
import functools
import sys

from .pipe import quiet_on_closed_pipe
from ..export import EXPORT_TABLES, TEXT_FORMATS, export_table, table_frame, write_netcdf, write_pyperf
from ..load import SchemaError, load
from ..functions import function_families
from ..tables import cell_summary, seed_table_text

FORMATS = ("text",) + TEXT_FORMATS + ("netcdf", "pyperf")


@quiet_on_closed_pipe
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gilbench-table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="HDF5 file written by gilbench run")
    parser.add_argument("--run", help="run name (default: the latest)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (default: the summary for people), csv, json (an array of row objects), "
                             "markdown, netcdf (xarray; needs -o), pyperf (a pyperf benchmark suite, JSON)")
    parser.add_argument("--table", choices=EXPORT_TABLES, default=None,
                        help="the table csv, json and markdown write (default: summary); with text, print it")
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output")
    args = parser.parse_args(argv)
    if args.format == "netcdf" and not args.output:
        parser.error("--format netcdf writes a binary file: name it with -o OUT (e.g. -o seed.nc)")
    if args.table and args.format in ("netcdf", "pyperf"):
        parser.error(f"--table does not apply to --format {args.format}, which writes "
                     + ("every table" if args.format == "netcdf" else "the cells' wall times"))
    try:
        # The trace can hold millions of rows: read it only when it is written.
        results = load(args.file, args.run, trace=args.format == "netcdf" or args.table == "trace")
    except SchemaError as e:
        print(f"gilbench-table: error: {e}", file=sys.stderr)
        return 1
    if args.format == "text" and not args.table and not args.output:
        _print_summary(results)
        return 0
    try:
        _write(results, args)
    except BrokenPipeError:
        raise  # the reader went away: quiet_on_closed_pipe ends the command as SIGPIPE would
    except OSError as e:
        print(f"gilbench-table: error: cannot write {args.output or 'standard output'}: {e.strerror or e}; "
              "pass -o a path in a directory you can write", file=sys.stderr)
        return 1
    except (RuntimeError, ValueError) as e:  # a missing optional package; nothing to write
        print(f"gilbench-table: error: {e}", file=sys.stderr)
        return 1
    return 0


def _write(results, args) -> None:
    if args.format == "netcdf":
        write_netcdf(results, args.output)
        return
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        if args.format == "pyperf":
            write_pyperf(results, out)
        elif args.format == "text":
            if args.table:
                out.write(_table_text(results, args.table))
            else:
                _print_summary(results, out)
        else:
            export_table(results, args.table or "summary", args.format, out)
    finally:
        if out is not sys.stdout:
            out.close()


def _table_text(results, name) -> str:
    return table_frame(results, name).to_string(index=False, na_rep="") + "\n"


def _print_summary(results, out=None) -> None:
    emit = functools.partial(print, file=out or sys.stdout)
    emit(f"{results.path} /runs/{results.run} status={results.status}")
    emit(cell_summary(results).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    table = seed_table_text(results)
    if not table.empty:
        emit()
        # Whole rows however wide the terminal: a run of both engines has four seed columns.
        emit(table.to_string(line_width=None))
    for f in function_families(results):
        emit(f"\n{f.title}")
        emit(f.shapes[["name", "ranks", "threads", "trials", "median", "speedup", "speedup_low", "speedup_high",
                       "cpu_over_wall"]]
             .to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        emit(f"{f.function}: {f.verdict}")
    if not results.failed.empty:
        emit(f"\nfailed: {len(results.failed)} measured trial(s) had I/O errors (trials.io_errors > 0); "
             "they are left out of every statistic above")
    if not results.disturbed.empty:
        reasons = [x for x in results.disturbed["disturbance"].fillna("") if x]
        emit(f"\ndisturbed: {len(results.disturbed)} measured trial(s) were flagged (trials.disturbed = 1"
             + (f"; the first: {reasons[0]}" if reasons else "") + "); they are left out of every statistic "
             "above, pairing included; rerun on an idle node")
