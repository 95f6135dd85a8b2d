"""Two runs side by side (two clusters, two builds, gilbench against a CPython reference run).

Cells are matched by name when both runs have it, else by what they do (workload, shape, GIL
policy, work, engine and, for python cells, the function), so a reference run whose cells are
named differently still lines up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .load import Results
from .tables import cell_summary

SHAPE_KEYS = ["workload", "ranks", "threads", "gil", "work", "engine", "function"]


def cell_comparison(a: Results, b: Results) -> pd.DataFrame:
    """One row per cell measured in both: median/min/max/count of each and ratio = b / a, with
    each side's failed and disturbed trials (left out of its statistics) and the first reason."""
    sa = cell_summary(a)
    sb = cell_summary(b)
    sa, sb = sa[sa["count"] > 0], sb[sb["count"] > 0]
    cols = ["median", "min", "max", "count", "failed", "disturbed", "disturbance"]
    by_name = sa.merge(sb[["name", *cols]], on="name", suffixes=("_a", "_b"))
    rest_a = sa[~sa["name"].isin(by_name["name"])]
    rest_b = sb[~sb["name"].isin(by_name["name"])]
    # Shapes matched only once on each side, so no cell is paired twice.
    rest_a = rest_a.drop_duplicates(subset=SHAPE_KEYS, keep=False)
    rest_b = rest_b.drop_duplicates(subset=SHAPE_KEYS, keep=False)
    by_shape = rest_a.merge(rest_b[[*SHAPE_KEYS, "name", *cols]], on=SHAPE_KEYS, suffixes=("_a", "_b"))
    if not by_shape.empty:
        by_shape["name"] = [x if x == y else f"{x} / {y}" for x, y in zip(by_shape["name_a"], by_shape["name_b"])]
    keep = ["name", "workload", "ranks", "threads", "gil"] + [c + s for c in cols for s in ("_a", "_b")]
    out = pd.concat([by_name[keep], by_shape[keep] if not by_shape.empty else None], ignore_index=True)
    out["ratio"] = out["median_b"] / out["median_a"]
    return out


def unmatched_cells(a: Results, b: Results, table: pd.DataFrame) -> tuple[list, list]:
    """Names of measured cells of each run that found no partner."""
    names = set()
    for n in table["name"]:
        names.update(n.split(" / "))
    ma = [n for n in cell_summary(a).query("count > 0")["name"] if n not in names]
    mb = [n for n in cell_summary(b).query("count > 0")["name"] if n not in names]
    return ma, mb


def match_by_key(items_a: list, items_b: list, key, loose_key=None) -> list[tuple]:
    """Pairs items of two runs with equal key(item); with loose_key, items still unpaired are
    matched when that looser key is unique on both sides. Returns [(a or None, b or None)]."""
    pairs = []
    used_b = set()
    for x in items_a:
        match = next((j for j, y in enumerate(items_b) if j not in used_b and key(y) == key(x)), None)
        if match is not None:
            used_b.add(match)
        pairs.append([x, items_b[match] if match is not None else None])
    if loose_key is not None:
        for p in pairs:
            if p[1] is not None:
                continue
            cands = [j for j, y in enumerate(items_b) if j not in used_b and loose_key(y) == loose_key(p[0])]
            same_a = [x for x in items_a if loose_key(x) == loose_key(p[0])]
            if len(cands) == 1 and len(same_a) == 1:
                used_b.add(cands[0])
                p[1] = items_b[cands[0]]
    pairs.extend([None, y] for j, y in enumerate(items_b) if j not in used_b)
    return [tuple(p) for p in pairs]


def ratio_text(r: float) -> str:
    return f"{r:.2f}×" if np.isfinite(r) else "–"
