#!/usr/bin/python3
"""No function in src/ is longer than 80 lines, but for the few named in ALLOWED.

    function_length.py [--root DIR] [--limit N] [PATH...]

PATH: files or folders relative to --root (default: this checkout's src/). Prints one line per
function over the limit, e.g.

    src/cli/run_command.cpp:120 run_job is 134 lines (limit 80): split it

and exits 1 on any finding (0: none). A function's length counts its lines from the first line of
its signature (the `template <...>` line, if any) to its closing brace, blank and comment lines
included: what a reader scrolls through. Whatever is defined inside a function (a lambda, a local
class, a nested block) is part of that function; a namespace's or a class's body is not a
function, but each member function defined in it is one, and so is a lambda at namespace scope
(named by its variable).

The scan is a brace matcher, not a C++ parser: it first blanks comments, string literals (raw
ones too), character literals and preprocessor lines, keeping every newline, so braces in them do
not count; then it decides what each `{` outside a function opens from the text before it (a
namespace, class, initializer or function body). Debian's python3 and nothing else.
"""
import argparse
import bisect
import os
import re
import sys
from dataclasses import dataclass

LIMIT = 80
SUFFIXES = (".cpp", ".hpp", ".h", ".cc", ".hh", ".cxx", ".ipp", ".tpp")

# (file relative to the root, function name as this script reports it) -> why it may be long.
ALLOWED = {
    ("src/engine/emulated/interp/interp.cpp", "eval"):
        "the interpreter's eval loop: one switch over the opcodes, as CPython's ceval",
    ("src/model/cell_fields.cpp", "table"):
        "the cell field table: one entry per cell setting, data rather than code",
    ("src/runner/runner.cpp", "run_local_trial_if"): "a trial loop: the protocol reads in one place",
}

IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
ACCESS = re.compile(r"\s*(?:public|private|protected)\s*:(?!:)")
STRING_PREFIXES = ("", "u8", "u", "U", "L")
NOT_A_NAME = {"decltype", "alignas", "alignof", "sizeof", "noexcept", "__attribute__", "__declspec",
              "static_assert", "requires", "throw", "explicit"}


@dataclass(frozen=True)
class Function:
    name: str
    first_line: int
    last_line: int

    @property
    def lines(self):
        return self.last_line - self.first_line + 1


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self):
        return f"{self.path}:{self.line} {self.message}"


# -- Step 1: blank what is not code ---------------------------------------------------------------

def _blank(chars, start, end):
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "


def _word_before(text, i):
    """The identifier-like run ([A-Za-z0-9_.]) that ends just before index i."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_."):
        j -= 1
    return text[j:i]


def _string_end(text, i):
    """Index just past the literal whose opening quote is text[i] (" or ')."""
    quote = text[i]
    k = i + 1
    while k < len(text) and text[k] != quote and text[k] != "\n":
        k += 2 if text[k] == "\\" else 1
    return min(k + 1, len(text))


def _raw_string_end(text, i):
    """Index just past the raw string whose opening quote is text[i] (R"delim( ... )delim")."""
    open_paren = text.find("(", i)
    if open_paren < 0:
        return len(text)
    closing = ")" + text[i + 1:open_paren] + '"'
    end = text.find(closing, open_paren)
    return len(text) if end < 0 else end + len(closing)


def _line_end(text, i):
    """Index of the newline ending the line at i, following backslash continuations."""
    while True:
        nl = text.find("\n", i)
        if nl < 0:
            return len(text)
        if text[nl - 1:nl] == "\\" or text[nl - 2:nl] == "\\\r":
            i = nl + 1
            continue
        return nl


def blank_non_code(text):
    """text with comments, literals and preprocessor lines replaced by spaces (newlines kept).

    A string literal keeps its two quotes (so `extern "C"` still reads as a string); a digit
    separator (1'000) is code, not a character literal."""
    chars = list(text)
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            at_line_start = True
            i += 1
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "#" and at_line_start:
            end = _line_end(text, i)
            _blank(chars, i, end)
            i = end
            continue
        at_line_start = False
        if text.startswith("//", i):
            end = _line_end(text, i)
            _blank(chars, i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            _blank(chars, i, end)
            i = end
        elif c == '"':
            word = _word_before(text, i)
            if word.endswith("R") and word[:-1] in STRING_PREFIXES:
                end = _raw_string_end(text, i)
            else:
                end = _string_end(text, i)
            _blank(chars, i + 1, end - 1)
            i = end
        elif c == "'":
            word = _word_before(text, i)
            if word[:1].isdigit():
                i += 1  # a digit separator
                continue
            end = _string_end(text, i)
            _blank(chars, i, end)
            i = end
        else:
            i += 1
    return "".join(chars)


# -- Step 2: what each brace opens -----------------------------------------------------------------

_TOKEN = re.compile(r"::|->|\.\.\.|[A-Za-z_][A-Za-z_0-9]*|[0-9][0-9A-Za-z_.']*|\"\"|\S")


def tokens(text):
    return _TOKEN.findall(text)


def _skip_group(toks, k, open_, close):
    """Index just past the group opened by toks[k] == open_ (nested), or len(toks)."""
    depth = 0
    for j in range(k, len(toks)):
        if toks[j] == open_:
            depth += 1
        elif toks[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(toks)


def _skip_operator(toks, k):
    """toks[k] == 'operator': the index of the '(' opening its parameters, and its spelling."""
    j = k + 1
    if toks[j:j + 2] == ["(", ")"]:
        j += 2
    while j < len(toks) and toks[j] != "(":
        j += 1
    symbol = toks[k + 1:j]
    separator = " " if symbol and IDENT.fullmatch(symbol[0]) else ""  # operator bool, operator new
    return j, "operator" + separator + "".join(symbol)


def _name_before(toks, k):
    """The (qualified) name that ends just before index k, template arguments left out."""
    parts = []
    j = k - 1
    while j >= 0:
        t = toks[j]
        if t == ">":  # Foo<T>::bar: skip the template arguments
            depth = 0
            while j >= 0:
                depth += toks[j] == ">"
                depth -= toks[j] == "<"
                j -= 1
                if depth == 0:
                    break
            continue
        if IDENT.fullmatch(t) or t in ("::", "~"):
            parts.append(t)
            j -= 1
            if IDENT.fullmatch(t) and j >= 0 and toks[j] not in ("::", "~"):
                break
            continue
        break
    return "".join(reversed(parts))


def parameter_list(toks):
    """(index of the '(' opening a function's parameters, the function's name), or None.

    The first parenthesis outside template arguments that follows a name (not `decltype(`,
    `alignas(`, ...) or an operator."""
    angle = 0
    k = 0
    while k < len(toks):
        t = toks[k]
        if t == "operator":
            open_paren, spelling = _skip_operator(toks, k)
            if open_paren < len(toks):
                prefix = _name_before(toks, k) if k and toks[k - 1] == "::" else ""
                return open_paren, prefix + spelling
            return None
        if t == "[" and toks[k + 1:k + 2] == ["["]:
            k = _skip_group(toks, k, "[", "]")
            continue
        if t == "<":
            angle += 1
        elif t == ">" and angle > 0:
            angle -= 1
        elif t == "(" and angle == 0:
            name = _name_before(toks, k)
            last = name.split("::")[-1]
            if name and last not in NOT_A_NAME:
                return k, name
            k = _skip_group(toks, k, "(", ")")
            continue
        k += 1
    return None


def _top_level_assignment(toks):
    """Whether a '=' stands outside parentheses, brackets and template arguments (an initializer)."""
    depth = 0
    angle = 0
    for k, t in enumerate(toks):
        if t in "([":
            depth += 1
        elif t in ")]":
            depth -= 1
        elif t == "<" and depth == 0:
            angle += 1
        elif t == ">" and depth == 0 and angle > 0:
            angle -= 1
        elif t == "=" and depth == 0 and angle == 0:
            nxt = toks[k + 1] if k + 1 < len(toks) else ""
            prev = toks[k - 1] if k else ""
            if nxt != "=" and prev not in ("=", "!", "<", ">", "operator"):
                return True
    return False


def _ends_a_lambda_head(toks):
    """Whether toks end with a lambda's head: [captures] (params) specifiers -> type."""
    k = len(toks)
    # `-> type`: walk back to the arrow, if there is one after the last ')' or ']'
    for j in range(len(toks) - 1, -1, -1):
        if toks[j] in (")", "]"):
            break
        if toks[j] == "->":
            k = j
            break
    while k > 0 and toks[k - 1] in ("mutable", "constexpr", "consteval", "noexcept", "static"):
        k -= 1
    if k > 0 and toks[k - 1] == ")":
        depth = 0
        while k > 0:
            k -= 1
            depth += toks[k] == ")"
            depth -= toks[k] == "("
            if depth == 0:
                break
        if k > 0 and toks[k - 1] in ("noexcept", "throw"):  # noexcept(...) before the body
            return _ends_a_lambda_head(toks[:k - 1])
    if k == 0 or toks[k - 1] != "]" or (k > 1 and toks[k - 2] == "]"):
        return False
    depth = 0
    while k > 0:  # to the '[' that opens the captures: not operator[] or operator new[]
        k -= 1
        depth += toks[k] == "]"
        depth -= toks[k] == "["
        if depth == 0:
            break
    # a lambda's '[' follows an operator or punctuation; one after a name, ']' or ')' is a declarator
    # (char buffer[N]{}), a subscript or operator[]
    before = toks[k - 1] if k > 0 else ""
    return before in ("return", "co_return", "co_yield") or not (IDENT.fullmatch(before) or before in ("]", ")"))


def _unbalanced(toks):
    return toks.count("(") != toks.count(")") or toks.count("[") != toks.count("]")


def classify(header, scope_kind):
    """What a '{' opens, from the text since the previous ';', '{' or '}' at its level.

    Returns (kind, name): 'function', 'lambda', 'scope' (namespace, class, extern "C"),
    'inside' (a brace inside the header: a default argument, a member initializer) or 'init'
    (an initializer list, an enum's body)."""
    toks = tokens(header)
    if not toks:
        return "init", ""
    if _ends_a_lambda_head(toks):
        name = ""
        if "=" in toks:  # the variable: `auto f = [=] {`
            name = _name_before(toks, toks.index("="))
        return "lambda", name or "<lambda>"
    if _unbalanced(toks):
        return "inside", ""
    if scope_kind == "init":
        return "init", ""
    lead = toks
    while lead[:1] == ["template"] and lead[1:2] == ["<"]:
        lead = lead[_skip_group(lead, 1, "<", ">"):]
    while lead[:2] == ["[", "["]:
        lead = lead[_skip_group(lead, 0, "[", "]"):]
    first = lead[0] if lead else ""
    if first in ("namespace", "inline") and "namespace" in lead[:2]:
        return "scope", ""
    if first == "extern" and "(" not in lead:
        return "scope", ""
    if first in ("enum",):
        return "init", ""
    found = parameter_list(toks)
    if found is None or _top_level_assignment(toks):
        is_class = first in ("class", "struct", "union") and found is None and not _top_level_assignment(toks)
        return ("scope", _class_name(lead)) if is_class else ("init", "")
    open_paren, name = found
    tail = toks[_skip_group(toks, open_paren, "(", ")"):]
    if ":" in tail and toks[-1] not in (")", "}"):
        return "inside", ""  # Foo() : member_{...}: a member initializer's brace
    return "function", name


def _class_name(lead):
    """The name in `struct [[attr]] alignas(N) Name final : Base`."""
    k = 1
    while k < len(lead):
        if lead[k] == "alignas":
            k = _skip_group(lead, k + 1, "(", ")")
        elif lead[k] == "[":
            k = _skip_group(lead, k, "[", "]")
        elif IDENT.fullmatch(lead[k]):
            return lead[k]
        else:
            k += 1
    return ""


def _matching_brace(code, i):
    """Index of the '}' closing the '{' at code[i], or -1."""
    depth = 0
    for k in range(i, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1


class UnbalancedBraces(Exception):
    def __init__(self, line):
        super().__init__(f"unbalanced braces from line {line}")
        self.line = line


def functions(text):
    """Every function defined in C++ source text, with its first and last line."""
    code = blank_non_code(text)
    newlines = [k for k, c in enumerate(code) if c == "\n"]

    def line_of(index):
        return bisect.bisect_left(newlines, index) + 1

    found = []
    scopes = []  # (kind, class name or "") of the braces open around the position
    header_start = 0
    i = 0
    while i < len(code):
        c = code[i]
        kind_here = scopes[-1][0] if scopes else "scope"
        if c == ";" or (c == "," and kind_here == "init"):
            header_start = i + 1
        elif c == "}":
            if not scopes:
                raise UnbalancedBraces(line_of(i))
            scopes.pop()
            header_start = i + 1
        elif c == "{":
            access = ACCESS.match(code, header_start, i)
            while access:
                header_start = access.end()
                access = ACCESS.match(code, header_start, i)
            header = code[header_start:i]
            kind, name = classify(header, kind_here)
            if kind in ("function", "lambda", "inside"):
                end = _matching_brace(code, i)
                if end < 0:
                    raise UnbalancedBraces(line_of(i))
                if kind != "inside":
                    first = header_start + len(header) - len(header.lstrip())
                    owners = [n for k, n in scopes if k == "class" and n]
                    qualified = "::".join(owners + [name]) if kind == "function" else name
                    found.append(Function(qualified, line_of(first), line_of(end)))
                i = end + 1
                if kind == "function":  # a lambda's or a member initializer's header goes on
                    header_start = i
                continue
            scopes.append(("class", name) if kind == "scope" and name else (kind, ""))
            header_start = i + 1
        i += 1
    if scopes:
        raise UnbalancedBraces(line_of(len(code)))
    return found


# -- Step 3: the check -------------------------------------------------------------------------------

def source_files(root, paths):
    for path in paths:
        full = os.path.join(root, path)
        if os.path.isfile(full):
            yield os.path.relpath(full, root)
            continue
        for folder, dirs, files in os.walk(full):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(SUFFIXES):
                    yield os.path.relpath(os.path.join(folder, f), root)


def check(root, paths=("src",), limit=LIMIT, allowed=None):
    """The findings for the C++ files under root/paths, in file and line order."""
    allowed = ALLOWED if allowed is None else allowed
    findings = []
    seen = set()
    for rel in source_files(root, paths):
        rel = rel.replace(os.sep, "/")
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        try:
            defined = functions(text)
        except UnbalancedBraces as e:
            findings.append(Finding(rel, e.line, f"cannot be scanned ({e}): "
                                    "check the braces, or a preprocessor branch that opens one twice"))
            continue
        for fn in defined:
            seen.add((rel, fn.name))
            if fn.lines > limit and (rel, fn.name) not in allowed:
                findings.append(Finding(rel, fn.first_line,
                                        f"{fn.name} is {fn.lines} lines (limit {limit}): split it"))
        scanned_names = {name for path, name in allowed if path == rel}
        for name in sorted(scanned_names - {n for p, n in seen if p == rel}):
            findings.append(Finding(rel, 1, f"allowed function {name} is not defined here any more: "
                                    "update ALLOWED in tests/style/function_length.py"))
    return findings


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")),
                        help="the checkout (default: the one holding this script)")
    parser.add_argument("--limit", type=int, default=LIMIT, help="longest function allowed, in lines")
    parser.add_argument("paths", nargs="*", default=["src"], help="files or folders under --root")
    args = parser.parse_args(argv)
    findings = check(args.root, args.paths, args.limit)
    for f in findings:
        print(f)
    if findings:
        print(f"{len(findings)} function(s) over {args.limit} lines; split them into named steps "
              "(the allowed ones: ALLOWED in tests/style/function_length.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
