"""Strong and weak scaling: speed-up, efficiency, Amdahl and Gustafson fits, Karp–Flatt.

N = P × T workers (P ranks, T threads per rank). With T1 the wall time of one worker:

- strong scaling (fixed total work):  S = T1 / T(N),      E = S / N;
  Amdahl:     T(N) = T1 (s + (1 - s) / N)          (S = 1 / (s + (1 - s) / N))
  Karp–Flatt: e = (1/S - 1/N) / (1 - 1/N), the serial fraction each N implies; an e that grows
  with N means overhead (here: GIL contention), not a fixed serial part.
- weak scaling (fixed work per worker): S = N T1 / T(N), E = T1 / T(N);
  Gustafson:  S = s + (1 - s) N = N - s (N - 1)

The fits are plain least squares in closed form (no SciPy). The pure functions come first;
`scaling_families` groups a run's cells into curves: threads of one rank (per GIL policy), ranks
of one thread, and hybrids, each against the one-worker cell of the same family; cells placed
differently over the nodes (cells.placement: launch, pack, spread) are separate curves.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .load import DEFAULT_ENGINE, Results


# ---------------------------------------------------------------------------------------------
# Pure functions on arrays

def speedup(t1: float, t, scaling: str = "strong", n=None):
    """Speed-up from wall times. Strong: T1/T. Weak (needs n): N T1 / T."""
    t = np.asarray(t, dtype=float)
    if scaling == "strong":
        return t1 / t
    if n is None:
        raise ValueError("weak-scaling speed-up needs the worker counts n")
    return np.asarray(n, dtype=float) * t1 / t


def efficiency(s, n):
    """Parallel efficiency S/N (1.0 = ideal)."""
    return np.asarray(s, dtype=float) / np.asarray(n, dtype=float)


def karp_flatt(s, n):
    """Experimentally determined serial fraction e = (1/S - 1/N) / (1 - 1/N); NaN where N = 1."""
    s = np.asarray(s, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = (1.0 / s - 1.0 / n) / (1.0 - 1.0 / n)
    return np.where(n > 1, e, np.nan)


def amdahl_speedup(serial_fraction: float, n):
    n = np.asarray(n, dtype=float)
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / n)


def gustafson_speedup(serial_fraction: float, n):
    n = np.asarray(n, dtype=float)
    return n - serial_fraction * (n - 1.0)


@dataclass(frozen=True)
class Fit:
    law: str                 # "Amdahl" or "Gustafson"
    serial_fraction: float   # s
    t1: float                # Amdahl: fitted one-worker time (s); Gustafson: the measured baseline
    points: int              # samples used (one per measured trial)
    distinct_n: int          # different worker counts among them
    rms: float               # root-mean-square residual, in the fitted quantity's unit
    clamped: bool = False    # the unconstrained optimum had s outside [0, 1]

    def describe(self) -> str:
        text = f"{self.law} s = {self.serial_fraction:.3f}"
        return text + (" (at the bound)" if self.clamped else "")


def _distinct(n) -> int:
    return len(np.unique(np.asarray(n, dtype=float)))


def fit_amdahl(n, t) -> Fit:
    """Fits T(N) = T1 (s + (1 - s)/N) to wall times t measured at worker counts n.

    Written as T = a + b/N with a = T1 s >= 0 and b = T1 (1 - s) >= 0 this is linear least
    squares over all trials, so the one-worker trials are fitted like the others instead of
    being taken as exact (their noise would otherwise shift every speed-up). Where the optimum
    has a or b < 0 (times that grow with N: overhead Amdahl cannot describe), the best fit on
    the boundary is returned, s = 1 or s = 0, with clamped=True."""
    n = np.asarray(n, dtype=float)
    t = np.asarray(t, dtype=float)
    ok = np.isfinite(n) & np.isfinite(t) & (n >= 1)
    n, t = n[ok], t[ok]
    if _distinct(n) < 2:
        raise ValueError(f"an Amdahl fit needs times at two or more worker counts, got N = {sorted(set(n.tolist()))}")
    x = np.column_stack([np.ones_like(n), 1.0 / n])
    (a, b), *_ = np.linalg.lstsq(x, t, rcond=None)
    clamped = False
    if a < 0 or b < 0:
        clamped = True
        # For two parameters the constrained optimum lies on an axis: try both, keep the better.
        candidates = [(0.0, max(float(np.dot(t, 1 / n) / np.dot(1 / n, 1 / n)), 0.0)),
                      (max(float(t.mean()), 0.0), 0.0)]
        a, b = min(candidates, key=lambda ab: float(np.sum((ab[0] + ab[1] / n - t) ** 2)))
    t1 = a + b
    if t1 <= 0:
        raise ValueError("an Amdahl fit needs positive wall times")
    rms = float(np.sqrt(np.mean((a + b / n - t) ** 2)))
    return Fit("Amdahl", float(a / t1), float(t1), int(len(n)), _distinct(n), rms, clamped)


def fit_gustafson(n, s, t1: float = float("nan")) -> Fit:
    """Fits S = N - s (N - 1) to scaled speed-ups s measured at worker counts n (least squares,
    closed form). The serial fraction is not clamped: s > 1 means the scaled run got slower than
    one worker per unit of work (contention), s < 0 superlinear; `clamped` flags both."""
    n = np.asarray(n, dtype=float)
    sp = np.asarray(s, dtype=float)
    ok = np.isfinite(n) & np.isfinite(sp) & (n >= 1)
    n, sp = n[ok], sp[ok]
    if not np.any(n > 1):
        raise ValueError("a Gustafson fit needs speed-ups at two or more workers")
    d = n - 1.0
    frac = float(np.dot(n - sp, d) / np.dot(d, d))
    rms = float(np.sqrt(np.mean((gustafson_speedup(frac, n) - sp) ** 2)))
    return Fit("Gustafson", frac, float(t1), int(len(n)), _distinct(n), rms, not 0.0 <= frac <= 1.0)


# ---------------------------------------------------------------------------------------------
# Grouping a run's cells into scaling curves

# Cells of one family differ only in shape (ranks, threads) and GIL policy: same workload, same
# amount of work and the same I/O target. For mixed cells the number of I/O threads per rank is
# part of the workload ("mixed_io"; -1 for the others, whose io_threads follows from threads).
# The engine too: the real interpreter's countdown is not the emulation's (each is its own
# family, against its own 1 × 1), and python cells of different functions are different work.
FAMILY_KEYS = ("workload", "scaling", "work", "latency_s", "keep_alive", "url", "mixed_io", "engine", "function")
KIND_LABELS = {"threads": "threads", "ranks": "ranks", "hybrid": "ranks × threads"}
# cells.placement: which world ranks a cell ran on. It splits series (the same shape within one
# node and across nodes are different curves) but is named only where it tells curves apart or
# is not the launcher's order, so files of one placement keep their plain labels.
PLACEMENTS = ("launch", "pack", "spread")
PLACEMENT_LABELS = {"launch": "as launched", "pack": "packed", "spread": "spread over nodes"}


def _kind(ranks: int, threads: int) -> str:
    if ranks == 1 and threads == 1:
        return "baseline"
    if ranks == 1:
        return "threads"
    if threads == 1:
        return "ranks"
    return "hybrid"


def _policy_param(row) -> float | None:
    """The parameter of the cell's GIL policy: the switch interval (new) or check interval (old)."""
    if row["gil"] == "new":
        return float(row["switch_interval_s"])
    if row["gil"] == "old":
        return float(row["check_interval"])
    return None


def _param_text(gil: str, param) -> str:
    if param is None:
        return ""
    return f"{param * 1e3:g} ms" if gil == "new" else f"{param:g} ticks"


@dataclass
class Series:
    kind: str                # "threads", "ranks" or "hybrid"
    gil: str
    param: float | None      # switch interval (new) or check interval (old) of its cells
    label: str
    baseline: str            # name of the one-worker cell the speed-ups refer to
    t1: float                # its median wall time (s)
    points: pd.DataFrame     # one row per N (baseline first), see _points
    samples: pd.DataFrame    # n, wall_s of every measured trial used in the fit
    fit: Fit | None = None
    fit_error: str = ""
    placement: str = "launch"   # cells.placement of its cells (the baseline's may differ)


@dataclass
class Family:
    key: tuple
    workload: str
    scaling: str
    title: str
    series: list = field(default_factory=list)
    engine: str = DEFAULT_ENGINE   # cells.engine: the name, for file names and identity

    @property
    def slug(self) -> str:
        """For file names: 'cpu-strong', 'cpu-cpython-strong' (the default engine's as before
        there were engines; any other's with its name)."""
        return f"{self.workload}-{self.scaling}" if self.engine == DEFAULT_ENGINE else \
            f"{self.workload}-{self.engine}-{self.scaling}"

    @property
    def law(self) -> str:
        return "Amdahl" if self.scaling == "strong" else "Gustafson"

    @property
    def placements(self) -> list[str]:
        return sorted({s.placement for s in self.series}, key=_placement_order)


def _placement_order(p: str) -> int:
    return PLACEMENTS.index(p) if p in PLACEMENTS else len(PLACEMENTS)


def family_title(row) -> str:
    what = {"cpu": "CPU-bound", "io": "I/O-bound", "mixed": "mixed CPU + I/O"}.get(row["workload"], row["workload"])
    if row["workload"] == "python":
        what = f"`{row.get('function', '') or 'python'}`"
    # The default engine's titles stay as they were; another engine's name it by its label
    # (a python cell's function says what ran it).
    if row.get("engine", DEFAULT_ENGINE) != DEFAULT_ENGINE and row["workload"] != "python":
        what += f" on {row['engine_label']}"
    unit = {"cpu": "countdown steps", "io": "requests"}.get(row["workload"], "units of work")
    amount = f"{int(row['work']):,} {unit} " + ("in total" if row["scaling"] == "strong" else "per worker")
    extra = f", server delay {row['latency_s'] * 1e3:g} ms" if row["workload"] in ("io", "mixed") else ""
    return f"{what}, {row['scaling']} scaling ({amount}{extra})"


def _measured_times(results: Results) -> pd.DataFrame:
    return results.measured[["cell", "trial", "wall_s"]]


def _cell_nodes(results: Results) -> pd.Series:
    w = results.workers
    if w.empty:
        return pd.Series(dtype=int)
    return w.groupby("cell")["node"].nunique()


def _points(cells: pd.DataFrame, times: pd.DataFrame, t1: float, scaling: str, nodes: pd.Series) -> pd.DataFrame:
    rows = []
    for _, c in cells.iterrows():
        t = times.loc[times["cell"] == c["cell"], "wall_s"].to_numpy()
        if len(t) == 0:
            continue
        n = int(c["ranks"] * c["threads"])
        med, lo, hi = float(np.median(t)), float(t.min()), float(t.max())
        # Error bars: the speed-up of the fastest and the slowest repeat against the median T1.
        s_med, s_lo, s_hi = (float(v) for v in speedup(t1, [med, hi, lo], scaling, [n, n, n]))
        if scaling == "strong":
            e_med, e_lo, e_hi = s_med / n, s_lo / n, s_hi / n
        else:
            e_med, e_lo, e_hi = t1 / med, t1 / hi, t1 / lo
        kf = karp_flatt([s_med, s_hi, s_lo], [n, n, n]) if scaling == "strong" else [np.nan] * 3
        rows.append(dict(cell=int(c["cell"]), name=c["name"], gil=c["gil"], ranks=int(c["ranks"]),
                         threads=int(c["threads"]), n=n, trials=len(t), t_median=med, t_min=lo, t_max=hi,
                         speedup=s_med, speedup_lo=s_lo, speedup_hi=s_hi,
                         efficiency=e_med, efficiency_lo=e_lo, efficiency_hi=e_hi,
                         karp_flatt=float(kf[0]), karp_flatt_lo=float(kf[1]), karp_flatt_hi=float(kf[2]),
                         nodes=int(nodes.get(c["cell"], 1)), placement=c["placement"]))
    return pd.DataFrame(rows)


def _pick_baseline(baselines: pd.DataFrame, gil: str, param, placement: str = "launch"):
    """The one-worker cell for a series: same policy and parameter, else same policy, else the
    new GIL (one thread never contends, so the policy matters little), else any; within each of
    these the same placement first. (One rank sits on node 0's first rank whatever the
    placement, so the placement decides only between otherwise equal candidates.)"""
    if baselines.empty:
        return None
    same = baselines[baselines["gil"] == gil]
    exact = same[[_policy_param(r) == param for _, r in same.iterrows()]] if param is not None else same.iloc[:0]
    for pool in (exact, same, baselines[baselines["gil"] == "new"], baselines):
        if not pool.empty:
            placed = pool[pool["placement"] == placement]
            return (placed if not placed.empty else pool).iloc[0]
    return None


def scaling_families(results: Results) -> list[Family]:
    """Every family of cells that forms a scaling curve: a one-worker cell plus at least one
    cell with more workers, all with the same workload, work and I/O target."""
    cells = results.cells.copy()
    times = _measured_times(results)
    have = set(times["cell"])
    cells = cells[cells["cell"].isin(have)]
    if cells.empty:
        return []
    nodes = _cell_nodes(results)
    cells["mixed_io"] = np.where(cells["workload"] == "mixed", cells["io_threads"], -1)
    cells["kind"] = [_kind(r, t) for r, t in zip(cells["ranks"], cells["threads"])]
    cells["param"] = [_policy_param(r) for _, r in cells.iterrows()]
    families = []
    for key, fam in cells.groupby(list(FAMILY_KEYS), sort=False, dropna=False):
        baselines = fam[fam["kind"] == "baseline"]
        others = fam[fam["kind"] != "baseline"]
        if baselines.empty or others.empty:
            continue
        first = fam.iloc[0]
        family = Family(key=tuple(key), workload=first["workload"], scaling=first["scaling"],
                        title=family_title(first), engine=first["engine"])
        # The parameter goes into the label only where the family has several for that policy.
        params_per_gil = others.groupby("gil")["param"].nunique(dropna=False)
        placements = set(others["placement"])
        name_placement = len(placements) > 1 or placements != {"launch"}
        series_keys = others[["kind", "gil", "param", "placement"]].drop_duplicates(ignore_index=True)
        series_keys["kind"] = pd.Categorical(series_keys["kind"], ["threads", "ranks", "hybrid"], ordered=True)
        series_keys["gil"] = pd.Categorical(series_keys["gil"], ["new", "old", "none"], ordered=True)
        series_keys["order"] = series_keys["placement"].map(_placement_order)
        for _, sk in series_keys.sort_values(["kind", "gil", "param", "order", "placement"]).iterrows():
            kind, gil, param, placement = str(sk["kind"]), str(sk["gil"]), sk["param"], sk["placement"]
            param = None if param is None or (isinstance(param, float) and np.isnan(param)) else param
            members = others[(others["kind"] == kind) & (others["gil"] == gil) & (others["placement"] == placement)
                             & [(_policy_param(r) == param) for _, r in others.iterrows()]]
            base = _pick_baseline(baselines, gil, param, placement)
            base_times = times.loc[times["cell"] == base["cell"], "wall_s"].to_numpy()
            t1 = float(np.median(base_times))
            member_cells = pd.concat([base.to_frame().T, members])
            pts = _points(member_cells, times, t1, family.scaling, nodes)
            label = f"{KIND_LABELS[kind]}, GIL {gil}"
            if params_per_gil.get(gil, 1) > 1 and param is not None:
                label += f" ({_param_text(gil, param)})"
            if name_placement:
                label += ", " + PLACEMENT_LABELS.get(placement, placement)
            smp = times[times["cell"].isin(member_cells["cell"])].merge(
                member_cells.assign(n=member_cells["ranks"] * member_cells["threads"])[["cell", "n"]], on="cell")
            series = Series(kind=kind, gil=gil, param=param, label=label, baseline=base["name"], t1=t1,
                            points=pts, samples=smp[["n", "wall_s"]].astype(float).reset_index(drop=True),
                            placement=placement)
            if kind != "hybrid":
                try:
                    if family.scaling == "strong":
                        series.fit = fit_amdahl(smp["n"], smp["wall_s"])
                    else:
                        series.fit = fit_gustafson(smp["n"], speedup(t1, smp["wall_s"], "weak", smp["n"]), t1)
                except ValueError as e:
                    series.fit_error = str(e)
            family.series.append(series)
        families.append(family)
    return families


def family_table(family: Family) -> pd.DataFrame:
    """One row per point of every series: the numbers behind the scaling figure."""
    frames = []
    for s in family.series:
        p = s.points.copy()
        p.insert(0, "series", s.label)
        frames.append(p)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _fit_note(f: Fit | None, error: str) -> str:
    if f is None:
        return error
    if not f.clamped:
        return ""
    if f.law == "Amdahl":
        return "clamped to [0, 1]: times do not fall as 1/N"
    return "outside [0, 1]: " + ("slower than one worker per unit of work" if f.serial_fraction > 1 else "superlinear")


def fit_table(family: Family) -> pd.DataFrame:
    rows = []
    for s in family.series:
        if s.kind == "hybrid":
            continue
        f = s.fit
        rows.append(dict(series=s.label, law=family.law, baseline=s.baseline, t1_s=s.t1,
                         serial_fraction=f.serial_fraction if f else np.nan,
                         fitted_t1_s=f.t1 if f and family.law == "Amdahl" else np.nan,
                         points=f.points if f else 0, distinct_n=f.distinct_n if f else 0,
                         rms=f.rms if f else np.nan, note=_fit_note(f, s.fit_error)))
    return pd.DataFrame(rows)
