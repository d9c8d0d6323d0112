"""Dependency detection and classification: stdlib, local, allowed (allowlist) or needs_approval,
from Python imports, requirements, pyproject, JavaScript imports and package.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agent_graph.errors import UserInputError
from agent_graph.sandbox.dependencies import (
    Allowlist,
    default_allowlist_path,
    detect_dependencies,
    load_allowlist,
    parse_requirement,
)
from agent_graph.sandbox.findings import Dependency
from agent_graph.sandbox.safety import SafetyRules, scan_files

ALLOW = Allowlist(python=frozenset({"pytest", "hypothesis"}), node=frozenset({"left-pad"}))


def by_name(deps: list[Dependency]) -> dict[str, Dependency]:
    return {d.name: d for d in deps}


def classes(deps: list[Dependency]) -> dict[str, str]:
    return {d.name: d.classification for d in deps}


PYTHON_PROJECT = {
    "todo/__init__.py": "",
    "todo/cli.py": (
        "from __future__ import annotations\n"
        "import json, os.path, sqlite3\n"
        "from . import store\n"
        "from .store import load\n"
        "from todo.store import save\n"
        "import yaml\n"
        "import requests.adapters\n"
        "import importlib\n"
        "np = importlib.import_module('numpy.linalg')\n"
    ),
    "todo/store.py": "import csv\n",
    "tests/test_cli.py": "import pytest\nfrom hypothesis import given\nfrom todo.cli import main\nimport helpers\n",
    "tests/helpers.py": "import _pytest\n",
}


def test_python_imports_are_classified() -> None:
    found = classes(detect_dependencies(PYTHON_PROJECT, ALLOW))
    assert found == {
        "__future__": "stdlib",
        "json": "stdlib",
        "os": "stdlib",
        "sqlite3": "stdlib",
        "csv": "stdlib",
        "importlib": "stdlib",
        ".": "local",
        ".store": "local",
        "todo": "local",
        "helpers": "local",
        "pytest": "allowed",  # `import _pytest` is the same distribution
        "hypothesis": "allowed",
        "pyyaml": "needs_approval",  # named by what pip installs, not by the import
        "requests": "needs_approval",
        "numpy": "needs_approval",
    }


def test_a_framework_s_test_client_brings_the_package_it_runs_on() -> None:
    """`fastapi.testclient` needs httpx, which FastAPI's own distribution does not install."""
    for line in ("from fastapi.testclient import TestClient\n", "import starlette.testclient\n"):
        deps = by_name(detect_dependencies({"test_app.py": line}, ALLOW))
        assert deps["httpx"].declared_in == ("test_app.py",) and deps["httpx"].only_in_test_files
    assert "httpx" not in by_name(detect_dependencies({"app.py": "from fastapi import FastAPI\n"}, ALLOW))


def test_each_package_is_one_record_listing_every_file() -> None:
    deps = by_name(detect_dependencies(PYTHON_PROJECT, ALLOW))
    assert deps["pytest"].declared_in == ("tests/helpers.py", "tests/test_cli.py")
    assert deps["todo"].declared_in == ("tests/test_cli.py", "todo/cli.py")


def test_requirements_and_imports_merge_under_the_declared_name() -> None:
    files = {
        "app.py": "import yaml\nimport requests\n",
        "requirements.txt": (
            "# runtime\nPyYAML>=6.0  # for config\nrequests[socks] == 2.31 ; python_version > '3.8'\n"
            "-r dev.txt\n-e .\n--index-url https://example.invalid/simple\n\n"
        ),
        "requirements-dev.txt": "pytest>=8\n",
    }
    deps = by_name(detect_dependencies(files, ALLOW))
    assert set(deps) == {"PyYAML", "requests", "pytest"}
    assert (deps["PyYAML"].version, deps["PyYAML"].declared_in) == (">=6.0", ("app.py", "requirements.txt"))
    assert (deps["requests"].version, deps["requests"].classification) == ("==2.31", "needs_approval")
    assert (deps["pytest"].version, deps["pytest"].classification) == (">=8", "allowed")


def test_a_declared_backport_of_a_stdlib_name_still_needs_approval() -> None:
    # `pip install dataclasses` installs something, even though `import dataclasses` is stdlib.
    deps = by_name(detect_dependencies({"requirements.txt": "dataclasses==0.8\n"}, ALLOW))
    assert deps["dataclasses"].classification == "needs_approval"


def test_pyproject_dependencies() -> None:
    pyproject = """
[project]
name = "todo-cli"
dependencies = ["click>=8", "rich"]
[project.optional-dependencies]
test = ["pytest>=8"]
[dependency-groups]
lint = ["ruff", {include-group = "test"}]
[tool.poetry.dependencies]
python = "^3.11"
httpx = "^0.27"
"""
    files = {"pyproject.toml": pyproject, "tests/test_x.py": "import todo_cli\n"}
    deps = by_name(detect_dependencies(files, ALLOW))
    assert classes(list(deps.values())) == {
        "click": "needs_approval",
        "rich": "needs_approval",
        "pytest": "allowed",
        "ruff": "needs_approval",
        "httpx": "needs_approval",
        "todo_cli": "local",  # the project itself
    }
    assert deps["click"].version == ">=8" and deps["httpx"].version == "^0.27"


def test_parse_requirement_forms() -> None:
    assert parse_requirement("Django >= 4.2, < 5 ; python_version >= '3.10'") == ("Django", ">=4.2,<5")
    assert parse_requirement("pkg @ https://example.invalid/pkg.whl") == (
        "pkg",
        "@https://example.invalid/pkg.whl",
    )
    assert parse_requirement("https://example.invalid/x.zip#egg=thing") == (
        "thing",
        "https://example.invalid/x.zip#egg=thing",
    )
    assert parse_requirement("  # only a comment") is None
    assert parse_requirement("-r other.txt") is None


NODE_PROJECT = {
    "src/index.js": (
        "const fs = require('fs');\n"
        "import path from 'node:path';\n"
        "import { test } from 'node:test';\n"
        "import fp from 'lodash/fp';\n"
        "import sub from '@scope/pkg/sub';\n"
        "const lib = require('./lib');\n"
        "import internal from '#internal/x';\n"
        "import self from 'demo/util';\n"
        "const pad = require('left-pad');\n"
        "const later = await import('chalk');\n"
    ),
    "package.json": json.dumps(
        {"name": "demo", "dependencies": {"lodash": "^4.17.21"}, "devDependencies": {"jest": "^29.0.0"}}
    ),
}


def test_node_imports_and_package_json_are_classified() -> None:
    deps = by_name(detect_dependencies(NODE_PROJECT, ALLOW))
    assert classes(list(deps.values())) == {
        "fs": "stdlib",
        "path": "stdlib",  # node:path and path are the same module
        "node:test": "stdlib",  # only with the prefix: a bare `test` is an npm package
        "lodash": "needs_approval",
        "@scope/pkg": "needs_approval",
        "./lib": "local",
        "#internal/x": "local",
        "demo": "local",  # the package's own name
        "left-pad": "allowed",
        "chalk": "needs_approval",
        "jest": "needs_approval",
    }
    assert deps["lodash"].version == "^4.17.21"
    assert deps["lodash"].declared_in == ("package.json", "src/index.js")
    assert all(d.ecosystem == "node" for d in deps.values())


def test_repository_allowlist_allows_the_test_tools() -> None:
    path = default_allowlist_path()
    assert path is not None and path.name == "allowed_deps.json"
    allowlist = load_allowlist(path)
    assert allowlist.allows("python", "pytest") and allowlist.allows("python", "Hypothesis")
    assert allowlist.allows("python", "flask") and allowlist.allows("node", "express")  # what programs use
    assert not allowlist.allows("python", "numpy")


ROOT = Path(__file__).resolve().parent.parent


def test_the_default_allowlist_ships_inside_the_package(tmp_path: Path) -> None:
    """A wheel (not an editable install) run from a folder without config/ still finds the list."""
    source = tmp_path / "src"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for folder in pyproject["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("agent_graph-*.whl"))
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], check=True
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import json\n"
        "from agent_graph.sandbox.dependencies import default_allowlist_path, load_allowlist\n"
        "path = default_allowlist_path()\n"
        "print(json.dumps([str(path), sorted(load_allowlist().python)]))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
        capture_output=True,
        text=True,
    )
    path, names = json.loads(found.stdout.strip().splitlines()[-1])
    assert path == str(site / "agent_graph" / "config" / "allowed_deps.json")
    shipped = json.loads((ROOT / "config" / "allowed_deps.json").read_text())["python"]
    assert names == sorted(shipped) and {"hypothesis", "pytest"} <= set(names)


def test_a_project_allowlist_and_the_setting_override_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_graph.context import Context, load_context

    shipped = ROOT / "config" / "allowed_deps.json"
    monkeypatch.chdir(tmp_path)
    assert default_allowlist_path() == shipped  # no config/ here
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "allowed_deps.json").write_text('{"python": ["requests"], "node": []}')
    assert default_allowlist_path() == Path("config/allowed_deps.json")
    assert load_allowlist().allows("python", "requests") and not load_allowlist().allows("python", "pytest")
    assert Context().allowed_deps_path() == Path("config/allowed_deps.json")

    named = tmp_path / "team.json"
    named.write_text('{"python": ["numpy"]}')
    context = load_context(environ={"AGENT_GRAPH_ALLOWED_DEPS": str(named)})
    assert context.allowed_deps_path() == named
    result = scan_files(
        {"a.py": "import numpy\nimport requests\n"}, "python", SafetyRules(allowed_deps_path=named)
    )
    assert classes(result.dependencies) == {"numpy": "allowed", "requests": "needs_approval"}


def test_allowlist_file_errors_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        load_allowlist(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserInputError, match="not valid JSON"):
        load_allowlist(bad)
    bad.write_text('{"python": "pytest"}')
    with pytest.raises(UserInputError, match="list of package names"):
        load_allowlist(bad)


def test_scan_uses_the_configured_allowlist(tmp_path: Path) -> None:
    allow = tmp_path / "allowed.json"
    allow.write_text('{"python": ["requests"], "node": []}')
    files = {"app.py": "import requests\nimport pytest\n"}
    result = scan_files(files, "python", SafetyRules(allowed_deps_path=allow))
    assert classes(result.dependencies) == {"requests": "allowed", "pytest": "needs_approval"}
    assert [d.name for d in result.needs_approval] == ["pytest"]
    assert not result.blocked  # a dependency needs a decision, it is not a finding
