"""Write a report (Markdown, HTML, PNG figures) of a gilbench results file, or compare two.

    gilbench-report results/seed.h5 -o report/seed
    gilbench-report a.h5 b.h5 -o report/a-vs-b --label cluster-a --label cluster-b
    gilbench-report x.h5 x.h5 --run run-000 --run run-001 -o report/x   # two runs of one file
    gilbench-report fidelity.h5 --fidelity [--reference py312.json ...]  # that section, to stdout

Sections: run metadata, cells, the seed table, strong/weak scaling (speed-up, efficiency,
Amdahl/Gustafson fits, Karp–Flatt), GIL timelines of traced trials, I/O latency CDFs and the
convoy case, the switch-interval sweep, and for a run with `<base>-emulated` / `<base>-cpython`
twin cells (jobs/fidelity.toml) the Fidelity section. A section the file has no data for is
skipped with a one-line note in the report.

--fidelity prints only the Fidelity section, as Markdown, to stdout (no figures, no files): exit
status 0 whatever its verdicts, 1 for a file without twin cells or a bad reference file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .pipe import quiet_on_closed_pipe
from ..fidelity import ReferenceError, load_reference, section_markdown
from ..install import fidelity_command, probe_command
from ..load import SchemaError, load


def _labels(paths, runs, given) -> list[str]:
    """Names for the runs in legends: --label, else the file names, made unique."""
    if given:
        return given
    labels = [Path(p).stem for p in paths]
    if len(set(labels)) < len(labels):
        labels = [f"{Path(p).parent.name}/{Path(p).stem}" for p in paths]
    if len(set(labels)) < len(labels):
        labels = [f"{l} {r.run}" for l, r in zip(labels, runs)]
    return labels


def _timeline_arg(text: str):
    cell, _, trial = text.partition(":")
    if trial and not trial.isdigit():
        raise argparse.ArgumentTypeError(f"--timeline {text!r}: expected CELL or CELL:TRIAL with TRIAL a number")
    return cell, int(trial) if trial else None


def _fidelity(args) -> int:
    """gilbench-report FILE --fidelity: the section alone on stdout; its verdicts do not change
    the exit status (it is a report), only an unusable input does."""
    try:
        results = load(args.files[0], args.run[0] if args.run else None)
        references = [load_reference(p) for p in args.reference]
        text = section_markdown(results, references)
    except (SchemaError, ReferenceError) as e:
        print(f"gilbench-report: error: {e}", file=sys.stderr)
        return 1
    if text is None:
        print(f"gilbench-report: error: {results.label()}: no Fidelity section: it has no twin cells "
              "(`<base>-emulated` with engine emulated and `<base>-cpython` with engine cpython); "
              f"run {fidelity_command()} for them", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


@quiet_on_closed_pipe
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gilbench-report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="results file(s) written by gilbench run; two to compare")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="folder for report.md, report.html and the PNGs (an earlier report's figures there "
                             "are replaced); required unless --fidelity")
    parser.add_argument("--fidelity", action="store_true",
                        help="print only the Fidelity section (emulated cells against their -cpython twins) as "
                             "Markdown on stdout; writes no files, draws no figures")
    parser.add_argument("--reference", action="append", default=[], metavar="JSON",
                        help=f"figures measured inside another interpreter ({probe_command()}), compared with "
                             "the emulated cells in the Fidelity section; repeatable")
    parser.add_argument("--run", action="append", default=[], metavar="RUN",
                        help="run to read (default: the latest); once per FILE, in order")
    parser.add_argument("--label", action="append", default=[], metavar="NAME",
                        help="name of each FILE in a comparison (default: the file names)")
    parser.add_argument("--timeline", action="append", default=[], type=_timeline_arg, metavar="CELL[:TRIAL]",
                        help="draw the GIL timeline of this traced cell (name or index) and trial; repeatable "
                             "(default: one multi-thread cell per workload)")
    parser.add_argument("--max-events", type=int, default=4000,
                        help="trace events per timeline; longer traces show only their start (default 4000)")
    parser.add_argument("--no-html", action="store_true", help="write report.md only")
    args = parser.parse_args(argv)
    if args.fidelity:
        if args.output:
            parser.error("--fidelity prints the section on stdout and writes no files: leave out -o")
        if len(args.files) != 1:
            parser.error(f"--fidelity takes one FILE; got {len(args.files)}")
        if len(args.run) > 1:
            parser.error("--fidelity takes one FILE: give --run once, or not at all")
        return _fidelity(args)
    if not args.output:
        parser.error("the following arguments are required: -o/--output (or give --fidelity)")
    if len(args.files) > 2:
        parser.error(f"takes one FILE, or two to compare; got {len(args.files)}")
    if args.run and len(args.run) != len(args.files):
        parser.error(f"give --run once per FILE ({len(args.files)}), or not at all")
    if args.label and len(args.label) != len(args.files):
        parser.error(f"give --label once per FILE ({len(args.files)}), or not at all")

    try:
        runs = [load(p, args.run[i] if args.run else None) for i, p in enumerate(args.files)]
        references = [load_reference(p) for p in args.reference]
        labels = _labels(args.files, runs, args.label)
        try:  # matplotlib: only once the input is good, and only for the report
            from ..report import ReportOptions, write_report
        except ModuleNotFoundError as e:
            if e.name is None or not e.name.startswith("matplotlib"):
                raise
            print("gilbench-report: error: the report's figures need matplotlib: install python3-matplotlib "
                  "(Debian), or pip install './analysis[report]'", file=sys.stderr)
            return 1
        written = write_report(list(zip(labels, runs)), args.output,
                               ReportOptions(html=not args.no_html, timeline=args.timeline, max_events=args.max_events,
                                             references=references))
    except (SchemaError, ReferenceError) as e:
        print(f"gilbench-report: error: {e}", file=sys.stderr)
        return 1
    except (KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"gilbench-report: error: {msg}", file=sys.stderr)
        return 1
    print(f"report: {written.markdown}" + (f" and {written.html}" if written.html else "")
          + f", {len(written.figures)} figures")
    for note in written.notes:
        print(f"  note: {note}")
    return 0
