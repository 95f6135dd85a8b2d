"""tests/style/function_length.py on small synthetic trees: what it measures, skips and allows."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import function_length as fl  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "function_length.py")


def body(n):
    """n statement lines."""
    return "".join(f"    x += {k};\n" for k in range(n))


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_cli(root):
    return subprocess.run([sys.executable, SCRIPT, "--root", str(root)], capture_output=True, text=True)


def lengths(text):
    return {f.name: (f.first_line, f.lines) for f in fl.functions(text)}


def test_finds_a_long_function_and_says_where(tmp_path):
    # signature on line 3, body of 81 statements: 3..85 is 83 lines
    write(tmp_path, "src/a/run.cpp", "#include <x>\n\nint run_job(int x,\n            int y) {\n"
          + body(81) + "    return x;\n}\n\nint short_one() { return 1; }\n")
    r = run_cli(tmp_path)
    assert r.returncode == 1
    assert "src/a/run.cpp:3 run_job is 85 lines (limit 80): split it" in r.stdout
    assert "short_one" not in r.stdout


def test_a_short_file_passes(tmp_path):
    write(tmp_path, "src/ok.hpp", "namespace a {\nstruct S {\n    int f() const { return 1; }\n};\n}\n")
    write(tmp_path, "src/ok.cpp", "int g(int x) {\n" + body(77) + "    return x;\n}\n")  # 80 lines
    r = run_cli(tmp_path)
    assert (r.returncode, r.stdout) == (0, "")


def test_braces_in_strings_comments_and_literals_do_not_count():
    text = ('int f() {\n'
            '    const char* a = "{{{ \\" {";  // }}}\n'
            '    /* { { {\n       */\n'
            '    char c = \'{\'; char d = \'\\\'\';\n'
            '    auto r = R"X(} ")} )X";\n'
            '    auto u = u8R"(})";\n'
            '    int n = 1\'000\'000;\n'
            '#define OPEN {\n'
            '    return n;\n'
            '}\n'
            'int g() { return 2; }\n')
    assert lengths(text) == {"f": (1, 11), "g": (12, 1)}


def test_lambdas_and_local_classes_are_part_of_the_function():
    text = ("void outer() {\n"
            "    struct Local {\n        int m() { return 1; }\n    };\n"
            "    auto l = [&](int a) {\n        return a;\n    };\n"
            "}\n")
    assert lengths(text) == {"outer": (1, 8)}


def test_namespace_and_class_bodies_are_not_functions(tmp_path):
    methods = "".join(f"    int m{k}() const {{ return {k}; }}\n" for k in range(100))
    text = "namespace n {\nclass Big : public Base {\npublic:\n" + methods + "};\n}  // namespace n\n"
    found = lengths(text)
    assert len(found) == 100 and found["Big::m0"] == (4, 1)
    write(tmp_path, "src/big.hpp", text)
    assert fl.check(str(tmp_path), allowed={}) == []


def test_signatures_that_look_like_other_things():
    text = ("template <typename T, int N = 3>\n"
            "T Holder<T>::get(T v = T{}) const noexcept {\n    return v;\n}\n"
            "Foo::Foo(int a) : a_(a), b_{a, 2}, c_{} {\n    run();\n}\n"
            "Foo::~Foo() {\n}\n"
            "bool operator==(const Foo& a, const Foo& b) {\n    return true;\n}\n"
            "int& Foo::operator[](int i) {\n    return v_[i];\n}\n"
            "const std::array<int, 2> table = {1, 2};\n"
            "enum class E { a, b };\n"
            "struct S {\n    char buffer[8]{};\n    int v_{0};\n};\n"
            "extern \"C\" {\nint c_api(void) {\n    return 0;\n}\n}\n"
            "[[maybe_unused]] const bool once = [] {\n    return true;\n}();\n")
    assert lengths(text) == {
        "Holder::get": (1, 4), "Foo::Foo": (5, 3), "Foo::~Foo": (8, 2), "operator==": (10, 3),
        "Foo::operator[]": (13, 3), "c_api": (23, 3), "once": (27, 3)}


def test_the_allowlist_names_file_and_function(tmp_path):
    long_fn = "int eval(int x) {\n" + body(90) + "    return x;\n}\n"
    write(tmp_path, "src/interp.cpp", long_fn)
    write(tmp_path, "src/other.cpp", long_fn)
    findings = fl.check(str(tmp_path), allowed={("src/interp.cpp", "eval"): "the eval loop"})
    assert [str(f) for f in findings] == ["src/other.cpp:1 eval is 93 lines (limit 80): split it"]


def test_an_allowed_function_that_is_gone_is_reported(tmp_path):
    write(tmp_path, "src/interp.cpp", "int renamed() { return 1; }\n")
    findings = fl.check(str(tmp_path), allowed={("src/interp.cpp", "eval"): "the eval loop"})
    assert len(findings) == 1 and "allowed function eval is not defined here any more" in str(findings[0])


def test_unbalanced_braces_are_a_finding_not_a_pass(tmp_path):
    write(tmp_path, "src/bad.cpp", "int f() {\n    if (x) {\n}\n")
    findings = fl.check(str(tmp_path), allowed={})
    assert len(findings) == 1 and "cannot be scanned" in str(findings[0])


@pytest.mark.parametrize("limit,expected", [(3, 1), (4, 0)])
def test_the_limit_is_a_line_count(tmp_path, limit, expected):
    write(tmp_path, "src/f.cpp", "int f() {\n    a();\n    b();\n}\n")
    assert len(fl.check(str(tmp_path), limit=limit, allowed={})) == expected
