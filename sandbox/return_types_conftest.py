"""Written into a Python task's workspace as `conftest.py`: a call that returns another type than
the goal declares fails the test that made it, saying so.

The goal's typed signature is the user's own specification: `sort_numeric_strings(...) -> List[int]`
returning strings is wrong even when the generated tests expect strings too (they were written by
the same small model, from the same misreading). This file's source is copied as it is, with the
goal's return annotations appended, so it imports nothing but the standard library. Checks are
lenient: an int is a float, a whole float an int, 0 and 1 a bool, and an annotation not understood
accepts everything.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Callable
from typing import Any

# The types a value is judged by; anything else (Callable, Iterable, a user's own class) is not.
_SCALARS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "complex": (int, float, complex),
    "str": (str,),
    "bytes": (bytes,),
    "bool": (bool,),
}
_SEQUENCES = {
    "List": list,
    "list": list,
    "Set": set,
    "set": set,
    "FrozenSet": frozenset,
    "frozenset": frozenset,
}
_TUPLES = {"Tuple", "tuple"}
_DICTS = {"Dict", "dict"}
_UNIONS = {"Union", "Optional"}


# The words of every failure this check raises (the reflector never sets such a test aside).
RETURN_TYPE_FAILURE = "but the goal declares it returns"

# Filled in when the file is written into a workspace: the module under test and, per function, its
# declared return annotation as source text.
MODULE = ""
RETURNS: dict[str, str] = {}


def type_name(node: ast.expr) -> str:
    """`List` for `List`, `typing.List` and `t.List`; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def conforms(value: object, annotation: ast.expr | None) -> bool:
    """Whether a value (a test's literal, or what a call returned) can be, or equal, one of the annotated type.

    Lenient on purpose: an int fits a float, a whole float fits an int (1.0 == 1), 0 and 1 fit a
    bool, and an annotation not understood here accepts everything.
    """
    if annotation is None:
        return True
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return value is None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return conforms(value, annotation.left) or conforms(value, annotation.right)
    if isinstance(annotation, ast.Subscript):
        return _conforms_generic(value, type_name(annotation.value), annotation.slice)
    name = type_name(annotation)
    if name == "None":
        return value is None
    if name in _SCALARS:
        return _conforms_scalar(value, name)
    if name in _SEQUENCES:
        return isinstance(value, _SEQUENCES[name])
    if name in _TUPLES:
        return isinstance(value, tuple)
    if name in _DICTS:
        return isinstance(value, dict)
    return True


def _conforms_scalar(value: object, name: str) -> bool:
    if name == "int" and isinstance(value, float):
        return value.is_integer()
    if name == "bool" and isinstance(value, int):
        return value in (0, 1)
    if name in ("int", "float", "complex") and isinstance(value, bool):
        return True  # True == 1: a comparison with a bool still holds
    return isinstance(value, _SCALARS[name])


def _conforms_generic(value: object, name: str, arguments: ast.expr) -> bool:
    parts = list(arguments.elts) if isinstance(arguments, ast.Tuple) else [arguments]
    if name in _UNIONS:
        return any(conforms(value, part) for part in parts) or (name == "Optional" and value is None)
    if name in _SEQUENCES:
        container = _SEQUENCES[name]
        return isinstance(value, container) and all(conforms(item, parts[0]) for item in value)
    if name in _TUPLES:
        if not isinstance(value, tuple):
            return False
        if len(parts) == 2 and isinstance(parts[1], ast.Constant) and parts[1].value is Ellipsis:
            return all(conforms(item, parts[0]) for item in value)
        if len(parts) == 1 and isinstance(parts[0], ast.Tuple) and not parts[0].elts:
            return value == ()  # Tuple[()]
        return len(value) == len(parts) and all(conforms(v, p) for v, p in zip(value, parts, strict=True))
    if name in _DICTS and len(parts) == 2:
        return isinstance(value, dict) and all(
            conforms(k, parts[0]) and conforms(v, parts[1]) for k, v in value.items()
        )
    return True  # Callable[...], Iterable[...], a user's own generic: not judged


def _checked(function: Callable[..., Any], name: str, returns: str) -> Callable[..., Any]:
    annotation = ast.parse(returns, mode="eval").body

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if not conforms(result, annotation):
            shown = repr(result)
            shown = shown if len(shown) <= 120 else shown[:117] + "..."
            raise TypeError(
                f"{name}() returned {shown} ({type(result).__name__}), {RETURN_TYPE_FAILURE} {returns}"
            )
        return result

    return checked


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """Once the test modules are imported, swap each one's reference to a checked function for a
    checking wrapper (the module's own recursive calls still go to the original)."""
    module = sys.modules.get(MODULE)
    if module is None:
        return  # the tests never imported it: their own errors say why
    wrappers = {}
    for name, returns in RETURNS.items():
        original = getattr(module, name, None)
        if callable(original):
            wrappers[id(original)] = _checked(original, name, returns)
    for test_module in {
        id(m): m for m in (getattr(item, "module", None) for item in items) if m is not None
    }.values():
        for attribute, value in list(vars(test_module).items()):
            if id(value) in wrappers:
                setattr(test_module, attribute, wrappers[id(value)])


def conftest_source(module: str, returns: dict[str, str]) -> str:
    """This file's source, set to check `returns` (function name -> annotation) of `module`."""
    with open(__file__, encoding="utf-8") as handle:
        source = handle.read()
    return f"{source}\n\nMODULE = {module!r}\nRETURNS = {returns!r}\n"
