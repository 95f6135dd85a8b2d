"""Fidelity: how close the emulated GIL comes to the real CPython, figure by figure.

A fidelity run (jobs/fidelity.toml) has every cell twice, `<base>-emulated` and `<base>-cpython`
(engine from `cells.engine`). From each side's trials this module derives the same figures
(docs/gil-fidelity.md; the definitions in analysis/README.md, "Fidelity"):

- CPU ratios: wall(cpu-2t | cpu-4t | cpu-2r) / wall(cpu-1t); switch interval: wall(cpu-2t-siX) /
  wall(cpu-1t); I/O ratios: wall(io-2t | io-4t) / wall(io-1t). Band ±0.03 absolute.
- hand-overs in handover-siX: take events of rank 0 sorted by time; a take by another thread
  than the previous take's is a hand-over. switches_siX = hand-overs per second from the first
  to the last, runlength_siX = median time between consecutive hand-overs. Band ±5 % of the
  real value.
- convoy_siX = (mean request latency in convoy-siX − in convoy-alone) / X: switch intervals
  lost per GET. Band ±20 %.
- old GIL (emulated only, against a Python 2.7 reference file): cpu_2t_old, convoy_old_ms.

Per round r (trial number: with `order` = "rounds" trial k of every cell ran in round k; with
"cells" the trials are still paired by number, but not adjacent in time) one value per figure and
side: a ratio pairs trial k of the numerator's cell with trial k of the denominator's; warm-ups,
failed trials (I/O errors) and disturbed trials give none. Each side: median over rounds, p25..p75
spread. The verdict (`verdict`) is an equivalence test on the 95 % interval of the paired
difference emulated − real, per round (rounds both sides have): absolute bands take the
difference in the figure's unit; relative bands the relative difference per round,
(emulated − real) / |real| (not the log ratio: convoy figures can be 0 or negative). The mean
over rounds with an expanded percentile bootstrap interval (paired.py, seeded: a report is
reproducible). "within band" when the whole interval lies in [−band, +band], "outside band" when
it lies wholly outside, else "undecided" with about how many more rounds would decide it; "too
few rounds" below MIN_ROUNDS pairs. No verdict compares one round's spread with the band: a noisy
machine widens the interval, so it takes more rounds to decide, never a different verdict.

Reference files (`load_reference`) hold the same figures measured inside other interpreters
(bench/cpython_probe.py); each is compared with the emulated cells of the same key.

Everything below the loader-facing functions works on plain lists and dicts, so the logic is
testable on hand-made numbers; no matplotlib.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .document import Document
from .install import probe_command
from .latency import trace_latencies
from .load import Results
from .paired import Estimate, Verdict, paired_difference, paired_relative_difference, unpaired_difference
from .paired import verdict as interval_verdict

ENGINES = ("emulated", "cpython")
REFERENCE_FORMAT = "gilbench-fidelity-reference/1"

WITHIN, OUTSIDE, UNDECIDED, FEW = "within band", "outside band", "undecided", "too few rounds"
# Fewer paired rounds than this (unpaired: rounds on a side) give no interval to decide by: no
# verdict (never a pass).
MIN_ROUNDS = 3

# A difference equal to the band counts as within it: |1.03 − 1.00| is 0.030000000000000027 in
# floating point, which must not turn a figure that sits exactly on the edge into a failure.
EDGE = 1e-9


@dataclass(frozen=True)
class FigureSpec:
    key: str             # as in reference files: "cpu_2t", "switches_si5ms", ...
    group: str           # the section's table it goes in
    label: str           # the row's text
    kind: str            # "ratio", "switches", "runlength", "convoy", "convoy_ms"
    cells: tuple         # bases of the cells it needs: (numerator, denominator) or (cell,)
    band: float
    relative: bool       # band × |real median| when True
    interval_s: float = float("nan")   # convoy: the X in "/ X"
    old: bool = False    # old GIL: emulated only, compared with Python 2.7 reference files


def _build_specs() -> tuple:
    specs = []
    cpu = "CPU ratios"
    specs += [FigureSpec("cpu_2t", cpu, "2 threads / 1 thread", "ratio", ("cpu-2t", "cpu-1t"), 0.03, False),
              FigureSpec("cpu_4t", cpu, "4 threads / 1 thread", "ratio", ("cpu-4t", "cpu-1t"), 0.03, False),
              FigureSpec("cpu_2r", cpu, "2 ranks / 1 thread", "ratio", ("cpu-2r", "cpu-1t"), 0.03, False)]
    io = "I/O ratios"
    specs += [FigureSpec("io_2t", io, "2 threads / 1 thread", "ratio", ("io-2t", "io-1t"), 0.03, False),
              FigureSpec("io_4t", io, "4 threads / 1 thread", "ratio", ("io-4t", "io-1t"), 0.03, False)]
    intervals = (("0.5ms", 0.0005), ("5ms", 0.005), ("50ms", 0.05))
    si = "Switch interval"
    for name, _ in intervals:
        # cpu_2t is the 5 ms one: shown again in this table (same key, same values).
        base = "cpu-2t" if name == "5ms" else f"cpu-2t-si{name}"
        key = "cpu_2t" if name == "5ms" else f"cpu_2t_si{name}"
        specs.append(FigureSpec(key, si, f"2 threads / 1 thread, {name.replace('ms', ' ms')}", "ratio",
                                (base, "cpu-1t"), 0.03, False))
    ho = "Hand-overs"
    for name, _ in intervals:
        specs.append(FigureSpec(f"switches_si{name}", ho, f"hand-overs / s, {name.replace('ms', ' ms')}",
                                "switches", (f"handover-si{name}",), 0.05, True))
    for name, _ in intervals:
        specs.append(FigureSpec(f"runlength_si{name}", ho, f"median run length (s), {name.replace('ms', ' ms')}",
                                "runlength", (f"handover-si{name}",), 0.05, True))
    cv = "Convoy"
    for name, x in intervals:
        specs.append(FigureSpec(f"convoy_si{name}", cv, f"intervals lost per GET, {name.replace('ms', ' ms')}",
                                "convoy", (f"convoy-si{name}", "convoy-alone"), 0.20, True, interval_s=x))
    old = "Old GIL"
    specs += [FigureSpec("cpu_2t_old", old, "2 threads / 1 thread, old GIL", "ratio", ("cpu-2t-old", "cpu-1t-old"),
                         0.03, False, old=True),
              FigureSpec("convoy_old_ms", old, "ms lost per GET beside a CPU thread, old GIL", "convoy_ms",
                         ("convoy-old", "convoy-alone"), 0.20, True, old=True)]
    return tuple(specs)


SPECS = _build_specs()
GROUPS = ("CPU ratios", "I/O ratios", "Switch interval", "Hand-overs", "Convoy")
# One spec per key: the first (cpu_2t appears twice, in CPU ratios and in Switch interval).
BY_KEY = {}
for _spec in SPECS:
    BY_KEY.setdefault(_spec.key, _spec)


# ---------------------------------------------------------------------------------------------
# Pure logic: per-round pairing, hand-overs, statistics, verdicts.

def pair_rounds(numerator: dict, denominator: dict, combine) -> dict:
    """{round: combine(n, d)} for every round both sides have (a failed or missing trial on
    either side drops that round only); non-finite results are left out."""
    out = {}
    for r in sorted(set(numerator) & set(denominator)):
        v = combine(numerator[r], denominator[r])
        if v is not None and math.isfinite(v):
            out[r] = float(v)
    return out


def _ratio(n, d):
    return n / d if d else None


def handover_times(times, threads) -> np.ndarray:
    """Times of the hand-overs among a trial's take events: a take by another thread than the
    previous take's (the first take is none; a thread taking the GIL again is none)."""
    t = np.asarray(times, dtype=float)
    th = np.asarray(threads)
    order = np.argsort(t, kind="stable")
    t, th = t[order], th[order]
    if len(t) < 2:
        return np.empty(0)
    changed = th[1:] != th[:-1]
    return t[1:][changed]


def switches_per_s(times, threads) -> float:
    """Hand-overs per second between the first hand-over and the last: (n - 1) / span. Not per
    second of the cell's wall time, which also holds the start (one thread runs a whole interval
    before the first hand-over) and the end (the thread left runs alone): those edges weigh
    with the cell's length, and the two sides' cells differ in length. NaN with fewer than two."""
    h = handover_times(times, threads)
    if len(h) < 2 or h[-1] <= h[0]:
        return float("nan")
    return float((len(h) - 1) / (h[-1] - h[0]))


def median_run_length(times, threads) -> float:
    """Median time between consecutive hand-overs (s); NaN with fewer than two."""
    h = handover_times(times, threads)
    if len(h) < 2:
        return float("nan")
    return float(np.median(np.diff(h)))


@dataclass
class Side:
    """One side's per-round values of a figure, summarized."""
    values: list
    median: float
    p25: float
    p75: float

    @property
    def noise(self) -> float:
        return (self.p75 - self.p25) / 2

    @property
    def rounds(self) -> int:
        return len(self.values)


def summarize(values) -> Side | None:
    """Median and p25..p75 of the finite values; None when there are none."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return None
    p25, med, p75 = np.percentile(v, [25, 50, 75])
    return Side(values=v.tolist(), median=float(med), p25=float(p25), p75=float(p75))


@dataclass
class Comparison:
    key: str
    real: Side
    emulated: Side
    band: float          # absolute: the band in the figure's unit (relative bands resolved)
    band_text: str       # "±0.03", "±5 %"
    relative: bool
    verdict: str         # WITHIN, OUTSIDE, UNDECIDED or FEW
    # The interval the verdict judged: emulated − real (relative bands: (emulated − real) / |real|,
    # a fraction), per paired round, or of the means where the sides cannot be paired.
    estimate: Estimate | None = None
    decision: Verdict | None = None
    paired: bool = True
    band_fraction: float = float("nan")   # the band as the verdict applies it: fraction or figure unit

    @property
    def difference(self) -> float:
        return self.emulated.median - self.real.median

    @property
    def relative_difference(self) -> float:
        return self.difference / abs(self.real.median) if self.real.median else float("nan")

    @property
    def verdict_text(self) -> str:
        """The verdict as the table writes it: 'within band', 'outside band', 'too few rounds', or
        'undecided after 6 rounds (interval [-0.041, +0.052]); about 14 more rounds would decide it'."""
        if self.verdict != UNDECIDED or self.estimate is None:
            return self.verdict
        e = self.estimate
        rounds = f"{e.n} rounds" if self.paired else f"{e.n}+ rounds a side"
        text = f"undecided after {rounds} (interval {_interval(e, self.relative)})"
        if self.decision is not None and self.decision.more_rounds:
            text += f"; about {self.decision.more_rounds} more rounds would decide it"
        return text


def _interval(e: Estimate, relative: bool) -> str:
    if relative:
        return f"[{e.low * 100:+.1f} %, {e.high * 100:+.1f} %]"
    return f"[{e.low:+.3g}, {e.high:+.3g}]"


def decide(est: Estimate, band: float) -> Verdict:
    """paired.verdict against [−band, +band], an interval end equal to the band (up to rounding)
    counting as within: |1.03 − 1.00| is 0.030000000000000027 in floating point."""
    slack = band * EDGE + 1e-15
    return interval_verdict(est, -band - slack, band + slack)


def verdict(est: Estimate, band: float) -> str:
    """The verdict for one figure from its difference's interval (emulated − real, in the unit
    the band is in: the figure's, or a fraction for a relative band): WITHIN when the whole
    interval lies in [−band, +band], OUTSIDE when wholly outside, else UNDECIDED."""
    return {"within": WITHIN, "outside": OUTSIDE}.get(decide(est, band).decision, UNDECIDED)


def compare(key: str, real_values, emulated_values, band: float | None = None,
            relative: bool | None = None, seed: int = 0) -> Comparison | None:
    """Both sides of a figure summarized and judged; None when a side has no round. The band
    defaults to the figure's (SPECS).

    {round: value} dicts on both sides are paired by round (the rounds both have: the verdict
    judges the paired difference); lists cannot be paired (a reference file against this run):
    the verdict judges the difference of the means, each side resampled on its own
    (paired.unpaired_difference)."""
    spec = BY_KEY.get(key)
    band = spec.band if band is None else band
    relative = spec.relative if relative is None else relative
    paired = isinstance(real_values, dict) and isinstance(emulated_values, dict)
    real_list = list(real_values.values()) if isinstance(real_values, dict) else list(real_values)
    emu_list = list(emulated_values.values()) if isinstance(emulated_values, dict) else list(emulated_values)
    real, emu = summarize(real_list), summarize(emu_list)
    if real is None or emu is None:
        return None
    width = band * abs(real.median) if relative else band
    text = f"±{band * 100:g} %" if relative else f"±{band:g}"
    if paired:
        rounds = [r for r in sorted(set(real_values) & set(emulated_values))
                  if _finite(real_values[r]) and _finite(emulated_values[r])]
        r = np.array([real_values[k] for k in rounds], dtype=float)
        e = np.array([emulated_values[k] for k in rounds], dtype=float)
        if relative:
            est = paired_relative_difference(e, r, method="bootstrap", seed=seed)
        else:
            est = paired_difference(e, r, method="bootstrap", seed=seed)
        few = est.n < MIN_ROUNDS
    else:
        est = unpaired_difference(emu_list, real_list, seed=seed, relative=relative)
        few = min(real.rounds, emu.rounds) < MIN_ROUNDS
    decision = None if few else decide(est, band)
    v = FEW if few else {"within": WITHIN, "outside": OUTSIDE}.get(decision.decision, UNDECIDED)
    return Comparison(key=key, real=real, emulated=emu, band=width, band_text=text, relative=relative,
                      verdict=v, estimate=est, decision=decision, paired=paired, band_fraction=band)


def _finite(v) -> bool:
    return v is not None and math.isfinite(v)


def tally(comparisons) -> dict:
    out = {WITHIN: 0, OUTSIDE: 0, UNDECIDED: 0, FEW: 0}
    for c in comparisons:
        out[c.verdict] += 1
    return out


# ---------------------------------------------------------------------------------------------
# From a loaded run: per-round values of each cell, then of each figure.

def twin_bases(results: Results) -> list:
    """Bases with both `<base>-emulated` (engine emulated) and `<base>-cpython` (engine cpython)."""
    names = set(f"{n}\0{e}" for n, e in zip(results.cells["name"], results.cells["engine"]))
    bases = []
    for name, engine in zip(results.cells["name"], results.cells["engine"]):
        if engine == "cpython" and name.endswith("-cpython"):
            base = name[:-len("-cpython")]
            if f"{base}-emulated\0emulated" in names and base not in bases:
                bases.append(base)
    return bases


def _cell_row(results: Results, base: str, engine: str):
    c = results.cells
    match = c[(c["name"] == f"{base}-{engine}") & (c["engine"] == engine)]
    return None if match.empty else match.iloc[0]


def _round_trials(results: Results, cell_row) -> pd.DataFrame:
    """The cell's usable trials (not warm-ups, no I/O errors, not disturbed, finite wall time)
    with `round`: the trial number (round k ran trial k of every cell)."""
    m = results.measured
    t = m[m["cell"] == cell_row["cell"]]
    t = t[np.isfinite(t["wall_s"].astype(float))]
    # trials.round: the round a trial ran in (a retry of a disturbed trial keeps its round's).
    return t.assign(round=t["round"].astype(int) if "round" in t.columns else t["trial"].astype(int))


def wall_rounds(results: Results, cell_row) -> dict:
    t = _round_trials(results, cell_row)
    return dict(zip(t["round"].astype(int), t["wall_s"].astype(float)))


def mean_latency_rounds(results: Results, cell_row) -> dict:
    """Per round: the mean latency of the cell's successful requests, of its I/O threads
    (threads 0 … io_threads-1 of a mixed cell). From `requests`, else from the trace."""
    t = _round_trials(results, cell_row)
    if t.empty:
        return {}
    q = results.requests[results.requests["cell"] == cell_row["cell"]]
    if not q.empty:
        lat = q.assign(latency_s=q["end_s"] - q["start_s"])
    else:
        tr = results.trace[results.trace["cell"] == cell_row["cell"]]
        if tr.empty or not (tr["event"] == "io_start").any():
            return {}
        lat = trace_latencies(tr)
    lat = lat[lat["ok"] == 1]
    if cell_row["workload"] == "mixed" and int(cell_row["io_threads"]) > 0:
        lat = lat[lat["thread"] < int(cell_row["io_threads"])]
    means = lat.groupby("trial")["latency_s"].mean()
    rounds = dict(zip(t["trial"].astype(int), t["round"].astype(int)))
    return {rounds[int(k)]: float(v) for k, v in means.items() if int(k) in rounds}


def handover_rounds(results: Results, cell_row) -> tuple:
    """Per round: (switches per s, median run length) from rank 0's take events. Rounds whose
    trace has no take event give nothing (the cpython engine before it recorded them), nor do
    rounds whose trace was cut short (`workers.trace_dropped` > 0 on rank 0: too few hand-overs)."""
    t = _round_trials(results, cell_row)
    w = results.workers
    if not w.empty and "trace_dropped" in w.columns:
        cut = w[(w["cell"] == cell_row["cell"]) & (w["rank"] == 0) & (w["trace_dropped"] > 0)]
        t = t[~t["trial"].isin(set(cut["trial"]))]
    tr = results.trace
    takes = tr[(tr["cell"] == cell_row["cell"]) & (tr["rank"] == 0) & (tr["event"] == "take")]
    switches, runs = {}, {}
    if takes.empty:
        return switches, runs
    by_trial = dict(tuple(takes.groupby("trial")))
    for trial, rnd in zip(t["trial"].astype(int), t["round"].astype(int)):
        ev = by_trial.get(trial)
        if ev is None or ev.empty:
            continue
        switches[rnd] = switches_per_s(ev["t_s"].to_numpy(), ev["thread"].to_numpy())
        runs[rnd] = median_run_length(ev["t_s"].to_numpy(), ev["thread"].to_numpy())
    return ({r: v for r, v in switches.items() if math.isfinite(v)},
            {r: v for r, v in runs.items() if math.isfinite(v)})


def figure_rounds(results: Results, spec: FigureSpec, engine: str) -> dict | None:
    """{round: value} of one figure on one engine's cells; None when a cell is missing."""
    rows = [_cell_row(results, base, engine) for base in spec.cells]
    if any(r is None for r in rows):
        return None
    if spec.kind == "ratio":
        return pair_rounds(wall_rounds(results, rows[0]), wall_rounds(results, rows[1]), _ratio)
    if spec.kind in ("switches", "runlength"):
        switches, runs = handover_rounds(results, rows[0])
        return switches if spec.kind == "switches" else runs
    if spec.kind == "convoy":
        return pair_rounds(mean_latency_rounds(results, rows[0]), mean_latency_rounds(results, rows[1]),
                           lambda a, b: (a - b) / spec.interval_s)
    if spec.kind == "convoy_ms":
        return pair_rounds(mean_latency_rounds(results, rows[0]), mean_latency_rounds(results, rows[1]),
                           lambda a, b: (a - b) * 1e3)
    raise ValueError(f"unknown figure kind {spec.kind!r}")


@dataclass
class Row:
    group: str
    label: str
    comparison: Comparison


@dataclass
class RefRow:
    interpreter: str     # "CPython 3.12.7"
    gil: str
    label: str
    comparison: Comparison


@dataclass
class Fidelity:
    """The section's content for one run."""
    rows: list                     # Row, in SPECS order (cpu_2t twice)
    left_out: list                 # (key, why) of figures with cells but no usable rounds
    python_version: str
    calibration: str
    references: list = field(default_factory=list)   # RefRow
    reference_notes: list = field(default_factory=list)
    # {engine: the 1-thread CPU cell's noise over its median}: how much the machine moved one
    # trial's time, which every CPU ratio carries twice. Engines without the cell are absent.
    trial_noise: dict = field(default_factory=dict)
    order: str = "rounds"          # run attribute `order`: "cells" (or none: older files) = not interleaved

    @property
    def counts(self) -> dict:
        # Each figure once: cpu_2t is shown in two tables but is one figure.
        seen = {}
        for r in self.rows:
            seen.setdefault(r.comparison.key, r.comparison)
        return tally(seen.values())


def emulated_figures(results: Results) -> dict:
    """{key: {round: value}} of every figure the run's emulated cells give (old GIL included)."""
    out = {}
    for spec in SPECS:
        if spec.key in out:
            continue
        v = figure_rounds(results, spec, "emulated")
        if v is not None:
            out[spec.key] = v
    return out


def trial_noise(results: Results, base: str = "cpu-1t") -> dict:
    """{engine: (p75 - p25) / 2 / median} of the wall times of `base`'s rounds, per engine that
    has the cell and a usable round."""
    out = {}
    for engine in ("cpython", "emulated"):
        row = _cell_row(results, base, engine)
        side = summarize(wall_rounds(results, row).values()) if row is not None else None
        if side is not None and side.median > 0:
            out[engine] = side.noise / side.median
    return out


def fidelity(results: Results, references=()) -> Fidelity | None:
    """The Fidelity section's content, or None when the run has no `-cpython` twin."""
    if not twin_bases(results):
        return None
    emu = emulated_figures(results)
    rows, left_out, done = [], [], {}
    for spec in SPECS:
        if spec.old:
            continue
        if spec.key not in done:
            real = figure_rounds(results, spec, "cpython")
            if real is None or spec.key not in emu:
                done[spec.key] = None        # cells missing: left out silently
            else:
                c = compare(spec.key, real, emu[spec.key])
                done[spec.key] = c
                if c is None:
                    side = "CPython" if not real else "emulated"
                    why = f"no usable round on the {side} side"
                    if spec.kind in ("switches", "runlength"):
                        why += (" (no take events in rank 0's trace of a usable trial"
                                + (", or fewer than two hand-overs" if spec.kind == "runlength" else "") + ")")
                    left_out.append((spec.key, why))
        if done[spec.key] is not None:
            rows.append(Row(spec.group, spec.label, done[spec.key]))
    out = Fidelity(rows=rows, left_out=left_out, python_version=str(results.attrs.get("python_version") or ""),
                   calibration=calibration_text(results.attrs), trial_noise=trial_noise(results),
                   order=str(results.attrs.get("order") or "cells"))
    for ref in references:
        rrows, notes = compare_reference(ref, emu)
        out.references += rrows
        out.reference_notes += notes
    return out


# ---------------------------------------------------------------------------------------------
# Reference files from other interpreters (bench/cpython_probe.py).

class ReferenceError(ValueError):
    """A reference JSON file that cannot be used; the message names the file and the problem."""


@dataclass
class Reference:
    path: str
    python: str
    implementation: str
    gil: str
    figures: dict        # key -> list of per-round values (non-finite / null rounds dropped)
    unknown: list        # keys this analysis does not know (ignored)
    meta: dict

    @property
    def interpreter(self) -> str:
        """'CPython 3.11.2 (/usr/bin/python3)': the executable tells apart two builds of one version
        (Debian's static python3 and the libpython gilbench embeds run Python at different speeds)."""
        exe = self.meta.get("executable")
        return f"{self.implementation} {self.python}".strip() + (f" ({exe})" if isinstance(exe, str) and exe else "")


def parse_reference(data, path: str = "<reference>") -> Reference:
    """Validates a decoded reference document (format gilbench-fidelity-reference/1)."""
    def bad(problem):
        return ReferenceError(f"{path}: {problem}; write it with {probe_command()} "
                              f"(format {REFERENCE_FORMAT!r})")
    if not isinstance(data, dict):
        raise bad(f"expected a JSON object, found {type(data).__name__}")
    fmt = data.get("format")
    if fmt is None:
        raise bad("no 'format' key: not a gilbench fidelity reference file")
    if fmt != REFERENCE_FORMAT:
        raise bad(f"format {fmt!r} is not {REFERENCE_FORMAT!r}")
    python = data.get("python")
    if not isinstance(python, str) or not python:
        raise bad("'python' (the interpreter's version) is missing or not a string")
    gil = data.get("gil", "new")
    if gil not in ("new", "old"):
        raise bad(f"'gil' is {gil!r}, expected \"new\" or \"old\"")
    figures = data.get("figures")
    if not isinstance(figures, dict):
        raise bad("'figures' is missing or not an object of per-round value lists")
    clean, unknown = {}, []
    for key, values in figures.items():
        if not isinstance(values, list):
            raise bad(f"figure {key!r} is not a list of per-round values")
        for v in values:
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise bad(f"figure {key!r} holds {v!r}, not a number")
        if key not in BY_KEY:
            unknown.append(key)
            continue
        clean[key] = [float(v) for v in values if v is not None and math.isfinite(v)]
    impl = data.get("implementation") or "CPython"
    meta = {k: data.get(k) for k in ("executable", "rounds", "created", "command")}
    return Reference(path=path, python=python, implementation=str(impl), gil=gil, figures=clean,
                     unknown=unknown, meta=meta)


def load_reference(path) -> Reference:
    path = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ReferenceError(f"{path}: cannot read it ({e.strerror or e}); pass a reference JSON file "
                             f"written by {probe_command()}") from e
    try:
        # NaN / Infinity as Python's json writes them are accepted and dropped as rounds.
        data = json.loads(text)
    except ValueError as e:
        raise ReferenceError(f"{path}: not valid JSON ({e}); pass a reference file written by "
                             f"{probe_command()}") from e
    return parse_reference(data, path)


def compare_reference(ref: Reference, emulated: dict) -> tuple:
    """Rows comparing a reference's figures with the run's emulated ones of the same key, and
    notes on what could not be compared. The reference's rounds ran elsewhere, so they cannot be
    paired with the run's: each row judges the difference of the means, with an interval that
    resamples each side on its own (compare with lists)."""
    rows, notes, missing = [], [], []
    for key, values in ref.figures.items():
        spec = BY_KEY[key]
        if key not in emulated:
            missing.append(key)
            continue
        c = compare(key, values, list(emulated[key].values()))
        if c is None:
            notes.append(f"{ref.interpreter} ({ref.path}): {key} has no usable round "
                         + ("in the file" if values else "in the reference"))
            continue
        rows.append(RefRow(ref.interpreter, ref.gil, f"`{key}` {spec.label}", c))
    if missing:
        notes.append(f"{ref.interpreter} ({ref.path}): no emulated cells in this run for "
                     + ", ".join(missing))
    if ref.unknown:
        notes.append(f"{ref.interpreter} ({ref.path}): figures this analysis does not know, ignored: "
                     + ", ".join(ref.unknown))
    return rows, notes


# ---------------------------------------------------------------------------------------------
# The section.

URLLIB_STEPS = ("before request", "after resolve", "after socket", "after connect", "after send", "after recv",
                "after close")  # the steps of the urllib costs' fields (docs/hdf5-schema.md)
_STEP_FIELDS = tuple(step.replace(" ", "_") for step in URLLIB_STEPS)
WARM_FIELDS = tuple(f"{s}_warm_ns" for s in _STEP_FIELDS)
COLD_FIELDS = tuple(f"{s}_cold_ns" for s in _STEP_FIELDS)
SPEED_FIELDS = ("countdown_per_1000_ns", "urllib_per_1000_instructions_ns")
COLD_SCALE_FIELDS = ("cold_scale_500us_permille", "cold_scale_50ms_permille")
# Record version 5: the countdown of the interpreter the old GIL's ticks are timed on (a Python 2
# given by gilbench run --old-gil-python, else the embedded one's, which the text then omits).
OLD_GIL_FIELD = "old_gil_countdown_per_1000_ns"
# Files written before the names (no run attribute urllib_costs_fields) hold the values only, in
# this order: record version 1 the first 7 per node, 2 the first 14, 3 the first 16, 4 all 18.
# The one place these layouts are known; everything else reads the costs by name.
_FIELDS_BEFORE_NAMES = WARM_FIELDS + COLD_FIELDS + SPEED_FIELDS + COLD_SCALE_FIELDS
_LENGTHS_BEFORE_NAMES = (18, 16, 14, 7)


def urllib_costs_per_node(attrs: dict) -> list:
    """The run's urllib costs (run attributes urllib_costs_ns, urllib_costs_fields), one dict
    {field name: value} per node in hosts order; [] when the run has none. Runs that name their
    fields are decoded by those names; older ones by the layouts above, the group per node from
    the hosts attribute where it divides the values, else the longest layout that does."""
    costs = [int(v) for v in np.atleast_1d(attrs.get("urllib_costs_ns", []))]
    if not costs:
        return []
    names = attrs.get("urllib_costs_fields")
    names = [names] if isinstance(names, str) else list(names) if names is not None else []
    if not names:
        hosts = attrs.get("hosts")
        nodes = 1 if isinstance(hosts, (str, bytes)) else len(hosts) if hosts is not None else 0
        if nodes and len(costs) % nodes == 0:
            per_node = len(costs) // nodes
        else:
            per_node = next((k for k in _LENGTHS_BEFORE_NAMES if len(costs) % k == 0), len(WARM_FIELDS))
        names = list(_FIELDS_BEFORE_NAMES[:per_node])
    per_node = len(names)
    return [dict(zip(names, costs[i:i + per_node])) for i in range(0, len(costs), per_node)]


def urllib_costs_text(attrs: dict) -> str:
    """How the run had urllib's per-step costs and what they were, in µs, per node: the 7 warm
    ones, then in parentheses the 7 cold ones (right after the GIL came back from another
    thread after a 5 ms wait), the interpreter's speed (the countdown per iteration, urllib's
    code per instruction, in ns: the old GIL's ticks are time) and the share of the cold excess
    paid after a 0.5 ms and a 50 ms wait, each where the run has them (urllib_costs_per_node);
    "–" when the run has no calibration attribute."""
    how = attrs.get("calibration") or ""
    if not how:
        return "–"
    nodes = urllib_costs_per_node(attrs)

    def us(node, fields):
        return ", ".join(f"{node[f] / 1000:.1f}" for f in fields)

    def has(node, fields):
        return all(f in node for f in fields)

    def node_text(node):
        text = us(node, [f for f in WARM_FIELDS if f in node])
        if has(node, COLD_FIELDS):
            text += f" (cold: {us(node, COLD_FIELDS)})"
        text += " µs"
        if has(node, SPEED_FIELDS):
            countdown, urllib = (node[f] / 1000 for f in SPEED_FIELDS)
            text += f", countdown {countdown:.1f} ns/iteration, urllib {urllib:.1f} ns/instruction"
            if node.get(OLD_GIL_FIELD, node[SPEED_FIELDS[0]]) != node[SPEED_FIELDS[0]]:
                text += f", old GIL's ticks timed on a countdown of {node[OLD_GIL_FIELD] / 1000:.1f} ns/iteration"
        if has(node, COLD_SCALE_FIELDS):
            shorter, longer = (node[f] / 10 for f in COLD_SCALE_FIELDS)
            text += f", cold after 0.5 / 50 ms waits: {shorter:.0f} / {longer:.0f} %"
        return text
    values = "; ".join(node_text(node) for node in nodes)
    state = "not calibrated, " + how if how.startswith("fallback") else how
    cold = any(has(node, COLD_FIELDS) for node in nodes)
    cold = "; cold: right after the GIL came back from another thread" if cold else ""
    return f"{state}: {values} ({', '.join(URLLIB_STEPS)}{cold})"


def calibration_text(attrs: dict) -> str:
    text = urllib_costs_text(attrs)
    if text == "–":
        return ("not calibrated (the run has no `calibration` attribute: no emulated I/O cell, or a gilbench "
                "older than calibration, which used the fallback costs)")
    return text


def fmt(v) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.4g}"


def _side(s: Side) -> str:
    return f"{fmt(s.median)} ({fmt(s.p25)}–{fmt(s.p75)})"


def _difference(c: Comparison) -> str:
    """The estimate the verdict judged and its interval: '+0.021 [-0.004, +0.046]', relative
    '+4.5 % [+1.2 %, +7.9 %]'; the medians' difference where there is no estimate."""
    e = c.estimate
    if e is None or not math.isfinite(e.value):
        d = f"{c.difference:+.3g}"
        if c.relative and math.isfinite(c.relative_difference):
            d += f" ({c.relative_difference * 100:+.1f} %)"
        return d
    value = f"{e.value * 100:+.1f} %" if c.relative else f"{e.value:+.3g}"
    if not (math.isfinite(e.low) and math.isfinite(e.high)):
        return value
    return f"{value} {_interval(e, c.relative)}"


def _rounds(c: Comparison) -> str:
    a, b = c.real.rounds, c.emulated.rounds
    sides = str(a) if a == b else f"{a} / {b}"
    if not c.paired:
        return f"{sides} (unpaired)"
    n = c.estimate.n if c.estimate is not None else 0
    return str(n) if a == b == n else f"{n} paired ({sides})"


def _band(c: Comparison) -> str:
    return f"{c.band_text} (±{c.band:.3g})" if c.relative else c.band_text


HEADING = "Fidelity: the emulated GIL against the real CPython"


def add_section(doc: Document, fid: Fidelity, label: str = "", level: int = 2) -> None:
    """Appends the Fidelity section (tables per group, summary, calibration, references)."""
    doc.heading(HEADING + (f" ({label})" if label else ""), level)
    n = fid.counts
    few = f", {n[FEW]} with too few rounds" if n[FEW] else ""
    doc.para(f"**{n[WITHIN]} within band, {n[OUTSIDE]} outside, {n[UNDECIDED]} undecided{few}.**")
    doc.para("Each figure is computed per round (trial k of every cell; warm-ups, failed and disturbed trials left "
             "out) on the `-cpython` cells (real: the embedded CPython) and on their `-emulated` twins; shown: the "
             "median over rounds (p25–p75). Difference: emulated − real per round, paired by round (for relative "
             "bands the relative difference per round, (emulated − real) / |real|), its mean and 95 % interval "
             "(bootstrap, seeded). Verdict, an equivalence test on that interval: \"within band\" when the whole "
             "interval lies inside [−band, +band], \"outside band\" when it lies wholly outside, else "
             "\"undecided\" with the interval and about how many more rounds would narrow it enough to decide; "
             "\"too few rounds\" with fewer than 3 paired rounds. A noisy machine widens the interval: it takes "
             "more rounds to decide, never a different verdict. Rounds: the paired rounds (and each side's where "
             "they differ).")
    if fid.order == "cells":
        doc.note("this run took its trials cell by cell (`order` = \"cells\", or a file older than the attribute): "
                 "the rounds are paired by trial number all the same, but they were not interleaved, so a pair's "
                 "trials ran apart in time and the machine's drift between them is not cancelled (`[job] order = "
                 "\"rounds\"` interleaves them)")
    meta = pd.DataFrame({"": ["embedded Python (real side)", "urllib costs (emulated I/O)"],
                         "value": [fid.python_version or "–", fid.calibration]})
    doc.table(meta)
    for group in GROUPS:
        rows = [r for r in fid.rows if r.group == group]
        if not rows:
            continue
        doc.heading(group, level + 1)
        doc.table(pd.DataFrame({"figure": [f"`{r.comparison.key}` {r.label}" for r in rows],
                                **_comparison_columns([r.comparison for r in rows])}),
                  _CAPTIONS.get(group, ""))
        if group == "CPU ratios" and "cpython" in fid.trial_noise:
            doc.note(_trial_noise_note(fid.trial_noise))
    for key, why in fid.left_out:
        doc.note(f"{key}: left out, {why}")
    if fid.references or fid.reference_notes:
        doc.heading("Other CPython versions", level + 1)
        if fid.references:
            rr = fid.references
            doc.table(pd.DataFrame({
                "interpreter": [r.interpreter + (" (old GIL)" if r.gil == "old" else "") for r in rr],
                "figure": [r.label for r in rr],
                **_comparison_columns([r.comparison for r in rr])}),
                f"Figures measured inside each interpreter (reference files of {probe_command()}), against this "
                "run's emulated cells of the same key (old GIL: `cpu-2t-old-emulated` over `cpu-1t-old-emulated`, "
                "`convoy-old-emulated`). A reference's rounds ran in another process at another time, so they "
                "cannot be paired with this run's: the difference is of the two sides' means (relative bands: "
                "over the reference's mean), its interval a bootstrap that resamples each side on its own, the "
                "verdict the same equivalence test on it; fewer than 3 rounds on a side: too few.")
        for note in fid.reference_notes:
            doc.note(note)


def _trial_noise_note(noise: dict) -> str:
    sides = f"±{noise['cpython'] * 100:.1f} % of its median on the real side"
    if "emulated" in noise:
        sides += f" and ±{noise['emulated'] * 100:.1f} % on the emulated side"
    return (f"The machine's noise: over the rounds, one thread's CPU trial (cpu-1t) varied by {sides} "
            "((p75 − p25) / 2 over the median). The verdicts do not compare this with the bands: each judges the "
            "interval of its per-round paired difference, in which the drift the cells of a round share cancels; "
            "what noise is left widens the interval, so a noisier machine needs more rounds to decide.")


_CAPTIONS = {
    "CPU ratios": "Wall time over the 1-thread cell's, per round (cpu-2t, cpu-4t, cpu-2r against cpu-1t).",
    "I/O ratios": "Wall time over the 1-thread I/O cell's, per round (io-2t, io-4t against io-1t).",
    "Switch interval": "Two CPU-bound threads against one, at each switch interval (5 ms: the cpu_2t row above).",
    "Hand-overs": "From the traced handover cells: take events of rank 0 sorted by time; a take by another thread "
                  "than the previous one is a hand-over. Hand-overs per second from the first to the last, and the "
                  "median time between consecutive hand-overs.",
    "Convoy": "(mean latency of the I/O thread's requests beside a CPU thread − alone) / switch interval: "
              "switch intervals lost per GET.",
}


def _comparison_columns(comparisons) -> dict:
    """The columns every figure table shares, one entry per comparison."""
    return {"real: median (p25–p75)": [_side(c.real) for c in comparisons],
            "emulated: median (p25–p75)": [_side(c.emulated) for c in comparisons],
            "difference [95 % interval]": [_difference(c) for c in comparisons],
            "band": [_band(c) for c in comparisons],
            "verdict": [c.verdict_text for c in comparisons],
            "rounds": [_rounds(c) for c in comparisons]}


def section_markdown(results: Results, references=(), title: str | None = None) -> str | None:
    """The section alone as Markdown (gilbench-report --fidelity); None without twins."""
    from .document import to_markdown
    fid = fidelity(results, references)
    if fid is None:
        return None
    doc = Document(title or f"gilbench fidelity: {results.path} /runs/{results.run}")
    add_section(doc, fid)
    return to_markdown(doc)
