"""A failure that names what the code lacks: the tests need a name that no source file mentions.

Python's collection error (`cannot import name 'to_json' from 'inventory'`) and Node's call of an
export that is undefined (`TypeError: createServer is not a function`) say plainly what is wrong
when the name is one the goal or the plan declares and the code never writes it: the code must
define it. Such a test file is not broken (`selection.agreement` does not send it back to the
tester), and the reflector states the diagnosis itself: a small model reads the message as a path
or installation problem ("the module is not installed") and its fix plan leaves the name out again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

_MISSING_NAME = re.compile(
    r"cannot import name '(?P<py>[A-Za-z_]\w*)' from '(?P<module>[\w.]+)'"
    r"|TypeError: (?:\(0 , [\w.$]+\.)?(?P<js>[A-Za-z_$][\w$]*)\)? is not a function"
)


def name_the_code_lacks(
    message: str, files: Mapping[str, str], source_suffix: str, declared: Collection[str]
) -> tuple[str, str] | None:
    """(name, source file) when `message` says a declared name is missing and no source file
    mentions it at all; the file is the module the message names, else the first source file."""
    found = _MISSING_NAME.search(message)
    sources = sorted(path for path in files if path.endswith(source_suffix))
    if found is None or not sources:
        return None
    name = found.group("py") or found.group("js")
    mentioned = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    if name not in declared or any(mentioned.search(files[path]) for path in sources):
        return None
    module = found.group("module")
    named = [
        path for path in sources if module and path.removesuffix(source_suffix).replace("/", ".") == module
    ]
    return name, (named or sources)[0]
