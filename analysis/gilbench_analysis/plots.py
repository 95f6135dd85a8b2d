"""The report's figures: PNG files drawn with matplotlib's Agg renderer, no display needed.

Every function takes the data of one run, or of two runs to compare, as a list of
(label, data) pairs, writes one PNG and returns its path. With two runs the first is drawn
with solid lines and filled markers, the second dashed with open markers; colours always mean
the same thing (the series, the cell or the layout), so a reader can match them across figures.

Figures are made with `matplotlib.figure.Figure`, not pyplot: a Figure that pyplot does not
manage is rendered by `savefig` with the Agg canvas for a .png, so this module chooses its
backend where it writes, never at import, and leaves matplotlib's global backend (and any
pyplot figure of a caller, e.g. in a notebook) alone. Nothing needs closing afterwards either.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

from . import scaling as sc
from .latency import cdf

STYLE = {
    "figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight", "savefig.pad_inches": 0.05,
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.frameon": False,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.5,
    "axes.spines.top": False, "axes.spines.right": False,
    "lines.linewidth": 1.4, "lines.markersize": 5, "errorbar.capsize": 2.5,
}

# Okabe–Ito colours (readable by colour-blind readers and in greyscale print).
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SERIES_COLOURS = {("threads", "new"): "#0072B2", ("threads", "old"): "#E69F00", ("threads", "none"): "#009E73",
                  ("ranks", "new"): "#D55E00", ("ranks", "old"): "#D55E00", ("ranks", "none"): "#D55E00",
                  ("hybrid", "new"): "#0072B2", ("hybrid", "old"): "#E69F00", ("hybrid", "none"): "#009E73"}
# Colour says the GIL policy of threads (ranks: one colour, each has its own GIL); the marker says
# threads (circle), ranks (square) or ranks × threads (diamond).
MARKERS = {"threads": "o", "ranks": "s", "hybrid": "D"}
RUN_STYLES = [dict(linestyle="-", fill=True), dict(linestyle="--", fill=False)]
LAYOUT_COLOURS = {"single thread": "#999999", "multi thread": "#0072B2", "multi process": "#D55E00",
                  "subinterpreters": "#009E73", "free-threaded": "#CC79A7"}
MIN_HOLD_FRACTION = 0.002   # of the time axis: holds shorter than this are drawn this wide
STATE_STYLE = {"hold": dict(alpha=1.0), "io": dict(color="#B9D9EB", hatch="////", edgecolor="#5B8DB8"),
               "wait": dict(color="#F3C3B5")}


def _subplots(nrows=1, ncols=1, *, figsize, **kw):
    """A new Figure and its axes, as pyplot.subplots returns them but outside pyplot's registry.
    Call inside `matplotlib.rc_context(STYLE)`: the Figure takes its defaults from there."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def _save(fig, path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)  # a .png: savefig renders with the Agg canvas
    return str(path)


def _marker_kw(colour, run_index: int) -> dict:
    st = RUN_STYLES[run_index % 2]
    return dict(color=colour, linestyle=st["linestyle"], markerfacecolor=colour if st["fill"] else "white",
                markeredgecolor=colour)


def _log2_axis(ax, values, axis="x"):
    """Log2 scale with a tick at each worker count present (1, 2, 4, ...; also 3, 6 if used)."""
    values = sorted({float(v) for v in values if v > 0})
    getattr(ax, f"set_{axis}scale")("log", base=2)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(values))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v >= 1 or v < 0.01 else f"1/{1 / v:g}"))
    target.set_minor_locator(NullLocator())


def _run_legend(fig, labels):
    """A figure-level legend, above the panels on the right, telling the runs apart by line and
    marker style (solid/filled: the first, dashed/open: the second)."""
    handles = [Line2D([], [], marker="o", **_marker_kw("0.3", i)) for i in range(len(labels))]
    fig.legend(handles, labels, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(labels),
               title="run", title_fontsize=8)


# ---------------------------------------------------------------------------------------------
# Seed table

def _shape_text(row) -> str:
    p, t = int(row["ranks"]), int(row["threads"])
    if p == 1 and t == 1:
        return "1 thread"
    if p == 1:
        return f"{t} threads\n(1 rank)"
    return f"{p} ranks\n({t} thread{'s' if t > 1 else ''} each)"


# Bar styles of the seed figure's series (a run, or a run's engine): filled, then hatched ones.
BAR_HATCHES = [None, "//", "..", "xx"]


def seed_figure(runs, path) -> str:
    """Bars of median wall time per layout, one panel per workload, error bars min–max over
    repeats, ratio to the single thread written on each bar. runs: [(label, seed_summary df)],
    one per run, or per run and engine when a run has cells of several (each engine's bars
    beside the others', in the order of the run's cells table): the first filled, the others
    hatched."""
    workloads = [w for w in ("cpu", "io") if any((s["workload"] == w).any() for _, s in runs)]
    titles = {"cpu": "CPU-bound (countdown)", "io": "I/O-bound (HTTP GETs)"}
    present = set().union(*(set(s["layout"]) for _, s in runs))
    layouts = [l for l in LAYOUT_COLOURS if l in present]
    with matplotlib.rc_context(STYLE):
        fig, axes = _subplots(1, len(workloads), figsize=(3.4 * len(workloads) + 0.4, 3.2), squeeze=False)
        width = 0.8 / len(runs)
        for ax, w in zip(axes[0], workloads):
            for i, (label, s) in enumerate(runs):
                d = s[s["workload"] == w].set_index("layout").reindex(layouts)
                x = np.arange(len(layouts)) + (i - (len(runs) - 1) / 2) * width
                med = d["median"].to_numpy(dtype=float)
                err = np.vstack([med - d["min"].to_numpy(dtype=float), d["max"].to_numpy(dtype=float) - med])
                colours = [LAYOUT_COLOURS[l] for l in layouts]
                hatch = BAR_HATCHES[i % len(BAR_HATCHES)]
                ax.bar(x, med, width * 0.92, yerr=err, color=colours if i == 0 else "white",
                       edgecolor=colours, linewidth=1.2, hatch=hatch,
                       error_kw=dict(ecolor="black", elinewidth=0.8))
                for xi, m, hi, r in zip(x, med, d["max"].to_numpy(dtype=float), d["ratio"].to_numpy(dtype=float)):
                    if np.isfinite(m) and np.isfinite(r):
                        ax.annotate(f"{r:.2f}×", (xi, hi), xytext=(0, 2), textcoords="offset points",
                                    ha="center", va="bottom", fontsize=7 if len(runs) < 3 else 6)
            ax.set_xticks(np.arange(len(layouts)))
            first = next((s[s["workload"] == w] for _, s in runs if (s["workload"] == w).any()), runs[0][1])
            first = first.set_index("layout")
            ax.set_xticklabels([_shape_text(first.loc[l]) if l in first.index else l for l in layouts])
            ax.set_ylabel("median wall time (s)")
            ax.set_title(titles[w])
            ax.set_ylim(0, ax.get_ylim()[1] * 1.12)
            ax.grid(axis="x", visible=False)
        if len(runs) > 1:
            handles = [Patch(facecolor="0.5" if i == 0 else "white", edgecolor="0.3",
                             hatch=BAR_HATCHES[i % len(BAR_HATCHES)], label=label)
                       for i, (label, _) in enumerate(runs)]
            fig.legend(handles=handles, loc="upper center", ncol=len(runs), bbox_to_anchor=(0.5, 1.06))
        fig.tight_layout()
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# The user's own functions

def _shape_colour(ranks: int, threads: int) -> str:
    if ranks == 1 and threads == 1:
        return LAYOUT_COLOURS["single thread"]
    if ranks == 1:
        return LAYOUT_COLOURS["multi thread"]
    if threads == 1:
        return LAYOUT_COLOURS["multi process"]
    return "#009E73"


def functions_figure(families, path) -> str:
    """Speed-up against one thread per shape (1 × 1, 1 × T, P × 1, P × T), one panel per
    function: bars coloured by kind (threads blue, ranks orange, both green), whiskers from the
    slowest to the fastest repeat, a black tick at the ideal speed-up N. families: [(title,
    FunctionFamily.shapes)]."""
    n = len(families)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    with matplotlib.rc_context(STYLE):
        fig, axes = _subplots(rows, cols, figsize=(3.6 * cols + 0.4, 3.3 * rows), squeeze=False)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax, (title, shapes) in zip(axes.flat, families):
            d = shapes.reset_index(drop=True)
            x = np.arange(len(d))
            sp = d["speedup"].to_numpy(dtype=float)
            # Whiskers: the speed-up of the slowest and of the fastest repeat against the same T1.
            lo = (sp * d["median"] / d["max"]).to_numpy(dtype=float)
            hi = (sp * d["median"] / d["min"]).to_numpy(dtype=float)
            err = np.vstack([np.clip(sp - lo, 0, None), np.clip(hi - sp, 0, None)])
            colours = [_shape_colour(r, t) for r, t in zip(d["ranks"], d["threads"])]
            ax.bar(x, sp, 0.7, yerr=np.nan_to_num(err), color=colours, error_kw=dict(ecolor="black", elinewidth=0.8))
            ax.scatter(x, d["n"], marker="_", s=400, color="black", linewidths=1.2, zorder=3)
            for xi, v in zip(x, sp):
                if np.isfinite(v):
                    ax.annotate(f"{v:.2f}×", (xi, v), xytext=(3, 2), textcoords="offset points", ha="left",
                                va="bottom", fontsize=7)
            ax.set_xticks(x)
            ax.set_xticklabels([f"{r} × {t}" for r, t in zip(d["ranks"], d["threads"])])
            ax.set_xlabel("ranks × threads per rank")
            ax.set_ylabel("speed-up against 1 × 1")
            ax.set_ylim(0, max(float(np.nanmax(np.r_[d["n"], hi, 1.0])) * 1.15, 1.2))
            ax.set_title(title, loc="left", fontsize=9)
            ax.grid(axis="x", visible=False)
        handles = [Patch(color=LAYOUT_COLOURS["single thread"], label="1 thread"),
                   Patch(color=LAYOUT_COLOURS["multi thread"], label="threads of one rank (one GIL)"),
                   Patch(color=LAYOUT_COLOURS["multi process"], label="ranks (a GIL each)"),
                   Patch(color="#009E73", label="ranks × threads"),
                   Line2D([], [], marker="_", linestyle="none", color="black", markersize=12,
                          label="ideal: N = ranks × threads")]
        fig.tight_layout()
        fig.legend(handles=handles, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.0))
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Scaling

def series_colours(series) -> dict:
    """Colour per series label: SERIES_COLOURS by kind and GIL policy; a series that shares its
    kind and policy with an earlier one (the same shape placed otherwise over the nodes) gets the
    next Okabe–Ito colour not yet used, so the two curves stay apart."""
    reserved = {SERIES_COLOURS.get((s.kind, s.gil), "0.4") for s in series}
    out, taken = {}, set()
    for s in series:
        if s.label in out:
            continue
        colour = SERIES_COLOURS.get((s.kind, s.gil), "0.4")
        if (s.kind, s.gil) in taken:
            used = reserved | set(out.values())
            colour = next((c for c in OKABE_ITO if c not in used), colour)
        taken.add((s.kind, s.gil))
        out[s.label] = colour
    return out


def _speedup_axis(ax, lowest: float, n_max: float):
    """Log2 speed-up axis from a little below 1 (or the lowest value) to a little above n_max,
    so the ideal S = N is the diagonal."""
    y_lo = min(0.8, lowest * 0.85)
    _log2_axis(ax, [2.0 ** k for k in range(-8, 12) if y_lo <= 2.0 ** k <= n_max * 1.01], axis="y")
    ax.set_ylim(y_lo, n_max * 1.3)


def _errorbar(ax, x, y, lo, hi, **kw):
    y, lo, hi = (np.asarray(v, dtype=float) for v in (y, lo, hi))
    err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
    return ax.errorbar(x, y, yerr=err, **kw)


def scaling_figure(runs, path, title: str | None = None) -> str:
    """Speed-up, parallel efficiency and (strong) Karp–Flatt or (weak) wall time against N = P×T,
    one curve per series, ideal lines, fitted Amdahl/Gustafson curves (one run only: with two,
    the fitted fractions are in the report's table). runs: [(label, Family)] of one family key."""
    family = runs[0][1]
    strong = family.scaling == "strong"
    all_n = sorted({int(n) for _, f in runs for s in f.series for n in s.points["n"]})
    n_max = max(all_n)
    grid = np.geomspace(1, n_max, 100)
    colours = series_colours([s for _, f in runs for s in f.series])
    with matplotlib.rc_context(STYLE):
        fig, (ax_s, ax_e, ax_k) = _subplots(1, 3, figsize=(11.5, 3.6))
        ax_s.plot(grid, grid, color="black", linestyle="--", linewidth=1, label="ideal (S = N)")
        ax_e.axhline(1.0, color="black", linestyle="--", linewidth=1, label="ideal (100 %)")
        for i, (run_label, fam) in enumerate(runs):
            for s in fam.series:
                colour = colours[s.label]
                p = s.points.sort_values("n")
                kw = dict(marker=MARKERS[s.kind], **_marker_kw(colour, i))
                if s.kind == "hybrid":
                    kw["linestyle"] = "none"
                    p = p[p["n"] > 1]
                label = s.label
                if s.fit is not None and len(runs) == 1:
                    label += f"  ({fam.law} s = {s.fit.serial_fraction:.2f}{', at bound' if s.fit.clamped else ''})"
                if i > 0:   # the first run's entries name the series for both
                    label = None
                _errorbar(ax_s, p["n"], p["speedup"], p["speedup_lo"], p["speedup_hi"], label=label, **kw)
                _errorbar(ax_e, p["n"], p["efficiency"], p["efficiency_lo"], p["efficiency_hi"], **kw)
                if strong:
                    q = p[p["n"] > 1]
                    # Karp–Flatt falls as S rises: the slowest repeat gives the upper end.
                    _errorbar(ax_k, q["n"], q["karp_flatt"], q["karp_flatt_hi"], q["karp_flatt_lo"], **kw)
                else:
                    _errorbar(ax_k, p["n"], p["t_median"], p["t_min"], p["t_max"], **kw)
                    if i == 0:
                        ax_k.axhline(s.t1, color=colour, linestyle=":", linewidth=0.8)
                if s.fit is not None and len(runs) == 1:
                    law = sc.amdahl_speedup if strong else sc.gustafson_speedup
                    fit_s = law(s.fit.serial_fraction, grid)
                    ax_s.plot(grid, fit_s, color=colour, linestyle=":", linewidth=1.2)
                    ax_e.plot(grid, fit_s / grid, color=colour, linestyle=":", linewidth=1.2)
            crossing = [int(n) for s in fam.series for n, nodes in zip(s.points["n"], s.points["nodes"]) if nodes > 1]
            if crossing and i == 0:
                for ax in (ax_s, ax_e, ax_k):
                    ax.axvline(min(crossing), color="0.5", linewidth=0.8, linestyle="-.")
                ax_s.text(min(crossing), ax_s.get_ylim()[1], " > 1 node", fontsize=7, va="top", color="0.4")
        for ax in (ax_s, ax_e, ax_k):
            _log2_axis(ax, all_n if (ax is not ax_k or not strong) else [n for n in all_n if n > 1] or all_n)
            ax.set_xlabel("workers N = ranks × threads per rank")
        lowest = min(float(np.nanmin(s.points["speedup_lo"])) for _, f in runs for s in f.series)
        _speedup_axis(ax_s, lowest, n_max)
        ax_s.set_ylabel("speed-up S = T₁ / T(N)" if strong else "scaled speed-up S = N·T₁ / T(N)")
        ax_e.set_ylabel("parallel efficiency S / N" if strong else "weak-scaling efficiency T₁ / T(N)")
        ax_e.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax_e.set_ylim(0, max(1.15, ax_e.get_ylim()[1]))
        if strong:
            ax_k.set_ylabel("Karp–Flatt serial fraction e")
            ax_k.set_ylim(bottom=min(0.0, ax_k.get_ylim()[0]), top=max(1.05, ax_k.get_ylim()[1]))
            ax_k.axhline(1.0, color="0.5", linewidth=0.8, linestyle="--")
            ax_k.set_title("(c) Karp–Flatt metric", loc="left")
        else:
            ax_k.set_ylabel("median wall time T(N) (s)")
            ax_k.set_ylim(bottom=0)
            ax_k.set_title("(c) wall time (dotted: T₁, ideal)", loc="left")
        ax_s.set_title("(a) speed-up" if strong else "(a) scaled speed-up", loc="left")
        ax_e.set_title("(b) efficiency", loc="left")
        handles, labels = ax_s.get_legend_handles_labels()
        if len(runs) == 1 and any(s.fit is not None for s in family.series):
            handles.append(Line2D([], [], color="0.3", linestyle=":", linewidth=1.2))
            labels.append(f"{family.law} fit (colour of its series)")
        ncol = min(3, len(handles)) if len(handles) > 4 else len(handles)
        fig.suptitle(title or family.title, y=1.0, fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        fig.legend(handles, labels, loc="upper center", ncol=ncol, bbox_to_anchor=(0.5, 0.02))
        if len(runs) > 1:
            _run_legend(fig, [label for label, _ in runs])
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Nodes

# Marker shape = nodes a cell's ranks spanned (colour stays the series').
NODE_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def nodes_figure(family, path, title: str | None = None) -> str:
    """Speed-up against ranks P (against workers N where a series has threads too), one line per
    series (placements apart), each point's marker shape telling how many nodes the cell
    spanned, dashed ideal S = N. Series of one rank never cross a node and are left out."""
    series = [s for s in family.series if (s.points["ranks"] > 1).any()] or list(family.series)
    by_ranks = all((s.points["threads"] == 1).all() for s in series)
    xcol = "ranks" if by_ranks else "n"
    colours = series_colours(family.series)   # as in the scaling figure of the same family
    all_x = sorted({int(v) for s in series for v in s.points[xcol]})
    spans = sorted({int(v) for s in series for v in s.points["nodes"]})
    marker = {k: NODE_MARKERS[i % len(NODE_MARKERS)] for i, k in enumerate(spans)}
    with matplotlib.rc_context(STYLE):
        fig, ax = _subplots(figsize=(6.4, 4.0))
        ax.plot([1, max(all_x)], [1, max(all_x)], color="black", linestyle="--", linewidth=1)
        line = {s.label: "-" if s.kind != "hybrid" else ":" for s in series}
        for s in series:
            p = s.points.sort_values(xcol)
            colour = colours[s.label]
            _errorbar(ax, p[xcol], p["speedup"], p["speedup_lo"], p["speedup_hi"], color=colour,
                      linestyle=line[s.label], marker="none")
            for k, q in p.groupby("nodes"):
                ax.plot(q[xcol], q["speedup"], linestyle="none", marker=marker[int(k)], color=colour,
                        markeredgecolor=colour, markersize=6)
        _log2_axis(ax, all_x)
        _speedup_axis(ax, min(float(np.nanmin(s.points["speedup_lo"])) for s in series), max(all_x))
        ax.set_xlabel("ranks P" if by_ranks else "workers N = ranks × threads per rank")
        ax.set_ylabel("speed-up S = T₁ / T" if family.scaling == "strong" else "scaled speed-up S = N·T₁ / T")
        ax.set_title(title or family.title, loc="left")
        handles = [Line2D([], [], color=colours[s.label], linestyle=line[s.label], label=s.label) for s in series]
        handles += [Line2D([], [], marker=marker[k], linestyle="none", color="0.3",
                           label=f"{k} node{'s' if k > 1 else ''}") for k in spans]
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1,
                              label=f"ideal (S = {'P' if by_ranks else 'N'})"))
        fig.tight_layout()
        fig.legend(handles=handles, loc="upper center", ncol=min(3, len(handles)), bbox_to_anchor=(0.5, 0.0))
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# GIL timeline

def timeline_figure(runs, path) -> str:
    """One lane per thread: GIL held (solid, the thread's colour), blocking I/O with the GIL
    released (hatched), waiting for the GIL (pale red); ▼ marks a drop request the thread set.
    runs: [(label, Timeline)], one panel each."""
    heights = [len(tl.lanes) + 1.2 for _, tl in runs]
    with matplotlib.rc_context(STYLE):
        fig, axes = _subplots(len(runs), 1, figsize=(10, 0.42 * sum(heights) + 1.3 * len(runs)),
                              gridspec_kw=dict(height_ratios=heights), squeeze=False)
        for ax, (label, tl) in zip(axes[:, 0], runs):
            lane_y = {lane: i for i, lane in enumerate(reversed(tl.lanes))}
            for lane, y in lane_y.items():
                iv = tl.intervals[(tl.intervals["rank"] == lane[0]) & (tl.intervals["thread"] == lane[1])]
                colour = OKABE_ITO[(lane[1] + 3 * lane[0]) % 7]
                for state in ("wait", "io", "hold"):
                    part = iv[iv["state"] == state]
                    if part.empty:
                        continue
                    widths = (part["end_s"] - part["start_s"]) * 1e3
                    if state == "hold":   # a 5 µs hold in a 100 ms trial would not show at all
                        widths = widths.clip(lower=tl.t_end * 1e3 * MIN_HOLD_FRACTION)
                    spans = list(zip(part["start_s"] * 1e3, widths))
                    h = 0.7 if state == "hold" else 0.42
                    style = dict(STATE_STYLE[state])
                    if state == "hold":
                        style["color"] = colour
                    ax.broken_barh(spans, (y - h / 2, h), linewidth=0.3 if state == "io" else 0, **style)
                req = tl.requests[(tl.requests["rank"] == lane[0]) & (tl.requests["thread"] == lane[1])]
                if not req.empty:
                    ax.plot(req["t_s"] * 1e3, np.full(len(req), y + 0.52), linestyle="none", marker="v",
                            markersize=4, color="black")
            ax.set_yticks(list(lane_y.values()))
            multi_rank = len({r for r, _ in tl.lanes}) > 1
            ax.set_yticklabels([f"rank {r}, thread {t}" if multi_rank else f"thread {t}" for r, t in lane_y])
            ax.set_ylim(-0.7, len(tl.lanes) - 0.1)
            ax.set_xlim(0, tl.t_end * 1e3)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel("time since the trial's start barrier (ms)")
            policy = {"new": f"new GIL, switch interval {tl.switch_interval_s * 1e3:g} ms",
                      "old": f"old GIL, check interval {tl.check_interval} ticks", "none": "no GIL"}.get(tl.gil, tl.gil)
            title = f"cell '{tl.name}', trial {tl.trial} ({policy})"
            if len(runs) > 1:
                title = f"{label}: {title}"
            if tl.truncated_at is not None:
                title += f", first {tl.truncated_at * 1e3:.1f} ms"
            ax.set_title(title, loc="left")
            if multi_rank:
                ranks = sorted({r for r, _ in tl.lanes})
                for r in ranks[1:]:
                    y = min(lane_y[(r2, t)] for r2, t in lane_y if r2 < r) - 0.5
                    ax.axhline(y, color="0.6", linewidth=0.6)
        handles = [Patch(color="0.35", label="holds the GIL (thread's colour)"),
                   Patch(facecolor=STATE_STYLE["io"]["color"], edgecolor=STATE_STYLE["io"]["edgecolor"],
                         hatch="////", label="blocking I/O, GIL released"),
                   Patch(color=STATE_STYLE["wait"]["color"], label="waiting for the GIL"),
                   Line2D([], [], marker="v", linestyle="none", color="black", markersize=4,
                          label="drop request (waited one switch interval)")]
        fig.tight_layout(rect=(0, 0.0, 1, 1))
        fig.legend(handles=handles, loc="upper center", ncol=4, bbox_to_anchor=(0.5, 0.0))
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Latency

def _latency_axis(ax, values_ms):
    v = np.asarray(values_ms, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() / v.min() > 8:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_xlabel("request latency (ms)")
    ax.set_ylabel("fraction of requests ≤ latency")
    ax.set_ylim(0, 1.02)


def latency_cdf_figure(runs, path, title="I/O request latency") -> str:
    """Empirical CDF per cell. runs: [(label, [(cell label, latencies in s, server delay s)])]."""
    with matplotlib.rc_context(STYLE):
        fig, ax = _subplots(figsize=(6.4, 4.0))
        everything = []
        cell_labels = []
        for _, curves in runs:
            for cl, _, _ in curves:
                if cl not in cell_labels:
                    cell_labels.append(cl)
        colours = {cl: OKABE_ITO[i % len(OKABE_ITO)] for i, cl in enumerate(cell_labels)}
        delays = set()
        labelled = set()
        for i, (run_label, curves) in enumerate(runs):
            for cl, lat, delay in curves:
                x, y = cdf(np.asarray(lat) * 1e3)
                if len(x) == 0:
                    continue
                everything.extend(x)
                delays.add(delay)
                # One legend entry per cell, from whichever run has it first.
                label = f"{cl} (n = {len(x)})" if len(runs) == 1 else (cl if cl not in labelled else None)
                labelled.add(cl)
                ax.step(np.r_[x[0], x], np.r_[0, y], where="post", color=colours[cl],
                        linestyle=RUN_STYLES[i % 2]["linestyle"], label=label)
        for d in sorted(delays):
            if d > 0:
                ax.axvline(d * 1e3, color="black", linestyle=":", linewidth=1)
                ax.text(d * 1e3, 0.02, f" server delay {d * 1e3:g} ms", rotation=90, fontsize=7, va="bottom")
        _latency_axis(ax, everything)
        ax.set_title(title, loc="left")
        ax.legend(loc="lower right" if len(runs) == 1 else "center right")
        if len(runs) > 1:
            _run_legend(fig, [label for label, _ in runs])
        fig.tight_layout()
        return _save(fig, path)


def _policy_label(gil: str, switch_interval_s) -> str:
    if gil == "new" and switch_interval_s is not None:
        return f"new GIL, {switch_interval_s * 1e3:g} ms interval"
    return {"old": "old GIL", "none": "no GIL"}.get(gil, gil)


def convoy_figure(runs, path) -> str:
    """The convoy case. (a) CDF of the I/O threads' latency, one curve per cell: alone (greys)
    and beside CPU threads (colours); (b) how much longer than the server's delay a request
    takes (median solid, p99 dotted) against the number of CPU threads beside it, one line per
    GIL policy, starting from the I/O-alone cells at 0, with the switch interval for scale: each
    GIL re-take beside a CPU thread can cost up to one. runs: [(label, latency_summary rows with
    'lat' (arrays, s), 'gil' and cpu_threads = 0 for the I/O-alone cells)]."""
    with matplotlib.rc_context(STYLE):
        fig, (ax_c, ax_k) = _subplots(1, 2, figsize=(11, 4.0), gridspec_kw=dict(width_ratios=[1.3, 1]))
        everything = []
        # Colour: the GIL policy (the switch interval counts only for the new GIL); line style:
        # how many CPU threads (with two runs, line style tells the runs apart instead).
        policy_of = lambda row: (row["gil"],  # noqa: E731
                                 float(row["switch_interval_s"]) if row["gil"] == "new" else None)
        policies = []
        for _, d in runs:
            for _, row in d[d["cpu_threads"] > 0].iterrows():
                if policy_of(row) not in policies:
                    policies.append(policy_of(row))
        policy_colours = {p: OKABE_ITO[j % 7] for j, p in enumerate(policies)}
        k_styles = ["-", "--", "-.", ":"]
        greys = ["black", "0.45", "0.7"]
        labelled = set()
        for i, (run_label, d) in enumerate(runs):
            alone = 0
            for _, row in d.iterrows():
                x, y = cdf(np.asarray(row["lat"]) * 1e3)
                if len(x) == 0:
                    continue
                everything.extend(x)
                k = int(row["cpu_threads"])
                if k == 0:
                    colour, what = greys[alone % len(greys)], "I/O alone"
                    alone += 1
                else:
                    colour = policy_colours[policy_of(row)]
                    what = f"{k} CPU thread{'s' if k > 1 else ''}, {_policy_label(*policy_of(row))}"
                label = None if row["name"] in labelled else f"{row['name']} ({what})"
                labelled.add(row["name"])
                style = RUN_STYLES[i % 2]["linestyle"] if len(runs) > 1 else k_styles[max(k - 1, 0) % len(k_styles)]
                ax_c.step(np.r_[x[0], x], np.r_[0, y], where="post", color=colour, linestyle=style, label=label)
            extra = d.assign(med=(d["median_s"] - d["latency_s"]) * 1e3, p99=(d["p99_s"] - d["latency_s"]) * 1e3)
            alone_pts = extra[extra["cpu_threads"] == 0][["med", "p99"]].median()
            for policy in policies:
                m = extra[(extra["cpu_threads"] > 0) & [policy_of(r) == policy for _, r in extra.iterrows()]]
                if m.empty:
                    continue
                g = m.groupby("cpu_threads")[["med", "p99"]].median()
                if np.isfinite(alone_pts["med"]):
                    g.loc[0] = alone_pts
                g = g.sort_index()
                kw = _marker_kw(policy_colours[policy], i)
                ax_k.plot(g.index, g["med"], marker="o", label=_policy_label(*policy) if i == 0 else None, **kw)
                kw["linestyle"] = ":"
                ax_k.plot(g.index, g["p99"], marker="^", **kw)
        for dly in sorted({float(v) for _, d in runs for v in d["latency_s"]}):
            if dly > 0:
                ax_c.axvline(dly * 1e3, color="black", linestyle=":", linewidth=1)
        intervals = sorted({float(si) for gil, si in policies if gil == "new"})
        for j, si in enumerate(intervals):
            ax_k.axhline(si * 1e3, color="0.4", linestyle="--", linewidth=0.9)
            ax_k.text(ax_k.get_xlim()[0], si * 1e3, f" switch interval {si * 1e3:g} ms", va="bottom", fontsize=7,
                      color="0.3")
        _latency_axis(ax_c, everything)
        ax_c.set_title("(a) latency of the I/O threads' requests (dotted: server delay)", loc="left")
        ax_c.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), ncol=1)
        ks = sorted({int(k) for _, d in runs for k in d["cpu_threads"]})
        ax_k.set_xlabel("CPU-bound threads beside the I/O thread(s) (same rank)")
        ax_k.set_ylabel("latency above the server delay (ms)")
        ax_k.xaxis.set_major_locator(FixedLocator(ks))
        ax_k.set_ylim(bottom=0, top=ax_k.get_ylim()[1] * 1.1)
        ax_k.set_title("(b) time lost per request: median (●, solid), p99 (▲, dotted)", loc="left")
        ax_k.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16))
        if len(runs) > 1:
            _run_legend(fig, [label for label, _ in runs])
        fig.tight_layout()
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Switch-interval sweep

def sweep_figure(runs, path) -> str:
    """(a) CPU-bound time, (b) I/O latency, (c) forced GIL hand-offs per second, all against the
    switch interval. runs: [(label, [SweepFamily])]."""
    has_cpu = any(not f.cpu.empty for _, fams in runs for f in fams)
    has_io = any(not f.io.empty for _, fams in runs for f in fams)
    panels = (["cpu"] if has_cpu else []) + (["io"] if has_io else []) + ["gil"]
    labels = []
    for _, fams in runs:
        for f in fams:
            if f.label not in labels:
                labels.append(f.label)
    colours = {l: OKABE_ITO[i % 7] for i, l in enumerate(labels)}
    with matplotlib.rc_context(STYLE):
        fig, axes = _subplots(1, len(panels), figsize=(3.9 * len(panels), 3.5), squeeze=False)
        ax = dict(zip(panels, axes[0]))
        intervals = set()
        delays = set()
        for i, (run_label, fams) in enumerate(runs):
            for f in fams:
                kw = _marker_kw(colours[f.label], i)
                lab = f.label if i == 0 else None
                if not f.cpu.empty:
                    c = f.cpu.sort_values("switch_interval_s")
                    intervals.update(c["switch_interval_s"])
                    _errorbar(ax["cpu"], c["switch_interval_s"] * 1e3, c["median_s"], c["min_s"], c["max_s"],
                              marker="o", label=lab, **kw)
                if not f.io.empty:
                    q = f.io.sort_values("switch_interval_s")
                    intervals.update(q["switch_interval_s"])
                    delays.add(f.latency_server_s)
                    _errorbar(ax["io"], q["switch_interval_s"] * 1e3, q["median_s"] * 1e3, q["p10_s"] * 1e3,
                              q["p90_s"] * 1e3, marker="o", label=lab, **kw)
                    ax["io"].plot(q["switch_interval_s"] * 1e3, q["p99_s"] * 1e3, marker="^", linestyle="none",
                                  markerfacecolor="white", markeredgecolor=colours[f.label])
                g = f.gil.sort_values("switch_interval_s")
                if (g["forced_drops_per_s"] > 0).any():
                    ax["gil"].plot(g["switch_interval_s"] * 1e3, g["forced_drops_per_s"], marker="o",
                                   label=lab if "cpu" not in ax and "io" not in ax else None, **kw)
        si = np.array(sorted(intervals))
        if len(si):
            grid = np.geomspace(si.min(), si.max(), 50)
            ax["gil"].plot(grid * 1e3, 1 / grid, color="black", linestyle=":", linewidth=1,
                           label="1 / interval (one hand-off per interval)")
        for d in sorted(delays):
            if d > 0 and "io" in ax:
                ax["io"].axhline(d * 1e3, color="black", linestyle=":", linewidth=1,
                                 label=f"server delay {d * 1e3:g} ms")
        for name, a in ax.items():
            a.set_xscale("log")
            a.xaxis.set_major_locator(FixedLocator(si * 1e3))
            a.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            a.xaxis.set_minor_locator(NullLocator())
            a.set_xlabel("switch interval (ms)")
        if "cpu" in ax:
            ax["cpu"].set_ylabel("CPU-bound wall time (s)")
            ax["cpu"].set_ylim(bottom=0)
            ax["cpu"].set_title("(a) CPU time (bars: min–max)", loc="left")
            ax["cpu"].legend(loc="lower left")
        if "io" in ax:
            ax["io"].set_ylabel("request latency (ms)")
            ax["io"].set_ylim(bottom=0)
            ax["io"].set_title("(b) I/O latency (median, p10–p90; △ p99)", loc="left")
            ax["io"].set_ylim(top=ax["io"].get_ylim()[1] * 1.25)
            ax["io"].legend(loc="upper left")
        ax["gil"].set_yscale("log")
        ax["gil"].set_ylabel("forced GIL drops per second (s⁻¹)")
        ax["gil"].set_title(f"({'abc'[len(panels) - 1]}) hand-offs forced by drop requests", loc="left")
        ax["gil"].legend(loc="lower left")
        if len(runs) > 1:
            _run_legend(fig, [label for label, _ in runs])
        fig.tight_layout()
        return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# Comparison of two runs

def compare_cells_figure(table, labels, path) -> str:
    """Median wall time of each cell both runs have, as a dot plot (bars would start at an
    arbitrary point on a log axis): first run filled circles, second open squares, whiskers
    min–max over repeats, the ratio second/first at the right. table: compare.cell_comparison."""
    n = len(table)
    with matplotlib.rc_context(STYLE):
        fig, ax = _subplots(figsize=(7.0, 0.36 * n + 1.4))
        y = np.arange(n)[::-1].astype(float)
        for a, b, yi in zip(table["median_a"], table["median_b"], y):
            ax.plot([a, b], [yi, yi], color="0.75", linewidth=1, zorder=1)
        for i, (suffix, marker) in enumerate((("_a", "o"), ("_b", "s"))):
            med = table["median" + suffix].to_numpy(dtype=float)
            err = np.vstack([med - table["min" + suffix].to_numpy(dtype=float),
                             table["max" + suffix].to_numpy(dtype=float) - med])
            kw = _marker_kw(OKABE_ITO[0] if i == 0 else OKABE_ITO[3], i)
            kw["linestyle"] = "none"
            ax.errorbar(med, y, xerr=err, marker=marker, label=labels[i], zorder=2, **kw)
        ax.set_yticks(y)
        ax.set_yticklabels(table["name"])
        ax.set_ylim(-0.7, n - 0.3)
        vals = table[["min_a", "max_a", "min_b", "max_b"]].to_numpy(dtype=float)
        vals = vals[np.isfinite(vals) & (vals > 0)]
        if len(vals) and vals.max() / vals.min() > 8:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("median wall time (s); whiskers: fastest–slowest repeat")
        ax.grid(axis="y", visible=False)
        ax.set_title(f"cells of both runs; right: ratio {labels[1]} / {labels[0]}", loc="left")
        trans = ax.get_yaxis_transform()
        for yi, r in zip(y, table["ratio"]):
            ax.text(1.01, yi, f"{r:.2f}×" if np.isfinite(r) else "–", transform=trans, va="center", fontsize=8)
        fig.tight_layout()
        fig.legend(loc="upper center", ncol=2, bbox_to_anchor=(0.5, 0.0))
        return _save(fig, path)
