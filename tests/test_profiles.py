"""Profiles: one place says how each kind of program is exercised, and its test skeletons are ones the
safety gate lets through and the sandbox runs green against a working program."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_graph.errors import UserInputError
from agent_graph.languages import adapter_for
from agent_graph.profiles import LANGUAGES, PROFILES, profile_for
from agent_graph.sandbox.base import Sandbox
from agent_graph.sandbox.dependencies import default_allowlist_path, load_allowlist
from agent_graph.sandbox.safety import scan_files
from agent_graph.sandbox.scan_node import parse_js, runs_program
from agent_graph.sandbox.scan_python import python_test_runs_program
from tests.sandbox_support import BACKENDS, sandbox_fixture, write_files


def test_every_profile_says_its_contract_and_guides_both_roles_in_both_languages() -> None:
    assert set(PROFILES) == {"library", "cli_tool", "web_app", "data_pipeline"}
    for profile in PROFILES.values():
        assert profile.summary and "\n" not in profile.summary
        assert profile.contract.startswith(f"Profile {profile.name}.")
        for language in LANGUAGES:
            for role in ("coder", "tester"):
                text = profile.guidance(role, language, program=f"prog{adapter_for(language).source_suffix}")
                assert text and "{program}" not in text and "{module}" not in text
                assert len(text) < 1200, f"{profile.name} {role} {language} is too long for a small model"
            assert "skeleton:\n" in profile.tester[language].lower()
    assert {p.name for p in PROFILES.values() if p.runs_program} == {"cli_tool", "data_pipeline"}


def test_the_placeholders_take_the_plan_s_main_file() -> None:
    text = profile_for("cli_tool").guidance("tester", "python", program="todo.py")
    assert "'todo.py')" in text and "subprocess.run([sys.executable, PROGRAM, *args]" in text
    text = profile_for("web_app").guidance("tester", "node", module="server")
    assert "require('./server.js')" in text and "listen(0" in text
    assert "from app import app" in profile_for("web_app").guidance("tester", "python", program="app.py")


@pytest.mark.parametrize(
    ("goal", "client", "other"),
    [
        ("Create a Flask REST API for books.", "return app.test_client()", "TestClient"),
        ("Create a FastAPI service for books.", "return TestClient(app)", "test_client"),
    ],
)
def test_a_web_goal_naming_one_framework_shows_the_tester_only_its_test_client(
    goal: str, client: str, other: str
) -> None:
    """Shown both clients, a small model drives a Flask app with FastAPI's (which cannot call it)."""
    text = profile_for("web_app").guidance("tester", "python", program="app.py", goal=goal)
    assert client in text and other not in text
    skeleton = _skeleton(text)
    scan = scan_files({"test_app.py": skeleton, "app.py": ""}, "python")
    assert not scan.blocked and not scan.needs_approval, scan.feedback()
    either = profile_for("web_app").guidance(
        "tester", "python", program="app.py", goal="A REST API for books."
    )
    assert "app.test_client()" in either and "TestClient(app)" in either
    # the Node text does not depend on the framework named
    node = profile_for("web_app").guidance("tester", "node", program="server.js", goal=goal)
    assert node == profile_for("web_app").guidance("tester", "node", program="server.js")


def test_program_texts_for_python_hold_no_double_quote() -> None:
    """A double quote written unescaped inside write_file's content ends the file there; a small model
    copies the quotes of the text it is shown."""
    for name in ("cli_tool", "web_app", "data_pipeline"):
        for role in ("coder", "tester"):
            text = profile_for(name).guidance(role, "python", program="main.py")
            assert '"' not in text and "single quotes" in text, (name, role)


def test_an_unknown_profile_is_one_sentence_and_exit_code_2() -> None:
    assert profile_for(None).name == "library"
    with pytest.raises(UserInputError) as caught:
        profile_for("gui_app")
    message = str(caught.value)
    assert message.count(".") == 1 and "gui_app" in message and "cli_tool" in message
    assert caught.value.exit_code == 2


def test_the_cli_refuses_an_unknown_profile_in_one_sentence(agent_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent_graph.cli", "run", "--task", "a tool", "--profile", "gui_app"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    said = (result.stderr + result.stdout).strip()
    assert "gui_app" in said and "Traceback" not in said and len(said.splitlines()) <= 2


def test_the_dependencies_a_profile_expects_are_on_the_shipped_allowlist() -> None:
    path = default_allowlist_path()
    assert path is not None
    allowlist = load_allowlist(path)
    for profile in PROFILES.values():
        for language, names in profile.dependencies.items():
            for name in names:
                assert allowlist.allows("python" if language == "python" else "node", name), (
                    profile.name,
                    name,
                )
    assert {"flask", "fastapi", "httpx", "click", "typer"} <= allowlist.python


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_tester_skeleton_passes_the_gate_and_program_skeletons_run_the_program(
    name: str, language: str
) -> None:
    profile = profile_for(name)
    adapter = adapter_for(language)
    program = f"prog{adapter.source_suffix}"
    skeleton = _skeleton(profile.guidance("tester", language, program=program))
    test_file = adapter.test_path("prog")
    scan = scan_files({test_file: skeleton, program: ""}, language)  # type: ignore[arg-type]
    assert not scan.blocked, scan.feedback()
    assert not scan.needs_approval  # the standard library, the program, and allowlisted packages
    if profile.runs_program:
        runs = (
            python_test_runs_program(skeleton)
            if language == "python"
            else runs_program(parse_js(skeleton, test_file))
        )
        assert runs


def _skeleton(guidance: str) -> str:
    """The code of a guidance text: everything after its `Skeleton:` line, up to a closing note."""
    code = guidance.split("keleton:\n", 1)[1]  # "Skeleton:" or "Flask skeleton:"
    return code.split("\nFastAPI:", 1)[0] + "\n"


# --- the command-line skeletons, filled in, run green in the real sandbox -------------------------

PY_PROGRAM = """import sys


def main():
    args = sys.argv[1:]
    if args == ["command", "arg"]:
        print("expected output")
        return
    print(f"unknown command: {' '.join(args)}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
"""
JS_PROGRAM = """function main() {
  const args = process.argv.slice(2);
  if (args.join(' ') === 'command arg') {
    console.log('expected output');
    return;
  }
  console.error(`unknown command: ${args.join(' ')}`);
  process.exit(1);
}

if (require.main === module) {
  main();
}
"""


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    yield from sandbox_fixture(request, "test-profiles")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_cli_tool_skeleton_runs_the_program_in_the_sandbox(
    sandbox: Sandbox, tmp_path: Path, language: str
) -> None:
    adapter = adapter_for(language)
    program = f"prog{adapter.source_suffix}"
    skeleton = _skeleton(profile_for("cli_tool").guidance("tester", language, program=program))
    write_files(
        tmp_path,
        {program: PY_PROGRAM if language == "python" else JS_PROGRAM, adapter.test_path("prog"): skeleton},
    )
    report = sandbox.run_tests(tmp_path, language)  # type: ignore[arg-type]
    assert report.status == "passed" and report.passed == 2, report


STATEFUL_PY = """import sys
from pathlib import Path

if sys.argv[1] == "save":
    Path("state.txt").write_text(sys.argv[2])
else:
    print(Path("state.txt").read_text())
"""
STATEFUL_JS = """const fs = require('node:fs');

const [command, value] = process.argv.slice(2);
if (command === 'save') {
  fs.writeFileSync('state.txt', value);
} else {
  console.log(fs.readFileSync('state.txt', 'utf8'));
}
"""
STATE_TESTS = {
    "python": "\ndef test_state(tmp_path):\n    run(tmp_path, 'save', 'x')\n    assert run(tmp_path, 'load').stdout == 'x\\n'\n",
    "node": (
        "\ntest('state', () => {\n"
        "  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-'));\n"
        "  run(dir, ['save', 'x']);\n"
        "  assert.equal(run(dir, ['load']).stdout, 'x\\n');\n"
        "});\n"
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_program_skeleton_s_runs_in_one_test_share_its_folder(
    sandbox: Sandbox, tmp_path: Path, language: str
) -> None:
    """A program keeping data in its folder (a TODO list in JSON) is run several times by one test:
    the skeleton's `run` helper takes that test's folder, so the second run reads what the first wrote."""
    adapter = adapter_for(language)
    program = f"prog{adapter.source_suffix}"
    for profile in ("cli_tool", "data_pipeline"):
        skeleton = _skeleton(profile_for(profile).guidance("tester", language, program=program))
        only_state = skeleton.split("\ndef test_" if language == "python" else "\ntest(")[0]
        files = {
            program: STATEFUL_PY if language == "python" else STATEFUL_JS,
            adapter.test_path("prog"): only_state + STATE_TESTS[language],
        }
        report = sandbox.run_tests(write_files(tmp_path / profile, files), language)  # type: ignore[arg-type]
        assert report.status == "passed" and report.passed == 1, (profile, report)
