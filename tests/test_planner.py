"""The planner's plan is normalised against the goal: usable file paths, and the goal's declared API."""

from __future__ import annotations

from agent_graph.nodes.planner import with_declared_api

EXTRACT_EVEN_GOAL = '''Implement the function `extract_even` in the file `extract_even.py`, keeping exactly this signature:

from typing import Tuple, Any

def extract_even(test_tuple: Tuple[int, int, Tuple[int, int, Tuple[int, int]], int, int]) -> Any:
    """
\tWrite a function to remove uneven elements in the nested mixed tuple.
\t"""
'''


def test_a_declared_function_the_plan_misstates_is_stated_as_the_goal_declares_it() -> None:
    # The 1.5B planner's copy in an MBPP run: one closing bracket short, so it reads as three parameters.
    misstated = "extract_even(test_tuple: Tuple[int, int, Tuple[int, int, Tuple[int, int]], int, int) -> Any"
    api = with_declared_api([misstated, "is_even(n: int) -> bool"], EXTRACT_EVEN_GOAL)
    assert api == [
        "extract_even(test_tuple: Tuple[int, int, Tuple[int, int, Tuple[int, int]], int, int]) -> Any",
        "is_even(n: int) -> bool",
    ]


def test_a_declared_function_the_plan_left_out_is_added_with_its_defaults() -> None:
    goal = "Write `def top(words: list[str], n: int = 3) -> list[str]:` returning the n most common words."
    assert with_declared_api([], goal) == ["top(words: list[str], n: int=3) -> list[str]"]


def test_without_declared_functions_the_plans_api_stays() -> None:
    api = ["add(title: str) -> int", "done(item_id: int) -> None"]
    assert with_declared_api(api, "Build a CLI tool for managing TODO items stored in JSON.") == api


INVENTORY_GOAL = (
    "Write inventory.py with a class `Inventory`. `Inventory()` starts empty. `add(item, qty, price)` adds "
    "stock. `remove(item, qty)` takes it away. `quantity(item)` returns the quantity. `total_value()` sums "
    "qty*price. `low_stock(threshold)` names items below it. `to_json()` returns a JSON string and "
    "`Inventory.from_json(s)` rebuilds an equal inventory. Run it as `python inventory.py demo`."
)


def test_calls_the_goal_names_that_the_plans_six_lines_left_out_are_added_as_the_goal_writes_them() -> None:
    # the planner's schema holds six API lines: a class with eight calls loses the last two
    six = [
        "Inventory() -> None",
        "add(item: str, qty: int, price: float) -> None",
        "remove(item: str, qty: int) -> None",
        "quantity(item: str) -> int",
        "total_value() -> float",
        "low_stock(threshold: int) -> list[str]",
    ]
    assert with_declared_api(six, INVENTORY_GOAL) == [*six, "to_json()", "Inventory.from_json(s)"]


def test_a_call_the_goal_writes_twice_or_the_plan_already_names_is_listed_once() -> None:
    goal = "`parse(text)` reads CSV; `parse(text)` again. Export `stringify(rows)` too."
    assert with_declared_api(["parse(text: str) -> list"], goal) == [
        "parse(text: str) -> list",
        "stringify(rows)",
    ]
