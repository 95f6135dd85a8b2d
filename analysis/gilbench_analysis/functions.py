"""The user's own functions (cells with workload "python", run by the real interpreter): threads or processes?

For each function (cells.function) and amount of work, the cells are laid out by shape: 1 × 1
(one thread), 1 × T (T threads of one rank, sharing its GIL), P × 1 (P ranks, a GIL each) and
P × T. Each shape gets its median wall time, its speed-up against 1 × 1 and the workers' CPU
time over the wall time (workers.cpu_s summed over the cell's threads, divided by the trial's
wall time, median over trials): about 1 per rank for code that holds the GIL (one thread of a
rank runs at a time), up to the thread count when the code releases it. `verdict` turns that
into one line a user can act on.

Each speed-up also gets a 95 % interval from paired rounds (trials of the two cells with the same
number ran in the same round): the per-round ratio T₁ / T of the 1 × 1 cell's time to the
shape's (N T₁ / T for weak scaling), its geometric mean with an expanded percentile bootstrap
interval (paired.paired_ratio). A verdict is decided only where that interval lies wholly on one
side of the thresholds (an equivalence test, as the fidelity section's): "scale" when its low end
clears SCALES' speed-up, "do not scale" when its high end stays below PARTLY's, "scale partly"
when it lies between the two; otherwise the shape is "undecided", with the interval and about how
many more rounds would decide it (paired.verdict).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .load import Results
from .paired import Estimate, paired_ratio
from .paired import verdict as interval_verdict

# A speed-up counts as scaling when it gains at least this share of the ideal gain N - 1
# (2 workers: 1.5×), and as partial scaling from PARTLY on (2 workers: 1.15×). Between the two
# lies what a GIL-bound function shows on a busy machine: noise, not a gain to build on.
SCALES = 0.5
PARTLY = 0.15

# Fewer paired rounds than this give no interval to decide by (as the fidelity section's).
MIN_PAIRS = 3
UNDECIDED = "undecided"

# Cells of one function family differ only in shape (and in how they are laid out over nodes).
FUNCTION_KEYS = ("function", "python_path", "scaling", "work")


@dataclass
class FunctionFamily:
    function: str
    scaling: str
    work: int
    shapes: pd.DataFrame   # one row per (ranks, threads): see _shape_rows
    verdict: str

    @property
    def title(self) -> str:
        amount = f"work {self.work:,} " + ("in total" if self.scaling == "strong" else "per worker")
        return f"{self.function} ({self.scaling} scaling, {amount})"


def busy_ratio(results: Results) -> pd.DataFrame:
    """Per measured trial: the workers' CPU time summed (workers.cpu_s) over the trial's wall
    time. NaN where cpu_s was not measured (files written before it)."""
    w = results.workers.merge(results.measured[["cell", "trial", "wall_s"]], on=["cell", "trial"])
    if w.empty:
        return pd.DataFrame(columns=["cell", "trial", "cpu_over_wall"])
    g = w.groupby(["cell", "trial"]).agg(cpu=("cpu_s", lambda v: v.sum(min_count=len(v))),
                                         wall=("wall_s", "first"))
    g["cpu_over_wall"] = g["cpu"] / g["wall"].replace(0, np.nan)
    return g.reset_index()[["cell", "trial", "cpu_over_wall"]]


def _speedup(t1: float, t: float, n: int, scaling: str) -> float:
    # Strong: same total work, S = T1 / T. Weak: each worker does what the one did: S = N T1 / T.
    return t1 / t if scaling == "strong" else n * t1 / t


def _walls_by_trial(results: Results, cell) -> pd.Series:
    m = results.measured
    t = m[m["cell"] == cell]
    # Keyed by round: a retry of a disturbed trial stands in for the round it repeats.
    key = t["round"] if "round" in t.columns else t["trial"]
    return pd.Series(t["wall_s"].to_numpy(dtype=float), index=key.astype(int).to_numpy())


def paired_speedup(results: Results, base_cell, cell, n: int, scaling: str) -> Estimate:
    """The speed-up of `cell` (n workers) over `base_cell` (1 × 1) from paired rounds: per round
    T₁ / T (weak: N T₁ / T), trials paired by number; the rounds where both are measured (no
    warm-up, failure or disturbance). paired_ratio's bootstrap (seeded: reproducible)."""
    a, b = _walls_by_trial(results, base_cell), _walls_by_trial(results, cell)
    common = a.index.intersection(b.index)
    a, b = a.loc[common].to_numpy(), b.loc[common].to_numpy()
    keep = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    e = paired_ratio(a[keep], b[keep], method="bootstrap")
    k = n if scaling != "strong" else 1
    return Estimate(e.value * k, e.low * k, e.high * k, e.n, e.level, e.method)


def _shape_rows(cells: pd.DataFrame, results: Results, busy: pd.DataFrame, scaling: str) -> pd.DataFrame:
    m = results.measured
    rows = []
    for _, c in cells.iterrows():
        t = m.loc[m["cell"] == c["cell"], "wall_s"].to_numpy(dtype=float)
        b = busy.loc[busy["cell"] == c["cell"], "cpu_over_wall"].to_numpy(dtype=float)
        failed = int(((results.failed["cell"] == c["cell"])).sum())
        d = results.disturbed
        disturbed = d[d["cell"] == c["cell"]]
        reasons = [x for x in disturbed.sort_values("trial").get("disturbance", pd.Series(dtype=object)).fillna("")
                   if x]
        rows.append(dict(cell=int(c["cell"]), name=c["name"], ranks=int(c["ranks"]), threads=int(c["threads"]),
                         n=int(c["ranks"] * c["threads"]), trials=len(t), failed=failed,
                         disturbed=len(disturbed), disturbance=reasons[0] if reasons else "",
                         median=float(np.median(t)) if len(t) else np.nan,
                         min=float(t.min()) if len(t) else np.nan, max=float(t.max()) if len(t) else np.nan,
                         cpu_over_wall=float(np.median(b)) if len(b) and np.isfinite(b).any() else np.nan))
    out = pd.DataFrame(rows)
    base = out[(out["ranks"] == 1) & (out["threads"] == 1)]
    t1 = float(base["median"].iloc[0]) if len(base) else np.nan
    out["speedup"] = [_speedup(t1, t, n, scaling) for t, n in zip(out["median"], out["n"])]
    out["efficiency"] = out["speedup"] / out["n"]
    # The paired speed-up with its interval (NaN for the 1 × 1 row itself, and without a 1 × 1).
    base_cell = int(base["cell"].iloc[0]) if len(base) else None
    est = [paired_speedup(results, base_cell, c, n, scaling) if base_cell is not None and c != base_cell else None
           for c, n in zip(out["cell"], out["n"])]
    out["speedup_paired"] = [e.value if e is not None and e.n else np.nan for e in est]
    # Fewer than MIN_PAIRS rounds: no interval worth the name (a bootstrap of two values).
    out["speedup_low"] = [e.low if e is not None and e.n >= MIN_PAIRS else np.nan for e in est]
    out["speedup_high"] = [e.high if e is not None and e.n >= MIN_PAIRS else np.nan for e in est]
    out["pairs"] = [e.n if e is not None else 0 for e in est]
    return out


def thresholds(n: int) -> tuple:
    """(partly, scales): the speed-ups of n workers from which they scale partly, and scale."""
    return 1.0 + PARTLY * (n - 1.0), 1.0 + SCALES * (n - 1.0)


def interval_level(row) -> tuple:
    """(level, more_rounds) of a shape row from its paired speed-up's interval: 'scale', 'scale
    partly' or 'do not scale' where the whole interval says so, else 'undecided' with about how
    many more rounds would decide it (0: not estimable, e.g. fewer than MIN_PAIRS pairs)."""
    low, high = row.get("speedup_low", np.nan), row.get("speedup_high", np.nan)
    pairs = int(row.get("pairs", 0) or 0)
    if pairs < MIN_PAIRS or not (np.isfinite(low) and np.isfinite(high)):
        return UNDECIDED, 0
    partly, scales = thresholds(int(row["n"]))
    est = Estimate(float(row["speedup_paired"]), float(low), float(high), pairs, 0.95, "bootstrap")
    v = interval_verdict(est, partly, scales)
    if v.decision == "within":
        return "scale partly", 0
    if v.decision == "outside":
        return ("scale" if low > scales else "do not scale"), 0
    return UNDECIDED, v.more_rounds


def _shape_text(row, what: str) -> str:
    """'2 threads: 1.9× [1.82, 1.97]': the speed-up (the paired estimate where there is one) and
    its interval."""
    count = int(row["threads"]) if what == "threads" else int(row["ranks"])
    value = row.get("speedup_paired", np.nan)
    low, high = row.get("speedup_low", np.nan), row.get("speedup_high", np.nan)
    if np.isfinite(value) and np.isfinite(low) and np.isfinite(high):
        return f"{count} {what}: {value:.1f}× [{low:.2f}, {high:.2f}]"
    return f"{count} {what}: {row['speedup']:.1f}×"


def _undecided_text(row, more: int) -> str:
    pairs = int(row.get("pairs", 0) or 0)
    if pairs < MIN_PAIRS:
        return f"{pairs} paired round{'s' if pairs != 1 else ''}, too few for an interval"
    return f"after {pairs} rounds" + (f"; about {more} more rounds would decide it" if more else "")


def _level(s: float, n: int) -> str:
    """'scale', 'scale partly' or 'do not scale' for speed-up s of n workers."""
    gain = (s - 1.0) / (n - 1.0)
    if gain >= SCALES:
        return "scale"
    if gain >= PARTLY:
        return "scale partly"
    return "do not scale"


def _widest(shapes: pd.DataFrame, ranks_one: bool):
    """The measured 1 × T (ranks_one) or P × 1 row with the most workers, or None."""
    sel = shapes[(shapes["ranks"] == 1) & (shapes["threads"] > 1)] if ranks_one else \
        shapes[(shapes["ranks"] > 1) & (shapes["threads"] == 1)]
    sel = sel[np.isfinite(sel["speedup"])]
    return None if sel.empty else sel.sort_values("n").iloc[-1]


# A function whose one thread is busy on a CPU at least this share of the wall time is
# CPU-bound: its CPU times can then confirm a speed-up (more work done at once) or show that the
# ranks lacked cores. Below it (a function that waits: I/O, sleep) they say nothing of the kind.
CPU_BOUND = 0.5


def _cpu_bound(base) -> bool:
    c = base["cpu_over_wall"]
    return bool(np.isfinite(c) and c >= CPU_BOUND)


def _starved(row) -> bool:
    """P ranks of a CPU-bound function that did not scale and together got clearly less than P
    CPUs: the cores were busy (other jobs) or too few, so the times say nothing about the function."""
    c = row["cpu_over_wall"]
    return bool(row["speedup"] < 1 + SCALES * (row["n"] - 1) and np.isfinite(c) and c < 0.75 * row["n"])


def _unconfirmed(row, base) -> bool:
    """A speed-up of a CPU-bound function that its CPU times do not back: N workers that did the
    work faster must have used about N times the CPU per wall second of one. Where they did not,
    the 1 × 1 trials were slowed by something else: other load on the machine, or (CPython 3.11)
    a function still running unspecialized bytecode, which it does for its first ~8 calls in a
    rank, so a first cell of few trials times the slow interpreter."""
    if _level(row["speedup"], row["n"]) == "do not scale":
        return False
    more = row["cpu_over_wall"] / base["cpu_over_wall"]
    return bool(np.isfinite(more) and more < 1 + PARTLY * (row["n"] - 1))


def verdict(shapes: pd.DataFrame) -> str:
    """One line: do threads scale, do processes, and so what to use. E.g. 'threads do not scale
    (2 threads: 1.0× [0.97, 1.03], ...); processes do (2 ranks: 1.9× [1.85, 1.96]): use processes
    (ranks, or multiprocessing) for this function, not threads'. Each level is decided by the
    speed-up's paired interval (interval_level); a shape whose interval straddles a threshold is
    "undecided", with the rounds that would decide it. For a CPU-bound function (one thread busy
    at least half the wall time) the CPU times are checked against the speed-ups, and a run on a
    machine too busy to tell is named as such instead of judged."""
    base = shapes[(shapes["ranks"] == 1) & (shapes["threads"] == 1)]
    if not base.empty and not np.isfinite(base["median"].iloc[0]) and base["failed"].iloc[0] > 0:
        return ("no verdict: every measured trial of the 1 × 1 cell failed (the function raised, or returned "
                "something other than an int ≥ 0 or None; gilbench printed the traceback on stderr)")
    if base.empty or not np.isfinite(base["median"].iloc[0]):
        return ("no verdict: no measured 1 × 1 cell to compare with; add ranks = 1, threads = 1 "
                "(e.g. ranks = [1, 2], threads = [1, 2])")
    base = base.iloc[0]
    th, pr = _widest(shapes, True), _widest(shapes, False)
    if th is None and pr is None:
        return "no verdict: only 1 × 1 was measured; add threads = [1, 2] and ranks = [1, 2]"
    cpu_bound = _cpu_bound(base)
    parts, advice, sep = [], "", ": "
    t_level, t_more = interval_level(th) if th is not None else (None, 0)
    p_level, p_more = interval_level(pr) if pr is not None else (None, 0)
    t_text = _shape_text(th, "threads") if th is not None else ""
    p_text = _shape_text(pr, "ranks") if pr is not None else ""
    unconfirmed = [row for row in (th, pr) if row is not None and cpu_bound and _unconfirmed(row, base)]
    starved = pr is not None and cpu_bound and _starved(pr)
    if th is not None:
        if any(row is th for row in unconfirmed):
            parts.append(f"threads look faster ({t_text}) but used no more CPU than one thread "
                         f"(CPU time / wall {th['cpu_over_wall']:.1f}, 1 × 1: {base['cpu_over_wall']:.1f})")
        elif t_level == UNDECIDED:
            parts.append(f"threads undecided ({t_text}, {_undecided_text(th, t_more)})")
        else:
            why = ""
            # Threads at one CPU take turns on the GIL, unless the ranks show there was only one core.
            if t_level != "scale" and cpu_bound and not starved and th["cpu_over_wall"] < 1 + PARTLY * (th["n"] - 1):
                why = f", CPU time / wall {th['cpu_over_wall']:.1f}: the threads take turns holding the GIL"
            parts.append(f"threads {t_level} ({t_text}{why})")
    if pr is not None:
        if any(row is pr for row in unconfirmed):
            parts.append(f"processes look faster ({p_text}) but used no more CPU than one "
                         f"(CPU time / wall {pr['cpu_over_wall']:.1f}, 1 × 1: {base['cpu_over_wall']:.1f})")
        elif p_level == UNDECIDED:
            parts.append(f"processes undecided ({p_text}, {_undecided_text(pr, p_more)})")
        elif th is None:
            parts.append(f"processes {p_level} ({p_text})")
        elif p_level == "scale":
            parts.append(f"processes {'scale too' if t_level == 'scale' else 'do'} ({p_text})")
        elif p_level == t_level == "do not scale":
            parts.append(f"processes do not scale either ({p_text})")
        else:
            parts.append(f"processes {p_level} ({p_text})")
    decided = (None, "scale", "scale partly", "do not scale")
    more = max(t_more if t_level == UNDECIDED else 0, p_more if p_level == UNDECIDED else 0)
    if unconfirmed:
        advice = ("something else slowed the 1 × 1 trials, so the speed-ups are not the function's: a function "
                  "not yet warm (CPython 3.11 specializes it after ~8 calls per rank: set warmups = 8), or other load "
                  "on the machine; rerun before deciding")
    elif starved:
        sep = ", "
        advice = (f"but the {int(pr['ranks'])} ranks together got only {pr['cpu_over_wall']:.1f} CPUs "
                  "(CPU time / wall): the cores were busy or too few; rerun on an idle node (or fewer ranks per "
                  "node) before deciding")
    elif t_level == "scale":
        advice = "threads are enough for this function (they share memory; ranks add nodes)"
    elif p_level in ("scale", "scale partly") and t_level in ("scale partly", "do not scale"):
        advice = "use processes (ranks, or multiprocessing) for this function, not threads"
    elif p_level == "scale" and t_level is None:
        advice = "processes pay off; measure 1 × 2 to see whether threads do"
    elif t_level == "scale partly" and p_level in decided:
        advice = "threads help a little: part of the function releases the GIL"
    elif t_level in decided and t_level is not None and p_level is None:
        advice = "measure 2 × 1 to see whether processes do"
    elif UNDECIDED in (t_level, p_level):
        advice = ("the intervals do not decide it yet on this machine's noise: "
                  + (f"about {more} more rounds (repeats) would" if more else
                     f"at least {MIN_PAIRS} paired rounds (repeats) are needed to")
                  + " decide it; rerun with more repeats, or on an idle node")
    else:
        advice = ("neither pays off here: the work per trial may be too small for the start-up cost, "
                  "or the machine's cores are busy (compare CPU time / wall)")
    return "; ".join(parts) + sep + advice


def function_families(results: Results) -> list[FunctionFamily]:
    """Every function of the run's python cells with measured trials, in plan order."""
    cells = results.cells[(results.cells["workload"] == "python")
                          & results.cells["cell"].isin(set(results.measured["cell"]) | set(results.failed["cell"]))]
    if cells.empty:
        return []
    busy = busy_ratio(results)
    out = []
    for _, fam in cells.groupby(list(FUNCTION_KEYS), sort=False):
        # One cell per shape: the first in plan order, as in the seed table.
        fam = fam.drop_duplicates(subset=["ranks", "threads"]).sort_values(["ranks", "threads"])
        first = fam.iloc[0]
        shapes = _shape_rows(fam, results, busy, first["scaling"])
        out.append(FunctionFamily(function=first["function"] or "(no function)", scaling=first["scaling"],
                                  work=int(first["work"]), shapes=shapes, verdict=verdict(shapes)))
    return out
