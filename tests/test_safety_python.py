"""The Python safety gate: the AST scan catches every blocked operation however it is reached,
lets look-alikes through, and Bandit blocks at (and only at) the configured thresholds.

Real parser, real Bandit, real files on disk for the CLI; nothing is faked.
"""

from __future__ import annotations

import json
import keyword
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agent_graph.cli_scan import register, scan_command
from agent_graph.sandbox.findings import Finding, Level
from agent_graph.sandbox.safety import DEFAULT_BLOCK_OPERATIONS, SafetyRules, scan_files, scan_path
from agent_graph.sandbox.scan_python import scan_python_source

OPS = DEFAULT_BLOCK_OPERATIONS


def ast_rules(source: str, ops: tuple[str, ...] = OPS) -> set[tuple[int, str]]:
    return {(f.line, f.rule) for f in scan_python_source(source, "m.py", ops)}


# (source, the (line, rule) that must be found)
BLOCKED = {
    "eval": ("eval('1')", (1, "eval")),
    "exec": ("exec('x = 1')", (1, "exec")),
    "compile": ("code = compile('1', 'f', 'eval')", (1, "compile")),
    "__import__": ("m = __import__('json')", (1, "__import__")),
    "importlib.__import__": ("import importlib\nimportlib.__import__('json')", (2, "__import__")),
    "builtins.eval": ("import builtins\nbuiltins.eval('1')", (2, "eval")),
    "builtins alias": ("import builtins as b\nb.exec('1')", (2, "exec")),
    "from builtins import as": ("from builtins import compile as c\nc('1', 'f', 'exec')", (2, "compile")),
    "__builtins__ attribute": ("__builtins__.eval('1')", (1, "eval")),
    "__builtins__ item": ("__builtins__['exec']('1')", (1, "exec")),
    "getattr builtins": ("import builtins\ngetattr(builtins, 'eval')('1')", (2, "eval")),
    "getattr folded name": ("import builtins\nname = 'ev' + 'al'\ngetattr(builtins, name)('1')", (3, "eval")),
    "getattr joined name": ("getattr(__builtins__, ''.join(['ex', 'ec']))('1')", (1, "exec")),
    "getattr f-string name": ("import builtins\nn = 'al'\ngetattr(builtins, f'ev{n}')('1')", (3, "eval")),
    "globals builtins": ("globals()['__builtins__']['eval']('1')", (1, "eval")),
    "vars(builtins)": ("import builtins\nvars(builtins)['eval']('1')", (2, "eval")),
    "builtins.__dict__": ("import builtins\nbuiltins.__dict__['exec']('1')", (2, "exec")),
    "assigned alias": ("e = eval\nresult = e('1')", (2, "eval")),
    "walrus alias": ("if (e := eval):\n    e('1')", (2, "eval")),
    "conditional alias": ("f = eval if fast else exec\nf('1')", (2, "eval")),
    "loop alias": ("for f in (print, exec):\n    f('1')", (2, "exec")),
    "passed as value": ("results = list(map(eval, rows))", (1, "eval")),
    "alias in function": ("def run(src):\n    import builtins as b\n    return b.eval(src)", (3, "eval")),
    "global alias used in function": ("E = eval\ndef run(src):\n    return E(src)", (3, "eval")),
    "os.system": ("import os\nos.system('ls')", (2, "os.system")),
    "from os import system as": ("from os import system as s\ns('ls')", (2, "os.system")),
    "import os as": ("import os as o\no.system('ls')", (2, "os.system")),
    "getattr os": ("import os\ngetattr(os, 'system')('ls')", (2, "os.system")),
    "sys.modules os": ("import sys\nsys.modules['os'].system('ls')", (2, "os.system")),
    "__import__ os": ("__import__('os').system('ls')", (1, "os.system")),
    "import_module os": ("import importlib\nimportlib.import_module('os').system('ls')", (2, "os.system")),
    "star import os": ("from os import *\nsystem('ls')", (2, "os.system")),
    "posix.system": ("import posix\nposix.system('ls')", (2, "os.system")),
    "os.popen": ("import os\nos.popen('ls')", (2, "os.system")),
    "shell=True": ("import subprocess\nsubprocess.run('ls', shell=True)", (2, "subprocess.shell")),
    "shell alias": ("from subprocess import Popen as P\nP('ls', shell=1)", (2, "subprocess.shell")),
    "shell kwargs dict": (
        "import subprocess\nsubprocess.call('ls', **{'shell': True})",
        (2, "subprocess.shell"),
    ),
    "shell undecidable": (
        "import subprocess\nsubprocess.check_output(cmd, shell=use_shell)",
        (2, "subprocess.shell"),
    ),
    "shell partial": (
        "import functools, subprocess\nrun = functools.partial(subprocess.run, shell=True)",
        (2, "subprocess.shell"),
    ),
    "shell positional": (
        "import subprocess\nsubprocess.Popen('ls', -1, None, None, None, None, None, True, True)",
        (2, "subprocess.shell"),
    ),
    "getoutput": ("import subprocess\nsubprocess.getoutput('ls')", (2, "subprocess.shell")),
    "pickle.loads": ("import pickle\npickle.loads(blob)", (2, "pickle.loads")),
    "pickle.load alias": ("from pickle import load as ld\nld(handle)", (2, "pickle.loads")),
    "marshal.loads": ("import marshal\nmarshal.loads(blob)", (2, "pickle.loads")),
    # Order matters in a module: the builtin is what runs until a shadowing binding certainly has.
    "self-assignment": ("eval = eval\neval('x')", (2, "eval")),
    "used before a later def": ("eval('x')\n\ndef eval(x):\n    return x", (1, "eval")),
    "function runs before the def": (
        "def f():\n    return eval('x')\n\nf()\n\ndef eval(x):\n    return x",
        (2, "eval"),
    ),
    "def then del": ("def eval(x):\n    return x\n\ndel eval\neval('x')", (5, "eval")),
    "def only in a branch": ("if fast:\n    def eval(x):\n        return x\neval('x')", (4, "eval")),
    "import in try": (
        "try:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\npickle.loads(b)",
        (5, "pickle.loads"),
    ),
    "computed getattr on builtins": (
        "import builtins\nf = getattr(builtins, input())",
        (2, "dynamic-lookup"),
    ),
    "computed item on builtins": ("import builtins\nf = vars(builtins)[input()]", (2, "dynamic-lookup")),
}


@pytest.mark.parametrize(("source", "expected"), BLOCKED.values(), ids=BLOCKED.keys())
def test_blocked_operation_is_found(source: str, expected: tuple[int, str]) -> None:
    assert expected in ast_rules(source)


BENIGN = {
    "method named eval": "class Model:\n    def eval(self):\n        return 1\n\nModel().eval()\nobj.exec()",
    "words in strings": "x = 'exec this, then eval that and compile'\nprint('os.system')",
    "look-alike names": "compile_x = 1\nevaluate = 2\nexecutor = compile_x + evaluate",
    "re.compile": "import re\npattern = re.compile('a+')",
    "local def shadows": "def eval(x):\n    return x\n\neval(1)",
    "parameter shadows": "def build(compile):\n    return compile(1)",
    "class attribute": "class A:\n    compile = None\n    value = compile",
    "keyword arguments": "configure(eval=True, exec=False)",
    "attribute store": "obj.eval = 1\nobj.system = 2",
    "shell off": "import subprocess\nsubprocess.run(['ls'], shell=False)\nsubprocess.run(['ls'], check=True)",
    "relative os module": "from .os import system\nsystem()",
    "json and ast": "import ast, json\njson.loads('1')\nast.literal_eval('1')",
    "other os functions": "import os\nos.path.join('a', 'b')\nos.getcwd()",
    "getattr on own object": "value = getattr(config, name)\nother = getattr(self, 'eval')",
    "pickle.dumps": "import pickle\nblob = pickle.dumps({})",
}


@pytest.mark.parametrize("source", BENIGN.values(), ids=BENIGN.keys())
def test_benign_look_alike_is_not_flagged(source: str) -> None:
    assert scan_python_source(source, "m.py", OPS) == []


def test_only_configured_operations_block() -> None:
    source = "import os, shutil\neval('1')\nexec('2')\nos.system('ls')\nshutil.rmtree('/x')"
    assert ast_rules(source, ("exec",)) == {(3, "exec")}
    # Any dotted name works, through aliases like the built-in rules.
    assert ast_rules("from shutil import rmtree as r\nr('/x')", ("shutil.rmtree",)) == {(2, "shutil.rmtree")}
    assert ast_rules(source, ()) == set()


def test_syntax_error_is_a_blocking_parse_finding() -> None:
    [finding] = scan_python_source("def f(:\n    pass\n", "bad.py", OPS)
    assert (finding.rule, finding.source, finding.line, finding.blocking) == ("syntax", "parse", 1, True)


def test_finding_message_names_the_alias() -> None:
    [finding] = scan_python_source("from os import system as s\ns('ls')", "m.py", OPS)
    assert "os.system" in finding.message and "`s`" in finding.message
    assert finding.fix


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_findings_not_exceptions(source: str) -> None:
    for finding in scan_python_source(source, "fuzz.py", OPS):
        assert isinstance(finding, Finding)


identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n)
)


@settings(max_examples=60, deadline=None)
@given(name=identifiers)
def test_methods_and_strings_are_never_findings_whatever_their_name(name: str) -> None:
    # Covers eval, exec, compile and every other name: a method or a word is not an operation.
    source = f"class C:\n    def {name}(self):\n        return '{name}'\n\nC().{name}()\nobj.{name}(1)\n"
    assert scan_python_source(source, "m.py", OPS) == []


# --- Bandit, through the gate's entry point ----------------------------------------------------


def bandit_findings(
    source: str, path: str = "app.py", severity: Level = "medium", confidence: Level = "medium"
) -> list[Finding]:
    rules = SafetyRules(bandit_severity=severity, bandit_confidence=confidence)
    return [f for f in scan_files({path: source}, "python", rules).findings if f.source == "bandit"]


YAML_LOAD = "import yaml\n\ndef read(text):\n    return yaml.load(text)\n"  # B506: medium severity


def test_bandit_finding_at_threshold_blocks() -> None:
    [finding] = bandit_findings(YAML_LOAD)
    assert (finding.rule, finding.line, finding.severity, finding.blocking) == ("B506", 4, "medium", True)
    assert scan_files({"app.py": YAML_LOAD}, "python").blocked


def test_bandit_finding_below_threshold_is_reported_but_does_not_block() -> None:
    [finding] = bandit_findings(YAML_LOAD, severity="high")
    assert finding.rule == "B506" and not finding.blocking
    assert not scan_files({"app.py": YAML_LOAD}, "python", SafetyRules(bandit_severity="high")).blocked


def test_bandit_low_severity_blocks_only_with_a_low_threshold() -> None:
    source = "import random\n\ndef roll():\n    return random.random()\n"  # B311: low severity
    assert [f.blocking for f in bandit_findings(source) if f.rule == "B311"] == [False]
    assert [f.blocking for f in bandit_findings(source, severity="low") if f.rule == "B311"] == [True]


def test_bandit_confidence_threshold() -> None:
    source = "import requests\n\ndef get(url):\n    return requests.get(url)\n"  # B113: confidence low
    assert [f.blocking for f in bandit_findings(source) if f.rule == "B113"] == [False]
    low = bandit_findings(source, confidence="low")
    assert [f.blocking for f in low if f.rule == "B113"] == [True]


def test_nosec_comments_do_not_silence_bandit() -> None:
    source = "import yaml\n\ndef read(text):\n    return yaml.load(text)  # nosec\n"
    assert [f.rule for f in bandit_findings(source)] == ["B506"]


def test_asserts_are_fine_in_tests_but_reported_elsewhere() -> None:
    source = "def check(x):\n    assert x\n"
    assert bandit_findings(source, "tests/test_check.py") == []
    assert [(f.rule, f.blocking) for f in bandit_findings(source, "check.py")] == [("B101", False)]


def test_bandit_does_not_repeat_an_ast_finding() -> None:
    result = scan_files({"app.py": "def f(x):\n    return eval(x)\n"}, "python")
    assert [(f.source, f.rule) for f in result.findings] == [("ast", "eval")]


def test_unparseable_file_is_one_syntax_finding_and_bandit_skips_it() -> None:
    result = scan_files({"bad.py": "def f(:\n", "ok.py": "x = 1\n"}, "python")
    assert [(f.path, f.rule) for f in result.findings] == [("bad.py", "syntax")]


# --- the result the graph uses -----------------------------------------------------------------


def test_feedback_lists_each_blocking_finding_with_line_rule_and_fix() -> None:
    files = {
        "app.py": "import os\n\ndef run(cmd):\n    os.system(cmd)\n",
        "tests/test_app.py": "from app import run\n\ndef test_run():\n    eval('run')\n",
    }
    result = scan_files(files, "python")
    assert result.blocked
    feedback = result.feedback()
    assert "app.py:4 os.system: `os.system` is blocked — fix: " in feedback
    assert "tests/test_app.py:4 eval: `builtins.eval` is blocked — fix: " in feedback


def test_clean_code_is_not_blocked_and_has_no_feedback() -> None:
    result = scan_files({"app.py": "def add(a, b):\n    return a + b\n"}, "python")
    assert not result.blocked and result.feedback() == "" and result.files == ("app.py",)


def test_javascript_file_in_a_python_task_is_still_scanned() -> None:
    result = scan_files({"app.py": "x = 1\n", "helper.js": "eval(x)\n"}, "python")
    assert [(f.path, f.rule) for f in result.findings] == [("helper.js", "eval")]


def test_extensionless_python_script_is_scanned() -> None:
    result = scan_files({"bin/tool": "#!/usr/bin/env python3\nexec(input())\n"}, "python")
    assert [(f.path, f.line, f.rule) for f in result.findings] == [("bin/tool", 2, "exec")]


def test_rules_reject_unknown_thresholds() -> None:
    from agent_graph.errors import UserInputError

    extreme: Any = "extreme"  # what a hand-edited settings file could hold
    with pytest.raises(UserInputError, match="bandit_severity"):
        SafetyRules(bandit_severity=extreme)


def test_rules_from_the_run_context() -> None:
    from agent_graph.context import Context

    rules = SafetyRules.from_context(Context(block_operations=("eval",), bandit_severity="high"))
    assert rules.block_operations == ("eval",) and rules.bandit_severity == "high"


# --- scanning paths and the CLI ----------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "core.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_core.py").write_text(
        "from pkg.core import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    (tmp_path / "node_modules").mkdir()  # never scanned
    (tmp_path / "node_modules" / "x.js").write_text("eval(1)\n")
    return tmp_path


def test_scan_path_walks_a_folder(project: Path) -> None:
    result = scan_path(project)
    assert result.language == "python" and not result.blocked
    assert result.files == ("pkg/core.py", "tests/test_core.py")


def test_scan_command_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = SafetyRules()
    assert scan_command(project, None, False, rules) == 0
    (project / "pkg" / "run.py").write_text("import subprocess\nsubprocess.run('ls', shell=True)\n")
    assert scan_command(project, "python", False, rules) == 1
    out = capsys.readouterr().out
    assert "pkg/run.py:2" in out and "subprocess.shell" in out and "blocked" in out
    assert scan_command(project / "missing", None, False, rules) == 2
    assert scan_command(project, "ruby", False, rules) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "language 'ruby' is unknown" in err


def test_scan_command_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pkg" / "run.py").write_text("import pickle\npickle.loads(b'')\n")
    assert scan_command(project / "pkg" / "run.py", None, True, SafetyRules()) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["blocked"] is True
    assert [(f["path"], f["line"], f["rule"]) for f in data["findings"] if f["blocking"]] == [
        ("run.py", 2, "pickle.loads")
    ]


def test_typer_command_uses_the_settings(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands, so `scan` is a subcommand as in agent-graph
    (project / "pkg" / "run.py").write_text("eval('1')\n")
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(project), "-l", "python"]).exit_code == 1
    # The settings decide what blocks: with only `exec` blocked, eval passes the AST gate.
    monkeypatch.setenv("AGENT_GRAPH_BLOCK_OPERATIONS", "exec")
    monkeypatch.setenv("AGENT_GRAPH_BANDIT_SEVERITY", "high")
    assert runner.invoke(app, ["scan", str(project), "--json"]).exit_code == 0
