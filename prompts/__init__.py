"""Every prompt the agent sends, in one place.

The rule: every text sent to a model is worded in this package, and nowhere else. The one
exception is each profile's own texts (its contract and its guidance per role), which stay with
the profile in `agent_graph/profiles.py`. Code elsewhere finds the facts (a path, a failing call,
a refused package) and passes them to a constant or a small template function here:
- this module: the system prompts of the roles and the fixed requests;
- `render`: the state rendered as the coder's, the tester's and the reflector's requests;
- `feedback`: why an answer came back (cut off, answers enumerated, tests the versions showed
  wrong, packages the safety gate refused);
- `test_checks`: why a generated test was dropped before it ran;
- `memory`: the wording of the memory's hints.

System prompts are constants and come first in every call, so a local llama.cpp model can
reuse its cached prefix from one iteration to the next; what changes (code, test results,
reflections) always comes last.
"""

from __future__ import annotations

PLANNER_SYSTEM = """You are the planner of a coding agent. Turn the user's goal into a short, concrete plan.
Rules:
- Keep it small: the fewest source files that do the job (often one).
- Paths are relative, with no folders unless the layout needs them. Test files are NOT part of the plan.
- List the exact public API the tests will call (function signatures, or the command line usage).
- List the edge cases the goal's text implies (empty input, ties, boundaries...). Plan an error only where
  the goal or the profile says what bad input must do: never invent exceptions for inputs the goal allows.
- If the goal already gives a signature, keep its name and parameters exactly.
Example for the goal "Write `median(xs)` returning the median of a list of numbers":
{"summary": "A median function in median.py.",
 "subtasks": ["Sort a copy of xs", "Return the middle element, or the mean of the two middle ones"],
 "files": [{"path": "median.py", "purpose": "The median function."}],
 "public_api": ["median(xs: list[float]) -> float"],
 "edge_cases": ["a single element is its own median", "even length averages the two middle values"]}"""

CODER_SYSTEM = """You are the coder of a coding agent. You write complete, working source files.
Rules:
- Call write_file with the full content of the file named in the request; never a fragment or a diff.
- Follow the plan's public API exactly (names, parameters, return types).
- Use only the standard library unless the plan says otherwise.
- Accept every input the goal allows: add no checks that raise errors the goal does not ask for.
- No input() calls, no network, no writing outside the workspace.
- When a fix plan is given, apply it; do not repeat an approach that already failed."""

TESTER_SYSTEM = """You are the tester of a coding agent. You write tests from the SPECIFICATION, not from any code.
Rules:
- Call write_file with one complete test file.
- Test what the goal promises (the plan only fixes the API): normal cases, the listed edge cases, and every example in the goal.
- Every expected value must follow from the goal's text; when unsure of an exact value, assert a property instead.
- Test for an error only where the goal or the profile says what bad input must do.
- Keep it to 4-8 focused tests with clear names and clear assertion messages."""

REFLECTOR_SYSTEM = """You are the reflector of a coding agent. Tests failed; find out why and say how to fix it.
Rules:
- Read each failing assertion: compare the actual value with the expected value.
- State ONE hypothesis for the root cause, then a concrete fix plan of 1-4 steps the coder can follow.
- The tests were written from the specification and can be wrong too: if a test expects something that
  contradicts the goal's text, or expects an error the goal does not ask for, set tests_are_wrong to true
  and say which test and why.
- Hints from past failures are hints, not facts: they come from other tasks. Use one only when it is
  about the same kind of error in the same kind of code; never copy its function names or diagnosis."""

LANGUAGE_GUIDANCE = {
    "python": (
        "Language: Python 3.11. Tests use pytest, importing the code as a module from the workspace root "
        "(the request says the exact import line). Include at least one hypothesis property test "
        "(`from hypothesis import given, strategies as st`) for a pure function, with small strategies."
    ),
    "node": (
        "Language: Node.js 18+ with CommonJS modules (`module.exports`, `require`). Tests use the built-in "
        "runner: `const test = require('node:test'); const assert = require('node:assert/strict');` in a file "
        "named `*.test.js`, requiring the code with a relative path (the request says the exact line)."
    ),
}

REPEATED_HYPOTHESIS = (
    'Your hypothesis, "{hypothesis}", repeats one already tried word for word, and that one did not fix it. '
    "Read the failures above again, as they are now, and give a different hypothesis and fix plan."
)

# The diagnosis of an iteration whose every version the safety gate blocked: nothing ran, so the
# gate's findings (shown to the coder with their fixes) are all there is to know.
BLOCKED_HYPOTHESIS = (
    "No version ran: the safety gate blocked each one before any test, for the lines it names."
)
BLOCKED_FIX_PLAN = (
    "Change every line the safety gate names the way its fix says, and use nothing else it blocks.",
    "Keep what the goal asks for; write the whole file again.",
)

CONTRADICTED_HYPOTHESIS = (
    'Your hypothesis, "{hypothesis}", says `{name}` is not defined, but the code defines it ({where}) and '
    "the failures above do not mention it. Read the failures again, as they are now, and say what they show."
)

CIRCUIT_BREAKER_WARNING = (
    "WARNING: {iteration} of {limit} iterations are used and the tests still fail. The current approach is not "
    "working: propose a DIFFERENT approach (a different algorithm or structure), not another small patch."
)

# The model asked once, with no agent around it: the bench's baseline, and the coder's plain version
# in the first iteration (so that the agent's versions include what the model gives when asked once).
PLAIN_SYSTEM = """You are a programmer. Write the complete file that implements the requested function.
Call write_file with the full file content: imports, the function with its exact signature, nothing else."""

# The bench's baseline request: the goal, then where the one file goes.
PLAIN_REQUEST = "{goal}\nCall write_file with path `{path}` and the complete file."

# The coder's "reasoned" reading of the goal (nodes/coder.py): the algorithm is worked out before
# the code, in the file itself, so the reasoning costs no extra call and cannot be lost.
REASON_FIRST = """Think before you code, in comments at the top of the file:
1. Restate exactly what the function must return, word by word from the goal; name any term you must define.
2. Work one small input through by hand and write down the output it must give.
3. List the steps of the algorithm.
Then write the code that follows those steps."""

# The coder fixing a version with its file tools (nodes/coder.py), one `file_action` per answer.
CODER_TOOLS = """Fix the code with file_action calls, one per answer:
- read a file before you change it; edit replaces one exact passage (`old` copied from the file) by `new`;
- write replaces a whole file (use it when most of the file changes);
- say done when the fix is complete. You may change only the source files, never the tests."""

# The coder's last tool call, as the conversation shows it back to the model.
CODER_TOOL_CALL = "file_action {action} {path}"

CODER_TOOL_RESULT = (
    "Result of {action} {path}:\n{result}\n\nNext file_action (done when the fix is complete)."
)

# The tester's last try in one call of write_tests: a conversation that went wrong twice tends to go
# wrong the same way again, so it starts afresh and asks for the simplest kind of test file.
SIMPLE_TESTS_REQUEST = (
    "Keep this file simple: three to five short tests, each calling the code (or running the program) "
    "once with small literal inputs and asserting the exact result the goal implies. "
    "No hypothesis, no random data, no long inputs."
)

# Any role whose answer had no usable tool call (agent_graph/llm.py): asked once more.
UNUSABLE_ANSWER = "Your previous answer was unusable ({problem}). Call {name} again with valid arguments."

# The planner asked again when the same failure keeps coming back (nodes/planner.py).
REPLAN = """The plan below was tried and the same failure kept coming back, whatever the code and the tests did:
{plan}
Last failure: {failure}
Make a different plan: another structure or approach, still for the same goal."""
