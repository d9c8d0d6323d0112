"""A sample value of the type each Hypothesis strategy of a property test draws, by parameter.

`@given(st.lists(st.integers()))` feeding `sort_matrix(M: List[List[int]])` passes flat lists of
ints to a function declared to take rows: no correct version passes it, and versions that agree
with each other all fail it, so the loop would spend its iterations bending the code towards it. A
literal sample of what a strategy draws
lets `signature_check` judge such a test as it judges literal arguments. Only strategies whose type
is certain give a sample; `map`, `one_of`, `builds`, composites and the like give none.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from agent_graph.roles import literal_value
from agent_graph.sandbox.return_types_conftest import type_name


class _UnknownTypeError(Exception):
    """A strategy whose drawn type is not certain."""


@dataclass(frozen=True)
class Drawn:
    """A value of the type a test parameter is drawn as, and the strategy's source."""

    sample: Any
    strategy: str


def drawn_samples(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Drawn]:
    """The parameters a `@given(...)` decorator draws with known strategies and the test never
    rebinds. Positional strategies fill the test's rightmost parameters, as Hypothesis does."""
    parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
    rebound = {
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    for decorator in function.decorator_list:
        if not (isinstance(decorator, ast.Call) and type_name(decorator.func) == "given"):
            continue
        pairs = list(zip(parameters[len(parameters) - len(decorator.args) :], decorator.args, strict=False))
        pairs += [(k.arg, k.value) for k in decorator.keywords if k.arg is not None]
        samples: dict[str, Drawn] = {}
        for name, strategy in pairs:
            if name in rebound:
                continue
            try:
                samples[name] = Drawn(sample(strategy), ast.unparse(strategy))
            except _UnknownTypeError:
                continue
        return samples
    return {}


# Strategies drawing one scalar type, and a value of it (0.5: a float that is not also an int).
_SCALARS: dict[str, Any] = {
    "integers": 0,
    "floats": 0.5,
    "booleans": True,
    "text": "a",
    "characters": "a",
    "from_regex": "a",
    "binary": b"a",
    "none": None,
}


def sample(strategy: ast.expr) -> Any:
    """A value of the type `strategy` draws; `_UnknownTypeError` when that type is not certain."""
    if not isinstance(strategy, ast.Call):
        raise _UnknownTypeError
    name = type_name(strategy.func)
    if name == "filter" and isinstance(strategy.func, ast.Attribute):
        return sample(strategy.func.value)  # filtering keeps the type
    if name in _SCALARS:
        return _SCALARS[name]
    if name == "just" and strategy.args:
        return _literal(strategy.args[0])
    if name == "sampled_from" and strategy.args:
        options = _literal(strategy.args[0])
        if isinstance(options, list | tuple) and options:
            return options[0]
        raise _UnknownTypeError
    if name == "tuples":
        return tuple(sample(argument) for argument in strategy.args)
    if name in ("lists", "sets", "frozensets"):
        element = sample(_argument(strategy, 0, "elements"))
        if name == "lists":
            return [element]
        try:
            return {element} if name == "sets" else frozenset({element})
        except TypeError:  # an unhashable sample: Hypothesis would refuse the strategy anyway
            raise _UnknownTypeError from None
    if name == "dictionaries":
        key, value = sample(_argument(strategy, 0, "keys")), sample(_argument(strategy, 1, "values"))
        try:
            return {key: value}
        except TypeError:
            raise _UnknownTypeError from None
    raise _UnknownTypeError


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr:
    """A call's argument by position or keyword; `_UnknownTypeError` when it has neither."""
    if len(call.args) > position:
        return call.args[position]
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    raise _UnknownTypeError


def _literal(node: ast.expr) -> Any:
    is_literal, value = literal_value(node)
    if not is_literal:
        raise _UnknownTypeError
    return value
