"""The report: one run (or two side by side) → report.md, report.html and PNG figures.

    from gilbench_analysis import load
    from gilbench_analysis.report import write_report
    write_report([("seed", load("results/seed.h5"))], "report/seed")

Each section checks that the run has data for it; one without gets a one-line note saying what
was missing and how to get it, and the rest of the report is written all the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import plots
from .compare import cell_comparison, match_by_key, ratio_text, unmatched_cells
from .document import Document, to_html, to_markdown
from .fidelity import add_section, fidelity, urllib_costs_text
from .install import job_file, nodes_howto
from .latency import latency_summary, request_latencies
from .load import Results
from .nodes import cell_nodes, family_node_table, node_breakdown, node_families, node_placement, used_nodes
from .scaling import fit_table, scaling_families
from .sweep import sweep_families, sweep_table
from .functions import PARTLY, SCALES, function_families
from .gil_metrics import CUMULATIVE_AT, POP_THRESHOLD, ccbench_latency, ccbench_throughput, gil_metrics, pop_breakdown
from .tables import (SEED_ROW_TEXT, SEED_ROWS, cell_summary, disturbance_text, failure_text, gil_summary,
                     ratio_text as seed_ratio_text, seed_columns, seed_engine_labels, seed_engines, seed_summary)
from .timeline import pick_trials, timeline, timeline_stats


@dataclass
class ReportOptions:
    html: bool = True
    timeline: list = field(default_factory=list)   # [(cell name or index, trial or None)] to draw
    max_events: int = 4000                         # per timeline; beyond it only the start is drawn
    references: list = field(default_factory=list)  # fidelity.Reference: other interpreters' figures


@dataclass
class Written:
    markdown: str
    html: str | None
    figures: list
    notes: list


# ---------------------------------------------------------------------------------------------
# Formatting

def fmt_s(v) -> str:
    """Seconds with 4 significant digits; '–' for missing."""
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.4g}"


def fmt_ms(v) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v * 1e3:.3g}" if abs(v) < 1 else f"{v * 1e3:.0f}"


def fmt_pct(v) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v * 100:.0f} %"


def fmt_num(v, digits=3) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def fmt_count(v) -> str:
    """A count per trial: whole numbers with thousands separators, a mean that is not one with
    a decimal (0.5 errors per trial must not read as 0)."""
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _spread(med, lo, hi) -> str:
    if not np.isfinite(med):
        return "–"
    return f"{fmt_s(med)} ({fmt_s(lo)}–{fmt_s(hi)})"


def _marked(text: str, count: int, failed: int, disturbed: int = 0, disturbance: str = "") -> str:
    """A cell's value with its failed and disturbed trials named: '0.41 (0.4–0.42) ⚠ 1 of 3
    failed', '0.41 (0.4–0.42) ⚠ 2 of 5 trials disturbed: other processes used 1.30 CPUs; rerun
    on an idle node', or only the marks when no trial is left to show a time for."""
    marks = [failure_text(count, failed, disturbed), disturbance_text(count, failed, disturbed, disturbance)]
    marks = [m for m in marks if m]
    if not marks:
        return text
    marked = " ".join(f"⚠ {m}" for m in marks)
    return marked if not count else f"{text} {marked}"


def _seed_cell(row) -> str:
    """'0.457 (0.45–0.46), 1.11× [1.04, 1.19]': the median (fastest–slowest) and, beside every
    layout but the single thread, the paired ratio to it with its interval ('–' with fewer than
    2 paired rounds)."""
    text = ""
    if row["count"]:
        text = _spread(row["median"], row["min"], row["max"])
        if row.get("layout", row.name) != "single thread":
            text += f", {seed_ratio_text(row)}"
    return _marked(text, row["count"], row["failed"], row["disturbed"], row["disturbance"])


def _order_text(r) -> str:
    """How a run took its trials (run attribute `order`; files before it took cells order)."""
    return str(r.attrs.get("order") or "cells")


def _speedup_interval(value, low, high, pairs) -> str:
    """'1.93 [1.85, 2.01] (8 rounds)'; '–' with too few paired rounds for an interval."""
    if not (np.isfinite(value) and np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"{value:.2f} [{low:.2f}, {high:.2f}] ({int(pairs)} rounds)"


def _slug(text: str) -> str:
    s = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(p for p in s.split("-") if p)[:60]


# ---------------------------------------------------------------------------------------------
# Sections. Each takes runs = [(label, Results)] (one or two) and the Document to extend.

def _urllib_costs(r) -> str:
    """How the run had urllib's per-step costs and what they were, in µs, per node by name."""
    return urllib_costs_text(r.attrs)


def section_metadata(doc: Document, runs):
    rows = [("file", lambda r: r.path), ("run", lambda r: f"/runs/{r.run}"), ("status", lambda r: r.status),
            ("job", lambda r: r.attrs.get("job_path", "")),
            ("started / finished (UTC)", lambda r: f"{r.attrs.get('started_utc', '')} / "
                                                   f"{r.attrs.get('finished_utc', '') or '–'}"),
            ("MPI ranks / nodes", lambda r: f"{r.attrs.get('ranks', '?')} / {r.attrs.get('nodes', '?')}"),
            ("hosts", lambda r: ", ".join(r.hosts) or "–"),
            ("gilbench", lambda r: f"{r.attrs.get('gilbench_version', r.root.get('gilbench_version', '?'))} "
                                   f"({r.attrs.get('git_sha', r.root.get('git_sha', '?'))})"),
            ("MPI library", lambda r: r.root.get("mpi_library", "?")),
            ("HDF5 / libcurl / compiler", lambda r: f"{r.root.get('hdf5_version', '?')} / "
                                                    f"{r.root.get('curl_version', '?')} / "
                                                    f"{r.root.get('compiler', '?')}"),
            ("command line", lambda r: f"`{r.attrs.get('command_line', r.root.get('command_line', ''))}`")]
    # The embedded interpreter, where a run used it (run attribute python_version; "" otherwise),
    # with the job file's name of the engine that ran it (the cells with engine_real = 1).
    if any(r.attrs.get("python_version") for _, r in runs):
        real = ", ".join(dict.fromkeys(e for _, r in runs for e in r.cells.loc[r.cells["engine_real"] == 1, "engine"]))
        rows.insert(-1, (f"embedded Python (engine {real})" if real else "embedded Python",
                         lambda r: r.attrs.get("python_version") or "–"))
    # What the emulated engine's I/O threads ran between their steps (run attributes
    # urllib_costs_ns, calibration): this machine's urllib, or the fallback ("not calibrated").
    if any(r.attrs.get("calibration") for _, r in runs):
        rows.insert(-1, ("urllib costs (emulated I/O)", _urllib_costs))
    table = pd.DataFrame({"": [name for name, _ in rows],
                          **{label: [get(r) for _, get in rows] for label, r in runs}})
    if len(runs) == 1:
        table.columns = ["", "value"]
    doc.table(table)
    for label, r in runs:
        prefix = f"{label}: " if len(runs) > 1 else ""
        if r.status != "complete":
            measured = r.measured["cell"].nunique()
            doc.note(f"{prefix}run status is '{r.status}': {measured} of {len(r.cells)} cells have measured trials; "
                     "everything below uses the trials that finished")
        if not r.failed.empty:
            cells = r.cells.set_index("cell")["name"]
            names = ", ".join(f"`{cells.get(c, c)}`" for c in sorted(r.failed["cell"].unique()))
            doc.note(f"{prefix}{len(r.failed)} measured trial(s) had I/O errors (in {names}): they are flagged "
                     "(`trials.io_errors`) and left out of everything below, which uses the other trials")
        if not r.disturbed.empty:
            cells = r.cells.set_index("cell")["name"]
            names = ", ".join(f"`{cells.get(c, c)}`" for c in sorted(r.disturbed["cell"].unique()))
            reasons = [x for x in r.disturbed.sort_values("trial")["disturbance"].fillna("") if x] \
                if "disturbance" in r.disturbed.columns else []
            why = f" (the first: {reasons[0]})" if reasons else ""
            doc.note(f"{prefix}{len(r.disturbed)} measured trial(s) were disturbed (in {names}){why}: the runner "
                     "flagged them (`trials.disturbed`, `trials.disturbance`) because the machine took time from "
                     "them; they stay in the file and are left out of everything below, pairing included; rerun on "
                     "an idle node")
        for n in r.notes:
            doc.note(prefix + n)


def section_cells(doc: Document, runs):
    doc.heading("Cells")
    if len(runs) == 2:
        (la, a), (lb, b) = runs
        table = cell_comparison(a, b)
        if table.empty:
            doc.note("the two runs have no cell in common (by name or by workload, shape, GIL and work)")
            return
        out = pd.DataFrame({
            "cell": table["name"], "workload": table["workload"],
            "P × T": [f"{p} × {t}" for p, t in zip(table["ranks"], table["threads"])], "GIL": table["gil"],
            f"{la}: median (min–max) s": _compared_side(table, "_a"),
            f"{lb}: median (min–max) s": _compared_side(table, "_b"),
            f"{lb} / {la}": [ratio_text(r) for r in table["ratio"]]})
        marked = (table["failed_a"] + table["failed_b"] + table["disturbed_a"] + table["disturbed_b"]).gt(0).any()
        doc.table(out, "Median wall time of the measured trials; spread = fastest–slowest repeat."
                  + (" ⚠ marks a side's trials that failed (I/O errors) or that its runner flagged disturbed: "
                     "they are left out of that side's median and of the ratio." if marked else ""))
        path = plots.compare_cells_figure(table, [la, lb], doc.outdir / "compare-cells.png")
        doc.figure(Path(path).name, f"Median wall time per cell, {la} (filled circles) and {lb} (open squares); "
                                    f"whiskers span the fastest to the slowest repeat; right: the ratio {lb} / {la}.")
        ma, mb = unmatched_cells(a, b, table)
        if ma or mb:
            doc.note(f"cells without a partner: {la}: {', '.join(ma) or 'none'}; {lb}: {', '.join(mb) or 'none'}")
        return
    _, r = runs[0]
    s = cell_summary(r).merge(gil_summary(r), on="cell", how="left")
    cells = r.cells.set_index("cell")
    s = s.assign(engine_label=s["cell"].map(cells["engine_label"]),
                 engine_real=s["cell"].map(cells["engine_real"]).astype(bool),
                 gil_counters=s["cell"].map(cells["gil_counters"]).astype(bool))
    # Cells whose engine measures no GIL counters: "not measured", never a 0 % or a -1.
    unmeasured = ~s["gil_counters"] | s["measured"].eq(False)
    # The engine gets a column where the run has several, or the real interpreter's.
    engine_column = s["engine"].nunique() > 1 or s["engine_real"].any()
    out = pd.DataFrame({
        "#": s["cell"], "cell": s["name"], "workload": s["workload"],
        **({"engine": s["engine_label"]} if engine_column else {}),
        # A GIL per thread where the threads run in subinterpreters: say so where the GIL is named.
        "GIL": [f"{g}, one per thread (subinterpreters)" if par == "subinterpreters" else g
                for g, par in zip(s["gil"], s["parallel"])],
        "P × T": [f"{p} × {t}" for p, t in zip(s["ranks"], s["threads"])],
        "work": [f"{int(w):,}" for w in s["work"]], "n": s["count"],
        "median (min–max) s": [_marked(_spread(m, lo, hi), n, f, d, why)
                               for m, lo, hi, n, f, d, why in zip(s["median"], s["min"], s["max"], s["count"],
                                                                  s["failed"], s["disturbed"], s["disturbance"])],
        "GIL wait": ["not measured" if u else fmt_pct(v) for u, v in zip(unmeasured, s["wait_share"])],
        "forced drops / trial": ["not measured" if u else fmt_num(v, 0)
                                 for u, v in zip(unmeasured, s["forced_drops"])]})
    doc.table(out, "n = measured trials (warm-ups left out). GIL wait = time the workers spent waiting for their "
                   "rank's GIL, as a share of their busy time."
              + _uncounted_text(s)
              + (" ⚠ k of m failed: k of the cell's m measured trials had I/O errors; they are left out of n and "
                 "of the statistics." if s["failed"].any() else "")
              + (" ⚠ k of m trials disturbed: the runner flagged k of the cell's m measured trials (the machine "
                 "took time from them: the reason follows); they are left out of n and of the statistics."
                 if s["disturbed"].any() else ""))


def _compared_side(table: pd.DataFrame, side: str) -> list:
    """One run's column of the two-run cells table: median (min–max), marked as the single run's."""
    cols = [table[c + side] for c in ("median", "min", "max", "count", "failed", "disturbed", "disturbance")]
    return [_marked(_spread(m, lo, hi), n, f, d, why) for m, lo, hi, n, f, d, why in zip(*cols)]


def _uncounted_text(s: pd.DataFrame) -> str:
    """The cells table's note on the engines whose cells have no GIL counters (gil_counters = 0)."""
    d = s[~s["gil_counters"]].drop_duplicates("engine")
    if d.empty:
        return ""
    what = [f"Engine {label}: " + ("the real interpreter, which does not report its GIL's waits and hand-offs"
                                   if real else "a model that does not measure its GIL's waits and hand-offs")
            for label, real in zip(d["engine_label"], d["engine_real"])]
    # The real interpreter's CPU time stands in for its hold time (docs/hdf5-schema.md, workers.cpu_s).
    see = "; see the CPU time / wall of the functions section and `workers.cpu_s`" if d["engine_real"].any() else ""
    return " " + "; ".join(what) + f" (stored as \"not measured\"{see})."


def _engine_text(label: str, real: bool) -> str:
    """An engine as the seed figure's caption names its bars: "the real CPython", "the emulated engine"."""
    return f"the real {label}" if real else f"the {label} engine"


def section_seed(doc: Document, runs):
    doc.heading("Seed table: threads against processes")
    summaries = [(label, seed_summary(r)) for label, r in runs]
    if all(s.empty for _, s in summaries):
        doc.note("skipped: no cpu or io cell with 1 × 1, 1 × T or P × 1 workers was measured "
                 f"(run {job_file('seed.toml')} for this table)")
        return
    present = set().union(*(set(s["layout"]) for _, s in summaries))
    rows = [r for r in SEED_ROWS if r in present]
    table = {"median wall time, s (min–max)": rows}
    # Columns as gilbench prints them: per workload, one per engine when a run has both.
    for label, s in summaries:
        for w, e, header in seed_columns(s):
            d = s[(s["workload"] == w) & (s["engine"] == e)].set_index("layout")
            col = header if len(runs) == 1 else f"{label}: {header}"
            table[col] = [_seed_cell(d.loc[l]) if l in d.index else "–" for l in rows]
    failed = any(s["failed"].any() for _, s in summaries)
    disturbed = any(s["disturbed"].any() for _, s in summaries)
    ratios = any(np.isfinite(s["ratio_low"]).any() for _, s in summaries)
    narrow = any((np.isfinite(s["ratio_low"]) & (s["ratio_level"] < 0.95)).any() for _, s in summaries)
    both = any(len(seed_engines(s)) > 1 for _, s in summaries)
    # What each engine is, from the file: the real interpreter (cells.engine_real) or a model.
    real = {e: bool(v) for _, r in runs for e, v in zip(r.cells["engine"], r.cells["engine_real"])}
    labels = {e: lab for _, s in summaries for e, lab in seed_engine_labels(s).items()}
    engines = list(dict.fromkeys(e for _, s in summaries for e in seed_engines(s)))
    described = "; ".join(f"{labels[e][:1].upper()}{labels[e][1:]}: "
                          + ("the real interpreter embedded in each rank (run attribute `python_version`)" if real[e]
                             else "a model of the interpreter and its GIL, run by gilbench")
                          for e in engines)
    doc.table(pd.DataFrame(table),
              "Median over measured repeats, (fastest–slowest), and the layout's time over the single thread of the "
              "same workload" + (" and engine" if both else "") + ". Threads share their rank's GIL; ranks are "
              "processes with a GIL each."
              + (f" {described}, same harness, same server, same file." if both else "")
              + (" ⚠ k of m failed: k of the cell's m measured trials had I/O errors and are left out; a cell "
                 "whose trials all failed shows no time." if failed else "")
              + (" ⚠ k of m trials disturbed: the runner flagged k of the cell's m measured trials (the machine "
                 "took time from them, for the reason given); they are left out, of the pairs too." if disturbed
                 else ""))
    doc.para(_seed_ratio_text(runs, ratios, narrow))
    rows_text = "Rows: " + "; ".join(f"**{r}**: {SEED_ROW_TEXT[r]}" for r in rows) + "."
    if set(rows) & {"subinterpreters", "free-threaded"}:
        one = labels[engines[0]] if len(engines) == 1 else ""
        rows_text += (" Every figure is " + ("labelled by its column's engine" if not one else
                                             f"real (the {one} embedded in each rank)" if real[engines[0]] else
                                             f"{one} (a model of the interpreter and its GIL, not the real one)")
                      + ". Real subinterpreters need gilbench built against CPython ≥ 3.12; the free-threaded "
                        "profiles are emulated only (docs/free-threading.md).")
    doc.para(rows_text)
    series = []
    for label, s in summaries:
        run_engines = seed_engines(s)
        for e in run_engines:
            d = s[s["engine"] == e]
            used = ", ".join(f"{l}: `{n}` ({p} × {t}, n = {c})" for l, n, p, t, c in
                             zip(d["layout"], d["name"], d["ranks"], d["threads"], d["count"]))
            prefix = "" if len(runs) == 1 else f"{label} — "
            if len(run_engines) > 1:
                prefix += f"{labels[e]}: "
            doc.para(prefix + "cells used: " + used + ".")
            name = label if len(run_engines) == 1 else \
                (labels[e] if len(runs) == 1 else f"{label}, {labels[e]}")
            series.append((name, d))
    path = plots.seed_figure(series, doc.outdir / "seed.png")
    bars = [_engine_text(labels[e], real[e]) for e in engines]
    doc.figure(Path(path).name, "Median wall time of the seed experiment's layouts; whiskers: fastest–slowest "
                                "repeat; numbers: ratio of the medians to one thread (lower is faster; the table "
                                "gives the per-round ratio with its 95 % interval)."
                                + (f" Filled bars: {bars[0]}, hatched: {', '.join(bars[1:])}." if both and
                                   len(runs) == 1 else ""))


def _seed_ratio_text(runs, ratios: bool, narrow: bool) -> str:
    """How to read the seed table's ratios, and how the run's trials were paired."""
    text = ("How to read **1.11× [1.04, 1.19]**: the layout's wall time over the single thread's, per round (the "
            "trials of two cells with the same number ran in the same round), the median of those per-round "
            "ratios and its 95 % interval (order statistics: the sign test's interval of the median, the numbers "
            "gilbench's own table prints). An interval that excludes 1.00 means the layouts differ on this "
            "machine; one that includes 1.00 means this run cannot tell them apart. Only rounds in which both "
            "trials were measured, without I/O errors and not disturbed, are paired. –: fewer than 2 paired "
            "rounds.")
    if not ratios:
        text += " No layout has 2 paired rounds with its single thread here: run more repeats."
    if narrow:
        text += (" A level after the interval, e.g. (75 %): too few rounds for a 95 % interval: shown is "
                 "[min, max] of the per-round ratios with the level it reaches; run more repeats (6 or more "
                 "pairs reach 95 %).")
    for label, r in runs:
        rounds, reason = int(r.attrs.get("auto_rounds", 0) or 0), str(r.attrs.get("auto_rounds_reason", ""))
        if rounds > 0:
            who = "This run" if len(runs) == 1 else f"Run {label}"
            text += (f" {who} took repeats = \"auto\" (docs/statistics.md): its pilot fixed {rounds} rounds "
                     f"({reason}).")
    by_cells = [label for label, r in runs if _order_text(r) == "cells"]
    if by_cells:
        who = "This run" if len(runs) == 1 else ("Run " + " and ".join(by_cells))
        text += (f" {who} took its trials cell by cell (run attribute `order` = \"cells\", or a file older than "
                 "it): its trials are paired by number all the same, but they were not interleaved, so a pair ran "
                 "apart in time and the machine's drift between the cells is not cancelled (`[job] order = "
                 "\"rounds\"` interleaves them).")
    return text


def section_functions(doc: Document, runs):
    """Cells with workload "python": per function, threads against processes, and a verdict. A
    run without such cells gets no section (it would only say there is nothing to show)."""
    fams = [(label, function_families(r)) for label, r in runs]
    if all(not f for _, f in fams):
        return
    doc.heading("Your functions: threads or processes?")
    doc.para("Cells with `workload = \"python\"`: your function (cells.function), called in every worker thread by "
             "the real CPython embedded in each rank. Per function: the median wall time of each shape "
             "(ranks × threads per rank), the speed-up against 1 × 1 "
             + "(strong scaling: T₁ / T; weak: N·T₁ / T) and the workers' CPU time over the wall time "
             "(`workers.cpu_s` summed over the cell's threads, divided by the trial's wall time; median over "
             "trials). Threads of one rank share its GIL: code that holds it (pure-Python loops) shows about "
             "1 per rank, however many threads; code that releases it (hashlib on large buffers, zlib, numpy) "
             "up to the number of threads, cores permitting. A shape \"scales\" when it gains at least "
             f"{SCALES:.0%} of the ideal (2 workers: {1 + SCALES:.1f}×), \"scales partly\" from {PARTLY:.0%} "
             f"({1 + PARTLY:.2f}×), and \"does not scale\" below. Paired speed-up: the same per round (the trials of "
             "two cells with the same number ran in the same round; failed and disturbed trials left out), the "
             "geometric mean over rounds with its 95 % interval (bootstrap). A verdict is decided only when the whole "
             "interval lies on one side of those thresholds; an interval that straddles one leaves the shape "
             "\"undecided\", with about how many more rounds would decide it (fewer than 3 paired rounds give no "
             "interval). For a CPU-bound function (1 × 1 busy at "
             "least half its wall time) the verdict checks the speed-ups against the CPU times: a speed-up without "
             "the CPU time to do the work in parallel, or ranks that got less than a core each, mean a machine too "
             "busy to tell, and the verdict says to rerun instead of judging.")
    by_cells = [label for (label, r), (_, fs) in zip(runs, fams) if fs and _order_text(r) == "cells"]
    if by_cells:
        doc.note(("this run" if len(runs) == 1 else " and ".join(by_cells))
                 + " took its trials cell by cell (`order` = \"cells\"): the speed-ups' rounds are paired by trial "
                   "number, but the pairs were not interleaved, so they ran apart in time and the machine's drift "
                   "between the cells is not cancelled")
    figures = []
    for label, fs in fams:
        prefix = f"{label}: " if len(runs) > 1 else ""
        for f in fs:
            doc.heading(prefix + f.title, 3)
            d = f.shapes
            doc.table(pd.DataFrame({
                "P × T": [f"{p} × {t}" for p, t in zip(d["ranks"], d["threads"])], "cell": d["name"],
                "n": d["trials"],
                "median (min–max) s": [_marked(_spread(m, lo, hi), n, fl, dd, why) for m, lo, hi, n, fl, dd, why in
                                       zip(d["median"], d["min"], d["max"], d["trials"], d["failed"], d["disturbed"],
                                           d["disturbance"])],
                "speed-up": [fmt_num(v, 2) for v in d["speedup"]],
                "paired speed-up [95 % interval]": [_speedup_interval(v, lo, hi, k) for v, lo, hi, k in
                                                    zip(d["speedup_paired"], d["speedup_low"], d["speedup_high"],
                                                        d["pairs"])],
                "efficiency": [fmt_pct(v) for v in d["efficiency"]],
                "CPU time / wall": [fmt_num(v, 2) for v in d["cpu_over_wall"]]}))
            doc.para(f"**`{f.function}`**: {f.verdict}.")
            figures.append((prefix + f.function, d))
    path = plots.functions_figure(figures, doc.outdir / "functions.png")
    doc.figure(Path(path).name, "Speed-up of each function against one thread, per shape (ranks × threads per rank); "
                                "whiskers: slowest–fastest repeat; black tick: the ideal, N. Threads (blue) near 1× "
                                "and ranks (orange) near N: the function holds the GIL, use processes.")


def section_fidelity(doc: Document, runs, references=()):
    """The emulated cells against their `-cpython` twins (and reference files): only for runs
    with twins (jobs/fidelity.toml); without any, no section, unless references were given."""
    found = [(label, fidelity(r, references)) for label, r in runs]
    present = [(label, f) for label, f in found if f is not None]
    if not present:
        if references:
            doc.heading("Fidelity")
            doc.note("skipped: reference files were given, but no run has `<base>-emulated` / `<base>-cpython` "
                     f"twin cells to compare (run {job_file('fidelity.toml')})")
        return
    for label, f in present:
        add_section(doc, f, label if len(runs) > 1 else "")


def section_scaling(doc: Document, runs):
    doc.heading("Strong and weak scaling")
    fams = [(label, scaling_families(r)) for label, r in runs]
    if all(not f for _, f in fams):
        doc.note("skipped: no family of cells with a 1 × 1 baseline and more workers "
                 f"(same workload and work; run {job_file('scaling.toml')})")
        return
    doc.para("N = P × T workers (P ranks, T threads per rank). Strong scaling keeps the total work: speed-up "
             "S = T₁/T(N), efficiency S/N, Amdahl's law T(N) = T₁(s + (1−s)/N) fitted to every measured trial; "
             "the Karp–Flatt metric e = (1/S − 1/N)/(1 − 1/N) is the serial fraction each N implies (an e that "
             "grows with N means overhead such as GIL contention, not a fixed serial part). Weak scaling keeps the "
             "work per worker: scaled speed-up S = N·T₁/T(N), efficiency T₁/T(N), Gustafson's law S = N − s(N − 1); "
             "Karp–Flatt assumes fixed total work, so weak-scaling figures show the wall time instead. "
             "T₁ is the median of the 1 × 1 cell of the same GIL policy; error bars span the fastest to the slowest "
             "repeat.")
    if len(runs) == 1:
        pairs = [(f, None) for f in fams[0][1]]
    else:
        pairs = match_by_key(fams[0][1], fams[1][1], key=lambda f: f.key,
                             loose_key=lambda f: (f.workload, f.scaling, f.engine))
    for i, (fa, fb) in enumerate(pairs):
        present = [(label, f) for (label, _), f in zip(runs, (fa, fb)) if f is not None]
        family = present[0][1]
        doc.heading(family.title, 3)
        title = None
        if len(runs) == 2 and len(present) == 1:
            doc.note(f"only in {present[0][0]}")
        elif len(present) == 2 and fa.key != fb.key:
            title = "\n".join(f"{label}: {f.title}" for label, f in present)
            doc.note("matched by workload and scaling only, the work or I/O target differs: "
                     + "; ".join(f"{label}: {f.title}" for label, f in present)
                     + ". Compare speed-ups and efficiencies, not times.")
        name = f"scaling-{i + 1}-{family.slug}.png"
        path = plots.scaling_figure(present, doc.outdir / name, title)
        curves = ", ".join(s.label for s in family.series)
        doc.figure(Path(path).name, f"{family.title}: (a) speed-up, dashed: ideal, dotted: {family.law} fit; "
                                    f"(b) efficiency; "
                                    f"(c) {'Karp–Flatt metric' if family.scaling == 'strong' else 'wall time'}. "
                                    f"Curves: {curves}.")
        fits = []
        for label, f in present:
            t = fit_table(f)
            if t.empty:
                continue
            fits.append(pd.DataFrame({
                **({"run": label} if len(runs) > 1 else {}),
                "series": t["series"],
                "baseline (T₁)": [f"`{b}` ({fmt_s(v)} s)" for b, v in zip(t["baseline"], t["t1_s"])],
                f"{family.law} serial fraction s": [fmt_num(v) for v in t["serial_fraction"]],
                "trials / worker counts": [f"{p} / {d}" for p, d in zip(t["points"], t["distinct_n"])],
                "RMS residual": [fmt_s(v) + (" s" if family.law == "Amdahl" else "") for v in t["rms"]],
                "note": t["note"]}))
        if fits:
            doc.table(pd.concat(fits, ignore_index=True),
                      f"{family.law} fits by least squares; s = 0: perfectly parallel, "
                      "s = 1: no gain from more workers.")
        pts = []
        for label, f in present:
            for s in f.series:
                p = s.points[s.points["n"] > 1]
                pts.append(pd.DataFrame({
                    **({"run": label} if len(runs) > 1 else {}),
                    "series": s.label, "cell": p["name"],
                    "P × T": [f"{a} × {b}" for a, b in zip(p["ranks"], p["threads"])],
                    "n": p["trials"],
                    "median (min–max) s": [_spread(m, lo, hi)
                                           for m, lo, hi in zip(p["t_median"], p["t_min"], p["t_max"])],
                    "speed-up": [fmt_num(v, 2) for v in p["speedup"]],
                    "efficiency": [fmt_pct(v) for v in p["efficiency"]],
                    **({"Karp–Flatt e": [fmt_num(v) for v in p["karp_flatt"]]} if f.scaling == "strong" else {})}))
        if pts:
            doc.table(pd.concat(pts, ignore_index=True))


def section_nodes(doc: Document, runs):
    """Per run, not overlaid: two runs seldom share hosts, so their nodes do not pair up."""
    doc.heading("Nodes")
    breakdowns = []
    fig_index = 0
    for label, r in runs:
        prefix = f"{label}: " if len(runs) > 1 else ""
        used = used_nodes(r)
        if len(used) <= 1:
            host = used["host"].iloc[0] if len(used) else (r.hosts[0] if r.hosts else "unknown")
            doc.note(f"{prefix}skipped: the run used one node (host {host}); {nodes_howto()}")
            continue
        if len(runs) > 1:
            doc.heading(label, 3)
        placed = node_placement(r)
        table = pd.DataFrame({
            "node": placed["node"], "host": placed["host"], "ranks": placed["ranks_text"],
            "cores": [fmt_num(v, 0) for v in placed["cores"]]})
        caption = prefix + ("Where the world ranks ran (run attributes `hosts`, `rank_node`, `cores`, "
                            "and `workers.node`).")
        if placed["server_requests"].notna().any():
            table["server requests"] = [fmt_num(v, 0) for v in placed["server_requests"]]
            caption += (" Server requests: what the embedded server on that node answered, warm-ups included "
                        "(`server_requests`; – where none ran).")
        doc.table(table, caption)
        spans = cell_nodes(r)
        level = 3 if len(runs) == 1 else 4
        doc.heading("Within one node and across nodes", level)
        fams = node_families(scaling_families(r))
        if not fams:
            doc.note(f"{prefix}no scaling family has a cell across nodes or several placements "
                     "(cells with `placement = \"pack\"` and `\"spread\"` and a 1 × 1 baseline compare the two)")
        for family in fams:
            t = family_node_table(family, spans)
            if t.empty:
                continue
            doc.table(pd.DataFrame({
                "series": t["series"], "cell": t["cell"],
                "P × T": [f"{a} × {b}" for a, b in zip(t["ranks"], t["threads"])],
                "nodes": t["nodes"], "ranks per node": t["ranks_per_node"],
                "median s": [fmt_s(v) for v in t["t_median"]], "speed-up": [fmt_num(v, 2) for v in t["speedup"]],
                "efficiency": [fmt_pct(v) for v in t["efficiency"]]}),
                f"{prefix}{family.title}: cells of more than one rank. Ranks per node in node order (2 + 1: two "
                "ranks on the first node used, one on the next); speed-up and efficiency against the series' "
                "1 × 1 baseline, as in the scaling section.")
            fig_index += 1
            path = plots.nodes_figure(family, doc.outdir / f"nodes-{fig_index}-{family.slug}.png",
                                      f"{prefix}{family.title}")
            doc.figure(Path(path).name, f"{prefix}{family.title}: speed-up per series; marker shape = nodes the "
                                        "cell's ranks spanned; dashed: ideal. Where packed and spread curves part, "
                                        "crossing nodes costs (or gains) that much.")
        b = node_breakdown(r)
        if b.empty:
            continue
        breakdowns.append(b.assign(run=label) if len(runs) > 1 else b)
        multi = b[b["nodes"] > 1]
        doc.heading("Per node: the workers of cells across nodes", level)
        if multi.empty:
            doc.note(f"{prefix}no cell spanned more than one node")
            continue
        doc.table(pd.DataFrame({
            "cell": multi["name"], "node": multi["node"], "host": multi["host"], "ranks": multi["rank_list"],
            "workers": multi["workers"], "busy median s": [fmt_s(v) for v in multi["busy_median_s"]],
            "slowest s": [fmt_s(v) for v in multi["slowest_median_s"]],
            "ops / trial": [fmt_count(v) for v in multi["ops_per_trial"]],
            "I/O requests / trial": [fmt_count(v) for v in multi["io_requests_per_trial"]],
            "I/O errors / trial": [fmt_count(v) for v in multi["io_errors_per_trial"]],
            "latency median (ms)": [fmt_ms(v) for v in multi["latency_median_s"]],
            "GIL wait": [fmt_pct(v) for v in multi["gil_wait_share"]]}),
            f"{prefix}One row per node of each cell that spanned several, over the measured trials. Busy = a "
            "worker's end − start: median over the node's workers and trials; slowest: median over trials of the "
            "node's slowest worker (the cell's wall time waits for the slowest node). Ops and I/O: the node's "
            "workers summed, per trial. Latency: median of the node's successful requests (`requests` table, else "
            "the trace; – without either). GIL wait: waiting for the rank's GIL as a share of busy time.")
    if breakdowns:
        table = pd.concat(breakdowns, ignore_index=True)
        table = table[(["run"] if "run" in table else []) + [c for c in table.columns if c != "run"]]
        table.to_csv(doc.outdir / NODES_CSV, index=False)
        doc.para(f"Every cell's per-node breakdown, one-node cells included: `{NODES_CSV}` in the report's folder.")


def _resolve_cell(r: Results, key) -> int:
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    return int(r.cell(key)["cell"])


def section_timeline(doc: Document, runs, options: ReportOptions):
    doc.heading("GIL timeline")
    picks = []
    for label, r in runs:
        chosen = []
        if options.timeline:
            for key, trial in options.timeline:
                cell = _resolve_cell(r, key)
                if trial is None:
                    traced = r.trace.loc[r.trace["cell"] == cell, "trial"]
                    measured = set(r.measured.loc[r.measured["cell"] == cell, "trial"])
                    choices = sorted(set(traced) & measured) or sorted(set(traced))
                    if not choices:
                        doc.note(f"{label}: cell '{r.cell(cell)['name']}' has no traced trial (set trace = true)")
                        continue
                    trial = choices[0]
                chosen.append((cell, int(trial)))
        else:
            chosen = pick_trials(r)
        picks.append(chosen)
    if all(not p for p in picks):
        doc.note("skipped: no traced trial with two or more threads on a rank (set trace = true in a "
                 "multi-thread cell, or run with --trace)")
        return
    doc.para("One lane per thread: when it held its rank's GIL (solid), when it was in a blocking call with the GIL "
             "released (hatched) and when it waited for the GIL (pale); ▼ marks a drop request, set by a thread that "
             "waited a whole switch interval. Times are from the trial's start barrier.")
    # With two runs, pair the pictures by workload so like is drawn beside like.
    kinds = lambda r, p: r.cell(p[0])["workload"]  # noqa: E731
    if len(runs) == 1:
        groups = [[(runs[0][0], runs[0][1], p)] for p in picks[0]]
    else:
        pairs = match_by_key([(runs[0][1], p) for p in picks[0]], [(runs[1][1], p) for p in picks[1]],
                             key=lambda rp: kinds(*rp))
        groups = [[(runs[i][0], rp[0], rp[1]) for i, rp in enumerate(pair) if rp is not None] for pair in pairs]
    for i, group in enumerate(groups):
        tls = [(label, timeline(r, cell, trial, options.max_events)) for label, r, (cell, trial) in group]
        tl0 = tls[0][1]
        doc.heading(f"{group[0][1].cell(tl0.cell)['workload']}: cell '{tl0.name}', trial {tl0.trial}", 3)
        path = plots.timeline_figure(tls, doc.outdir / f"timeline-{i + 1}-{_slug(tl0.name)}.png")
        doc.figure(Path(path).name, f"GIL timeline of cell '{tl0.name}', trial {tl0.trial}; holds shorter than "
                   f"{plots.MIN_HOLD_FRACTION:.1%} of the axis are widened to stay visible"
                   + (f" (first {tl0.truncated_at * 1e3:.1f} ms of the trace)" if tl0.truncated_at else "") + ".")
        stats = []
        for label, tl in tls:
            st = timeline_stats(tl)
            stats.append(pd.DataFrame({
                **({"run": label} if len(tls) > 1 else {}),
                "rank": st["rank"], "thread": st["thread"], "holds GIL (ms)": [fmt_ms(v) for v in st["hold"]],
                "in I/O (ms)": [fmt_ms(v) for v in st["io"]], "waits (ms)": [fmt_ms(v) for v in st["wait"]],
                "GIL takes": st["takes"].astype(int), "drop requests set": st["drop_requests"].astype(int)}))
        doc.table(pd.concat(stats, ignore_index=True))


def _pop_text(v) -> str:
    """A POP factor with two decimals, marked when it is under the rule of thumb's 0.8."""
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.2f}" + (" ⚠" if v < POP_THRESHOLD else "")


def section_gil_metrics(doc: Document, runs):
    """Per-thread and per-cell GIL figures in gil_load's and gilknocker's units, switches per
    second and lost switch intervals (traced cells), the ccbench view and the POP breakdown
    (where the job has the cells for them). Definitions: gil_metrics.py, docs/gil-metrics.md."""
    doc.heading("GIL metrics")
    doc.para("The GIL in the units other tools report, computed exactly from the trace (every take and drop) and "
             "the workers' counters instead of by sampling; definitions in docs/gil-metrics.md. **held** and "
             "**waiting**: a thread's time holding the GIL and wanting it without holding it, as fractions of its "
             "wall time (gil_load's per-thread held and wait). **contention**: the share of a rank's time during "
             "which at least one thread wanted the GIL and could not get it (gilknocker's contention metric, "
             "0–1), and its cumulative form C(t) at "
             + ", ".join(f"{q:.0%}" for q in CUMULATIVE_AT) + " of the trial. **switches / s**: takes by another "
             "thread than the previous holder, per second of the rank's time. **lost intervals**: time from the end "
             "of a blocking call to the thread's next take, in switch intervals (new GIL only), per call and per "
             "HTTP request.")
    for label, r in runs:
        prefix = f"{label}: " if len(runs) > 1 else ""
        m = gil_metrics(r)
        if m.cells.empty:
            doc.note(f"{prefix}per-thread figures not shown: no traced cell with a GIL (set trace = true in a "
                     "cell, or run with --trace)")
        else:
            c = m.cells
            doc.table(pd.DataFrame({
                "cell": c["name"], "GIL": [g if g != "new" else f"new, {si * 1e3:g} ms"
                                           for g, si in zip(c["gil"], c["switch_interval_s"])],
                "P × T": [f"{p} × {t}" for p, t in zip(c["ranks"], c["threads"])], "trials": c["trials"],
                "GIL held (any thread)": [fmt_num(v) for v in c["held_any"]],
                "contention": [fmt_num(v) for v in c["contention"]],
                **{f"C at {q:.0%}": [fmt_num(v) for v in c[f"contention_at_{round(q * 100)}"]] for q in CUMULATIVE_AT},
                "switches / s": [fmt_num(v, 0) for v in c["switches_per_s"]],
                "lost intervals / call": [fmt_num(v, 2) for v in c["lost_per_call"]],
                "lost intervals / request": [fmt_num(v, 2) for v in c["lost_per_request"]]}),
                f"{prefix}Per traced cell, over its measured traced trials and ranks (times summed before dividing). "
                "– : cannot be computed (no blocking call, not the new GIL, or a trace with takes only).")
            t = m.threads
            doc.table(pd.DataFrame({
                "cell": t["name"], "rank": t["rank"], "thread": t["thread"],
                "held": [fmt_num(v) for v in t["held"]], "waiting": [fmt_num(v) for v in t["wait"]],
                "switches in / s": [fmt_num(v, 0) for v in t["switches_in_per_s"]],
                "blocking calls": t["io_calls"].astype(int),
                "lost intervals / call": [fmt_num(v, 2) for v in t["lost_per_call"]],
                "lost intervals / request": [fmt_num(v, 2) for v in t["lost_per_request"]]}),
                f"{prefix}Per thread. Switches in: hand-overs to this thread; a rank's threads add up to its "
                "switches / s.")
        for name, why in m.skipped:
            doc.note(f"{prefix}cell `{name}`: {why}")
        if m.warmups_only:
            doc.note(f"{prefix}only warm-up trials were traced in " + ", ".join(f"`{n}`" for n in m.warmups_only)
                     + "; their figures come from those")
    _ccbench_view(doc, runs)
    _pop_view(doc, runs)


def _ccbench_view(doc: Document, runs):
    doc.heading("ccbench view", 3)
    doc.para("As CPython's Tools/ccbench printed it: CPU throughput (countdown steps per second, summed over the "
             "threads, median over measured trials) with T threads as a percentage of one thread, and the latency "
             "of I/O requests beside N CPU-bound threads, with the 50th, 90th and 99th percentiles.")
    for label, r in runs:
        prefix = f"{label}: " if len(runs) > 1 else ""
        tps = ccbench_throughput(r)
        if not tps:
            doc.note(f"{prefix}throughput view not shown: no one-rank cpu cells that differ only in their threads, "
                     f"with a 1-thread cell among them (run {job_file('scaling.toml')})")
        for f in tps:
            t = f.table
            doc.table(pd.DataFrame({
                "threads": t["threads"], "cell": t["name"], "trials": t["trials"],
                "steps / s": [fmt_count(round(v)) if np.isfinite(v) else "–" for v in t["throughput_per_s"]],
                "% of one thread": [f"{v:.0f} %" if np.isfinite(v) else "–" for v in t["percent"]]}),
                f"{prefix}Throughput: {f.title}.")
        lats = ccbench_latency(r)
        if not lats:
            doc.note(f"{prefix}latency view not shown: no mixed cell with per-request latencies (cells with "
                     "workload = \"mixed\" beside an io cell of the same shape)")
        for f in lats:
            t = f.table
            doc.table(pd.DataFrame({
                "CPU threads": t["cpu_threads"], "cell": t["name"], "requests": t["requests"],
                "P50 (ms)": [fmt_ms(v) for v in t["p50_s"]], "P90 (ms)": [fmt_ms(v) for v in t["p90_s"]],
                "P99 (ms)": [fmt_ms(v) for v in t["p99_s"]]}),
                f"{prefix}Latency: {f.title}.")


def _pop_view(doc: Document, runs):
    doc.heading("POP efficiency breakdown", 3)
    doc.para("The POP Centre of Excellence's factors per cell of P ranks × T threads, over its measured trials. "
             "Useful time = a worker's busy time less its GIL wait. Load balance = mean / max useful time; "
             "serialisation = max useful / max busy time (≈ 1 − the GIL wait share); transfer = max busy time / "
             "wall time (what is left: start-up skew, barriers); parallel efficiency = mean useful / wall time = "
             f"their product. ⚠: below {POP_THRESHOLD}, POP's rule of thumb for a factor worth a look. CPU-bound "
             "threads under one GIL lose on serialisation (≈ 1/T); ranks, each with its own GIL, do not.")
    for label, r in runs:
        prefix = f"{label}: " if len(runs) > 1 else ""
        p, skipped = pop_breakdown(r)
        if p.empty:
            doc.note(f"{prefix}POP breakdown not shown: no cell with more than one worker and GIL counters")
        else:
            doc.table(pd.DataFrame({
                "cell": p["name"], "workload": p["workload"], "GIL": p["gil"],
                "P × T": [f"{a} × {b}" for a, b in zip(p["ranks"], p["threads"])], "trials": p["trials"],
                "load balance": [_pop_text(v) for v in p["load_balance"]],
                "serialisation": [_pop_text(v) for v in p["serialisation"]],
                "transfer": [_pop_text(v) for v in p["transfer"]],
                "parallel efficiency": [_pop_text(v) for v in p["parallel"]]}))
        for name, why in skipped:
            doc.note(f"{prefix}cell `{name}`: {why}")


def _latency_curves(r: Results, lat: pd.DataFrame, cells: pd.DataFrame):
    out = []
    for _, c in cells.iterrows():
        values = lat.loc[(lat["cell"] == c["cell"]) & (lat["ok"] == 1), "latency_s"].to_numpy()
        if len(values):
            out.append((f"{c['name']}, {c['ranks']}×{c['threads']}", values, float(c["latency_s"])))
    return out


def section_latency(doc: Document, runs, max_curves: int = 8):
    doc.heading("I/O latency")
    data = [(label, r, *request_latencies(r)) for label, r in runs]
    if all(src == "" for *_, src in data):
        doc.note("skipped: no per-request latencies (no `requests` rows and no traced io cell among the measured "
                 "trials; set trace = true in an io cell, or use a gilbench that writes `requests`)")
        return
    sources = {label: src for label, _, _, src in data}
    how = {"requests": "from the `requests` table (end_s − start_s: the whole GET as the calling code sees it, "
                       "GIL re-take included)",
           "trace": "from the trace (the file has no `requests` table): each blocking call from `io_start` to the "
                    "thread's next GIL `take` after `io_end`, i.e. until the calling code could run again (GIL "
                    "re-take included); builds that wrote no `requests` table made one such call per request",
           "": "none"}
    doc.para("Latency of each HTTP request of the measured trials, "
             + "; ".join(f"{label}: {how[src]}" if len(runs) > 1 else how[src] for label, src in sources.items()) + ".")
    # Alone: io cells.
    curves = []
    for label, r, lat, src in data:
        io_cells = r.cells[(r.cells["workload"] == "io")
                           & r.cells["cell"].isin(lat["cell"].unique() if not lat.empty else [])]
        curves.append((label, _latency_curves(r, lat, io_cells)[:max_curves]))
    if any(c for _, c in curves):
        path = plots.latency_cdf_figure(curves, doc.outdir / "latency-cdf.png", "I/O threads alone (io cells)")
        doc.figure(Path(path).name, "Cumulative distribution of request latency in the io cells (no CPU-bound "
                                    "thread); dotted: the embedded server's delay, the floor.")
    summaries = []
    for label, r, lat, src in data:
        s = latency_summary(lat, r)
        if s.empty:
            continue
        summaries.append(pd.DataFrame({
            **({"run": label} if len(runs) > 1 else {}),
            "cell": s["name"], "workload": s["workload"], "GIL": s["gil"],
            "P × T": [f"{p} × {t}" for p, t in zip(s["ranks"], s["threads"])],
            "CPU threads beside": s["cpu_threads"].astype(int), "requests": s["requests"], "failed": s["failed"],
            "server delay (ms)": [fmt_ms(v) for v in s["latency_s"]], "median (ms)": [fmt_ms(v) for v in s["median_s"]],
            "p90 (ms)": [fmt_ms(v) for v in s["p90_s"]], "p99 (ms)": [fmt_ms(v) for v in s["p99_s"]],
            "max (ms)": [fmt_ms(v) for v in s["max_s"]], "median − delay (ms)": [fmt_ms(v) for v in s["extra_s"]]}))
    if summaries:
        doc.table(pd.concat(summaries, ignore_index=True))
    section_convoy(doc, runs, data)


def convoy_cells(summary: pd.DataFrame, mixed: pd.DataFrame) -> pd.Series:
    """Which rows of a latency summary the convoy figure shows: the mixed cells, and as "I/O
    alone" the io cells at the same server delay, preferably of the same shape as the mixed
    cells' I/O part (same ranks, threads = their io_threads)."""
    is_mixed = summary["cell"].isin(mixed["cell"])
    io = (summary["workload"] == "io") & summary["latency_s"].isin(set(mixed["latency_s"]))
    shapes = set(zip(mixed["ranks"], mixed["io_threads"], mixed["latency_s"]))
    same_shape = io & [(p, t, l) in shapes
                       for p, t, l in zip(summary["ranks"], summary["threads"], summary["latency_s"])]
    return is_mixed | (same_shape if same_shape.any() else io)


def section_convoy(doc: Document, runs, data):
    doc.heading("Convoy effect: I/O beside CPU-bound threads", 3)
    per_run = []
    for label, r, lat, src in data:
        mixed = r.cells[(r.cells["workload"] == "mixed")]
        s = latency_summary(lat, r) if not lat.empty else pd.DataFrame()
        if s.empty or not s["cell"].isin(mixed["cell"]).any():
            per_run.append((label, None))
            continue
        lat_ok = lat[lat["ok"] == 1]
        s = s.assign(lat=[lat_ok.loc[lat_ok["cell"] == c, "latency_s"].to_numpy() for c in s["cell"]])
        per_run.append((label, s[convoy_cells(s, mixed)]))
    if all(d is None for _, d in per_run):
        doc.note("skipped: no mixed-workload cell with per-request latencies (the convoy case needs cells with "
                 "workload = \"mixed\", traced or with a `requests` table)")
        return
    present = [(label, d) for label, d in per_run if d is not None]
    path = plots.convoy_figure(present, doc.outdir / "convoy.png")
    doc.figure(Path(path).name, "(a) I/O threads' request latency alone (grey) and beside CPU-bound threads of the "
                                "same rank; (b) median and 99th percentile above the server's delay. An I/O thread "
                                "back from its call must take the GIL from a CPU-bound thread, which can cost up to a "
                                "switch interval per re-acquisition (the convoy effect, bpo-7946).")


def section_sweep(doc: Document, runs):
    doc.heading("Switch-interval sweep")
    fams = [(label, sweep_families(r)) for label, r in runs]
    if all(not f for _, f in fams):
        doc.note("skipped: no cells that differ only in the new GIL's switch interval "
                 f"(run {job_file('switch-interval.toml')}, or cells with several switch_interval values)")
        return
    present = [(label, f) for label, f in fams if f]
    path = plots.sweep_figure(present, doc.outdir / "switch-interval.png")
    doc.figure(Path(path).name, "Against the new GIL's switch interval: (a) wall time of the CPU-bound work, "
                                "(b) I/O request latency, (c) GIL hand-offs forced by drop requests, with the "
                                "1/interval line one forced hand-off per interval would give.")
    for label, fs in present:
        for f in fs:
            t = sweep_table(f)
            cols = {"switch interval (ms)": [f"{v * 1e3:g}" for v in t["switch_interval_s"]]}
            if "cpu_median_s" in t:
                cols["CPU time median (min–max) s"] = [_spread(m, lo, hi) for m, lo, hi in
                                                       zip(t["cpu_median_s"], t["cpu_min_s"], t["cpu_max_s"])]
            if "io_median_s" in t:
                cols["latency median (ms)"] = [fmt_ms(v) for v in t["io_median_s"]]
                cols["p90 (ms)"] = [fmt_ms(v) for v in t["io_p90_s"]]
                cols["p99 (ms)"] = [fmt_ms(v) for v in t["io_p99_s"]]
            if "forced_drops_per_s" in t:
                cols["forced drops / s"] = ["not measured" if not f.gil_counters else fmt_num(v, 0)
                                            for v in t["forced_drops_per_s"]]
            doc.table(pd.DataFrame(cols), (f"{label}: " if len(runs) > 1 else "") + f"{f.label}.")


# ---------------------------------------------------------------------------------------------

def build(runs, outdir, options: ReportOptions | None = None) -> Document:
    """The report Document for one run or two; figures are written into outdir meanwhile."""
    options = options or ReportOptions()
    if len(runs) == 1:
        title = f"gilbench report: {Path(runs[0][1].path).name} /runs/{runs[0][1].run}"
    elif len(runs) == 2:
        title = f"gilbench comparison: {runs[0][0]} and {runs[1][0]}"
    else:
        raise ValueError(f"a report takes one run or two to compare, got {len(runs)}")
    doc = Document(title, outdir=Path(outdir))
    doc.outdir.mkdir(parents=True, exist_ok=True)
    section_metadata(doc, runs)
    section_cells(doc, runs)
    section_seed(doc, runs)
    section_functions(doc, runs)
    section_fidelity(doc, runs, options.references)
    section_scaling(doc, runs)
    section_nodes(doc, runs)
    section_timeline(doc, runs, options)
    section_gil_metrics(doc, runs)
    section_latency(doc, runs)
    section_sweep(doc, runs)
    return doc


# The figures and data files a report writes; an earlier report's in the same folder are removed
# first, so the folder never mixes files of two runs.
NODES_CSV = "nodes-workers.csv"
FIGURE_PATTERNS = ("seed.png", "functions.png", "scaling-*.png", "nodes-*.png", "timeline-*.png", "latency-cdf.png",
                   "convoy.png", "switch-interval.png", "compare-cells.png")
DATA_PATTERNS = (NODES_CSV,)


def write_report(runs, outdir, options: ReportOptions | None = None) -> Written:
    options = options or ReportOptions()
    for pattern in FIGURE_PATTERNS + DATA_PATTERNS:
        for old in Path(outdir).glob(pattern):
            old.unlink()
    doc = build(runs, outdir, options)
    md = Path(outdir) / "report.md"
    md.write_text(to_markdown(doc), encoding="utf-8")
    page = None
    if options.html:
        page = Path(outdir) / "report.html"
        page.write_text(to_html(doc), encoding="utf-8")
    return Written(markdown=str(md), html=str(page) if page else None,
                   figures=[str(Path(outdir) / f) for f in doc.figures], notes=doc.notes)
