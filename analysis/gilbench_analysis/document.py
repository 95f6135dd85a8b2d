"""A tiny document model for the report, rendered to Markdown and to standalone HTML.

The report builder only appends blocks; the two renderers are the only code that knows either
syntax. Text may use `code` and **bold**, nothing else, so both renderings stay faithful.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str


@dataclass
class Note:
    """A one-line remark set apart, e.g. why a section was skipped."""
    text: str


@dataclass
class Table:
    frame: pd.DataFrame   # cells already formatted as strings
    caption: str = ""


@dataclass
class Figure:
    path: str             # relative to the report's folder
    caption: str


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)
    outdir: object = None   # where figures are written; Figure paths are relative to it

    def heading(self, text, level=2):
        self.blocks.append(Heading(text, level))

    def para(self, text):
        self.blocks.append(Para(text))

    def note(self, text):
        self.blocks.append(Note(text))

    def table(self, frame, caption=""):
        self.blocks.append(Table(frame, caption))

    def figure(self, path, caption):
        self.blocks.append(Figure(path, caption))

    @property
    def figures(self) -> list[str]:
        return [b.path for b in self.blocks if isinstance(b, Figure)]

    @property
    def notes(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Note)]


def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Note):
            out += [f"> *{b.text}*", ""]
        elif isinstance(b, Table):
            f = b.frame
            numeric = [pd.api.types.is_numeric_dtype(f[c]) or _looks_numeric(f[c]) for c in f.columns]
            out.append("| " + " | ".join(_md_cell(c) for c in f.columns) + " |")
            out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
            for row in f.itertuples(index=False):
                out.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
            out.append("")
            if b.caption:
                out += [b.caption, ""]
        elif isinstance(b, Figure):
            out += [f"![{_md_cell(b.caption)}]({b.path})", "", f"*{b.caption}*", ""]
    return "\n".join(out).rstrip() + "\n"


def _looks_numeric(col) -> bool:
    vals = [str(v) for v in col if str(v) not in ("", "–")]
    return bool(vals) and all(re.match(r"^[-+]?[\d.,]+", v) for v in vals)


def _inline(text: str) -> str:
    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", t)


CSS = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}th,td{border:1px solid #ccc;padding:.2em .6em}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee}figcaption{font-style:italic;font-size:.9em;margin-bottom:1.5em}
blockquote{color:#666;border-left:3px solid #ccc;margin:.5em 0;padding-left:.8em}code{background:#f5f5f5}"""


def to_html(doc: Document) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{_inline(doc.title)}</h1>"]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Note):
            out.append(f"<blockquote>{_inline(b.text)}</blockquote>")
        elif isinstance(b, Table):
            f = b.frame
            numeric = [pd.api.types.is_numeric_dtype(f[c]) or _looks_numeric(f[c]) for c in f.columns]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(str(c))}</th>" for c in f.columns)
                       + "</tr></thead><tbody>")
            for row in f.itertuples(index=False):
                out.append("<tr>" + "".join(f'<td class="num">{_inline(str(v))}</td>' if n
                                            else f"<td>{_inline(str(v))}</td>"
                                            for v, n in zip(row, numeric)) + "</tr>")
            out.append("</tbody></table>")
            if b.caption:
                out.append(f"<p>{_inline(b.caption)}</p>")
        elif isinstance(b, Figure):
            out.append(f'<figure><img src="{html.escape(b.path)}" alt="{html.escape(b.caption)}">'
                       f"<figcaption>{_inline(b.caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
