"""Edits copies of real results files for tests: synthetic variants the binary cannot make yet
(a `requests` table, a mixed cell, columnar tables, an interrupted tail, doubled times)."""
import shutil

import h5py
import numpy as np
import pandas as pd


def rewrite_table(group, name, frame):
    """Replaces a compound table with the rows of a DataFrame, keeping the string fields as
    UTF-8 variable-length strings like gilbench writes them."""
    fields = []
    for col in frame.columns:
        if frame[col].dtype == object:
            fields.append((col, h5py.string_dtype("utf-8")))
        else:
            fields.append((col, frame[col].dtype))
    arr = np.empty(len(frame), dtype=fields)
    for col in frame.columns:
        arr[col] = frame[col].to_numpy()
    if name in group:
        del group[name]
    group.create_dataset(name, data=arr, maxshape=(None,), chunks=True)


def copy_file(src, dst):
    shutil.copyfile(src, dst)
    return str(dst)


def read_table(group, name) -> pd.DataFrame:
    df = pd.DataFrame(group[name][:])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].map(lambda v: v.decode() if isinstance(v, bytes) else v)
    return df
