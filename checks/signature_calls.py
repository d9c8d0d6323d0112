"""Calls of the goal's function made from its typed signature: a few small values per type.

Versions can agree on every input the generated tests use (weak tests rarely include the case
that tells two readings apart) and still differ elsewhere. Calls made from the signature give
the agreement between versions more inputs to differ on, and a choice when there are no tests.
"""

from __future__ import annotations

import ast

from agent_graph.checks.signature_check import Signature
from agent_graph.sandbox.return_types_conftest import type_name

CALLS = 8
# A few values per type, ordinary ones first: an edge case (an empty list) that versions treat
# differently says little about which of them reads the goal right.
_SCALARS: dict[str, list[object]] = {
    "int": [3, 10, 1, 7, 0, 25, 2, 12],
    "float": [2.5, 10.0, 1.5, 7.25, 0.0, 3.0],
    "str": ["hello world", "Python", "abc", "a b c", "racecar", "x"],
    "bool": [True, False],
    "complex": [1 + 2j, 3j],
    "bytes": [b"abc", b""],
}
_SEQUENCES = {"List": list, "list": list, "Set": set, "set": set, "Sequence": list, "Iterable": list}
_TUPLES = {"Tuple", "tuple"}
_DICTS = {"Dict", "dict", "Mapping"}


def signature_calls(signature: Signature, count: int = CALLS) -> list[str]:
    """Up to `count` distinct calls of the function with values of its parameters' types, as source;
    none when a parameter's type is not one made here, or the function takes *args."""
    if signature.variadic or not signature.parameters:
        return []
    pools = [sample_values(annotation) for _, annotation in signature.parameters]
    if not all(pools):
        return []
    calls: dict[str, None] = {}
    for index in range(count):
        # each parameter steps through its own values at its own pace, so the calls differ
        arguments = [pool[(index * (position + 1)) % len(pool)] for position, pool in enumerate(pools)]
        calls.setdefault(f"{signature.name}({', '.join(repr(a) for a in arguments)})")
    return list(calls)


def sample_values(annotation: ast.expr | None, depth: int = 0) -> list[object]:
    """A few values of the annotated type ([] for a type not made here)."""
    if annotation is None or depth > 2:
        return []
    if not isinstance(annotation, ast.Subscript):
        return list(_SCALARS.get(type_name(annotation), []))
    try:
        return _container_values(annotation, depth)
    except TypeError:  # unhashable items for a set or a dict's keys
        return []


def _container_values(annotation: ast.Subscript, depth: int) -> list[object]:
    outer = type_name(annotation.value)
    inner = list(annotation.slice.elts) if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
    if outer in _TUPLES and len(inner) == 2 and isinstance(inner[1], ast.Constant) and inner[1].value is ...:
        outer, inner = "tuple...", inner[:1]  # Tuple[int, ...]: any length, like a list
    items = [sample_values(node, depth + 1) for node in inner]
    if not items or not all(items):
        return []
    if outer in _SEQUENCES or outer == "tuple...":
        kind = tuple if outer == "tuple..." else _SEQUENCES[outer]
        return [kind(_rotated(items[0], shift, size)) for shift, size in ((0, 4), (2, 3), (1, 5), (3, 1))]
    if outer in _TUPLES:
        return [
            tuple(values[(shift + i) % len(values)] for i, values in enumerate(items)) for shift in range(3)
        ]
    if outer in _DICTS and len(items) == 2:
        keys, values = items
        return [
            {keys[(shift + i) % len(keys)]: values[(shift + i) % len(values)] for i in range(3)}
            for shift in range(3)
        ]
    return []


def _rotated(values: list[object], shift: int, size: int) -> list[object]:
    """`size` values taken round from `values`, starting at `shift` (repeats when there are few)."""
    return [values[(shift + i) % len(values)] for i in range(size)]
