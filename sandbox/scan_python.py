"""Static gate for Python: find uses of blocked operations (`eval`, `os.system`, …) in the AST.

Names are resolved the way Python would resolve them, not matched as text: imports and their
aliases (`from os import system as s`), attribute chains (`builtins.eval`), plain assignments
(`e = eval`), `getattr(mod, "name")` with a constant (or constant-folded) name, namespace
lookups (`globals()["__builtins__"]["eval"]`, `vars(builtins)`, `sys.modules["os"]`) and
`from os import *` all lead to a qualified name such as `builtins.eval` or `os.system`. Any
*reference* to a blocked qualified name is a finding, called or not, so passing it around
(`map(eval, xs)`, `fns = [s]`) is caught where the reference is made. A method called `eval` on
some object, the word "exec" in a string, or a local `def compile(...)` resolve to something
else and pass.

The analysis is flow-insensitive: a name bound anywhere in a scope shadows the builtin there,
and a name with several bindings resolves to all of them. That errs towards blocking, which is
the safe side for a gate in front of a sandbox.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from agent_graph.sandbox.findings import Finding, is_test_file

# --- what each configured operation name means in Python -----------------------------------

# Calls that start a process and take `shell=`; blocked only when shell may be true.
SHELL_CALLABLES = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
    }
)
# `shell` is the 9th positional parameter of Popen, and run/call/check_* pass theirs through.
_SHELL_POSITION = 8
# These always go through a shell, so any reference to them counts as `subprocess.shell`.
ALWAYS_SHELL = frozenset(
    {
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "asyncio.subprocess.create_subprocess_shell",
    }
)

# Named operations whose meaning is wider than their literal qualified name. Any other dotted
# name ("shutil.rmtree") blocks exactly that qualified name; any other bare name that is a
# builtin ("open") blocks that builtin; names that mean nothing in Python ("vm") are ignored.
_EXPANSIONS: dict[str, frozenset[str]] = {
    "__import__": frozenset({"builtins.__import__", "importlib.__import__"}),
    # os.system is posix.system (nt.system on Windows); os.popen also runs its string in a shell.
    "os.system": frozenset({"os.system", "posix.system", "nt.system", "os.popen"}),
    # Unpickling anything, from bytes or a file, runs code chosen by whoever wrote the data.
    "pickle.loads": frozenset(
        {
            "pickle.loads",
            "pickle.load",
            "pickle.Unpickler",
            "_pickle.loads",
            "_pickle.load",
            "_pickle.Unpickler",
            "marshal.loads",
            "marshal.load",
        }
    ),
    "subprocess.shell": ALWAYS_SHELL,
}

_FIXES: dict[str, str] = {
    "eval": "parse data with json.loads or ast.literal_eval, or write the expression as code",
    "exec": "write the code out as ordinary functions instead of executing strings",
    "compile": "do not compile code at run time; write it as ordinary code (re.compile is fine)",
    "__import__": "use a plain `import` statement",
    "os.system": "use subprocess.run([...]) with a list of arguments, or a Python library call",
    "subprocess.shell": "pass the command as a list of arguments and drop shell=True",
    "pickle.loads": "store and load data as JSON (json.dumps/json.loads)",
}
_GENERIC_FIX = "remove it or use a safer alternative"

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class PythonBlocklist:
    """The configured operations translated to qualified names (`builtins.eval` → rule `eval`)."""

    targets: dict[str, str]  # qualified name -> rule (the configured operation name)
    shell_rule: str | None  # the rule name when subprocess calls with shell=True are blocked

    @classmethod
    def from_operations(cls, operations: Iterable[str]) -> PythonBlocklist:
        targets: dict[str, str] = {}
        shell_rule: str | None = None
        for op in operations:
            name = op.strip()
            if name == "subprocess.shell":
                shell_rule = name
            if name in _EXPANSIONS:
                qualnames: Iterable[str] = _EXPANSIONS[name]
            elif name.isidentifier() and name in BUILTIN_NAMES:
                qualnames = {f"builtins.{name}"}
            elif "." in name and all(part.isidentifier() for part in name.split(".")):
                qualnames = {name}
            else:
                continue  # not a Python operation ("new Function", "vm"): another scanner's
            for qualname in qualnames:
                targets.setdefault(qualname, name)
        return cls(targets, shell_rule)

    def module_prefixes(self) -> frozenset[str]:
        """Modules holding a blocked function: a computed lookup on them could reach it."""
        return frozenset(q.rsplit(".", 1)[0] for q in self.targets)


# --- scopes and bindings --------------------------------------------------------------------

ScopeKind = Literal["module", "function", "class"]
BindingKind = Literal["import", "expr", "iter", "opaque"]


@dataclass(eq=False)  # identity semantics: a scope also stands for its namespace (globals())
class _Scope:
    kind: ScopeKind
    parent: _Scope | None
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    star_imports: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class _Binding:
    """What a name was bound to: a module/object by import, an expression, or something opaque."""

    kind: BindingKind
    scope: _Scope
    qualname: str = ""
    node: ast.expr | None = None
    position: tuple[int, int] = (0, 0)  # (line, column) from which the name holds this value
    certain: bool = True  # False when made in a branch, loop or try that may not run


_Value = str | _Scope  # a qualified name, or the namespace of a scope (from globals()/locals())

# Statements whose bodies may not run (or not to the end), so their bindings are not certain.
_BRANCHING = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.TryStar, ast.Match)
# Statements that bind before their body runs; any other statement binds when it ends.
_BINDS_AT_START = (*_BRANCHING, ast.With, ast.AsyncWith, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _start(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


class _ScopeBuilder(ast.NodeVisitor):
    """Pass 1: record every binding per scope and every expression that may reference something."""

    def __init__(self) -> None:
        self.module = _Scope("module", None)
        self.scope = self.module
        self.sites: list[tuple[ast.expr, _Scope]] = []
        self.position = (0, 0)  # where a binding made now takes effect
        self.branch_depth = 0  # > 0 inside a branch, loop or try of the current scope

    def visit(self, node: ast.AST) -> None:
        if not isinstance(node, ast.stmt | ast.NamedExpr):
            super().visit(node)
            return
        saved = (self.position, self.branch_depth)
        self.position = _start(node) if isinstance(node, _BINDS_AT_START) else _end(node)
        self.branch_depth += isinstance(node, _BRANCHING)
        try:
            super().visit(node)
        finally:
            self.position, self.branch_depth = saved

    # bindings

    def bind(self, name: str, kind: BindingKind, qualname: str = "", node: ast.expr | None = None) -> None:
        target = self.module if name in self.scope.declared_global else self.scope
        binding = _Binding(kind, self.scope, qualname, node, self.position, self.branch_depth == 0)
        target.bindings.setdefault(name, []).append(binding)

    def bind_target(self, target: ast.expr, value: ast.expr | None, iterated: bool = False) -> None:
        """Bind an assignment/for target; pair up tuple targets with tuple values where possible."""
        if isinstance(target, ast.Name):
            if value is None:
                self.bind(target.id, "opaque")
            else:
                self.bind(target.id, "iter" if iterated else "expr", node=value)
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) and not iterated else None
            if values is not None and len(values) == len(target.elts):
                for sub, sub_value in zip(target.elts, values, strict=True):
                    self.bind_target(sub, sub_value)
            else:
                for sub in target.elts:
                    self.bind_target(sub, None)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, None)
        # attribute and subscript targets bind no name; their parts are visited as expressions

    def in_scope(
        self, kind: ScopeKind, nodes: Iterable[ast.AST], params: ast.arguments | None = None
    ) -> None:
        outer, outer_depth = self.scope, self.branch_depth
        self.scope, self.branch_depth = _Scope(kind, outer), 0
        if params is not None:
            for arg in (*params.posonlyargs, *params.args, *params.kwonlyargs, params.vararg, params.kwarg):
                if arg is not None:
                    self.bind(arg.arg, "opaque")
        for node in nodes:
            self.visit(node)
        self.scope, self.branch_depth = outer, outer_depth

    # statements that bind

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.bind(alias.asname, "import", qualname=alias.name)
            else:
                top = alias.name.split(".")[0]
                self.bind(top, "import", qualname=top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        # A relative import names a local module: prefix dots so it never matches `os.system`.
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.scope.star_imports.append(module)
            else:
                self.bind(alias.asname or alias.name, "import", qualname=f"{module}.{alias.name}")

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.declared_global.update(node.names)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):  # after `del eval`, `eval` is the builtin again
                scope = self.module if target.id in self.scope.declared_global else self.scope
                scope.deleted.add(target.id)
            else:
                self.visit_target(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind_target(target, node.value)
            self.visit_target(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.bind_target(node.target, node.value)
        self.visit_target(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, "opaque")
        self.visit_target(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.bind_target(node.target, node.value)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind_target(node.target, node.iter, iterated=True)
        self.visit_target(node.target)
        for stmt in (*node.body, *node.orelse):
            self.visit(stmt)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.visit_For(node)

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, None)
                self.visit_target(item.optional_vars)
        for stmt in node.body:
            self.visit(stmt)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.visit_With(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bind(node.name, "opaque")
        for stmt in node.body:
            self.visit(stmt)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bind(node.name, "opaque")
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name, "opaque")

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bind(node.rest, "opaque")
        self.generic_visit(node)

    def visit_target(self, target: ast.expr) -> None:
        """Expressions inside a store target (`a[eval] = 1`, `obj.x = 1`) are still evaluated."""
        if isinstance(target, ast.Attribute):
            self.visit(target.value)
        elif isinstance(target, ast.Subscript):
            self.visit(target.value)
            self.visit(target.slice)
        elif isinstance(target, ast.Tuple | ast.List):
            for sub in target.elts:
                self.visit_target(sub)
        elif isinstance(target, ast.Starred):
            self.visit_target(target.value)

    # scopes

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators, defaults and annotations are evaluated in the enclosing scope.
        for expr in (*node.decorator_list, *node.args.defaults, *node.args.kw_defaults, node.returns):
            if expr is not None:
                self.visit(expr)
        for arg in (
            *node.args.posonlyargs,
            *node.args.args,
            *node.args.kwonlyargs,
            node.args.vararg,
            node.args.kwarg,
        ):
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)
        self.bind(node.name, "opaque")
        self.in_scope("function", node.body, node.args)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in (*node.args.defaults, *node.args.kw_defaults):
            if expr is not None:
                self.visit(expr)
        self.in_scope("function", [node.body], node.args)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.visit(expr)
        self.bind(node.name, "opaque")
        self.in_scope("class", node.body)

    def visit_comprehension_scope(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        # The first iterable is evaluated outside; everything else in the comprehension's own scope.
        self.visit(node.generators[0].iter)
        outer = self.scope
        self.scope = _Scope("function", outer)  # function scope: where bindings sit does not matter
        for index, gen in enumerate(node.generators):
            if index:
                self.visit(gen.iter)
            self.bind_target(gen.target, gen.iter, iterated=True)
            for cond in gen.ifs:
                self.visit(cond)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.scope = outer

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self.visit_comprehension_scope(node)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self.visit_comprehension_scope(node)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self.visit_comprehension_scope(node)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self.visit_comprehension_scope(node)

    # references

    def visit_Name(self, node: ast.Name) -> None:
        # Only reads are references; stores are bound by the statement that owns the target.
        if isinstance(node.ctx, ast.Load):
            self.sites.append((node, self.scope))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            self.sites.append((node, self.scope))
        self.visit(node.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self.sites.append((node, self.scope))
        self.visit(node.value)
        self.visit(node.slice)

    def visit_Call(self, node: ast.Call) -> None:
        self.sites.append((node, self.scope))
        self.generic_visit(node)


# --- resolution -----------------------------------------------------------------------------


class _Resolver:
    """Pass 2: what an expression may evaluate to, as qualified names (memoised, cycle-safe)."""

    _NAMESPACE_CALLS = frozenset({"builtins.globals", "builtins.locals", "builtins.vars"})
    _IMPORT_CALLS = frozenset({"builtins.__import__", "importlib.__import__", "importlib.import_module"})

    def __init__(self, module: _Scope) -> None:
        self.module = module
        self.memo: dict[int, frozenset[_Value]] = {}
        self.fold_memo: dict[int, str | None] = {}
        self.active: set[int] = set()

    def lookup_bindings(self, name: str, scope: _Scope) -> list[_Binding] | None:
        """The bindings a name refers to from `scope`, or None when it is unbound (global/builtin)."""
        current: _Scope | None = scope
        first = True
        while current is not None:
            # A class body's names are not visible from the functions nested in it.
            if current.kind == "class" and not first:
                current = current.parent
                continue
            if name in current.declared_global:
                current = self.module
            if name in current.bindings:
                return current.bindings[name]
            first = False
            current = current.parent
        return None

    def lookup(self, name: str, scope: _Scope, at: tuple[int, int]) -> frozenset[_Value]:
        """What `name`, read at position `at` in `scope`, may be.

        In a function a bound name is local throughout. In a module or class body it is the
        builtin (or the enclosing meaning) until a binding has certainly run: one that comes
        before `at`, outside any branch, loop or try, and is never `del`eted. Otherwise both
        meanings are possible, so both are returned: `eval("x")` before `def eval` still counts.
        """
        values: set[_Value] = set()
        current: _Scope | None = scope
        first = True
        while current is not None:
            if current.kind == "class" and not first:  # class names are not seen by nested functions
                current = current.parent
                continue
            if name in current.declared_global:
                current = self.module
            bindings = current.bindings.get(name)
            if bindings:
                for binding in bindings:
                    values |= self.binding_values(binding)
                if current.kind == "function" or (
                    name not in current.deleted and any(b.certain and b.position <= at for b in bindings)
                ):
                    return frozenset(values)
            first = False
            current = current.parent
        values |= {f"{module}.{name}" for module in self.module.star_imports}
        if name == "__builtins__":
            values.add("builtins")
        elif name in BUILTIN_NAMES:
            values.add(f"builtins.{name}")
        return frozenset(values)

    def binding_values(self, binding: _Binding) -> frozenset[_Value]:
        if binding.kind == "import":
            return frozenset({binding.qualname})
        if binding.node is None:
            return frozenset()
        if binding.kind == "expr":
            return self.resolve(binding.node, binding.scope)
        if binding.kind == "iter" and isinstance(binding.node, ast.Tuple | ast.List | ast.Set):
            # `for f in (eval, exec): f(src)` — each element is a possible value.
            values: set[_Value] = set()
            for elt in binding.node.elts:
                values |= self.resolve(elt, binding.scope)
            return frozenset(values)
        return frozenset()

    def resolve(self, node: ast.expr, scope: _Scope) -> frozenset[_Value]:
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:  # `x = x.y` and other cycles resolve to nothing
            return frozenset()
        self.active.add(key)
        try:
            result = self._resolve(node, scope)
        finally:
            self.active.discard(key)
        self.memo[key] = result
        return result

    def _resolve(self, node: ast.expr, scope: _Scope) -> frozenset[_Value]:
        if isinstance(node, ast.Name):
            return self.lookup(node.id, scope, _start(node))
        if isinstance(node, ast.Attribute):
            return frozenset(
                f"{v}.{node.attr}" for v in self.resolve(node.value, scope) if isinstance(v, str)
            )
        if isinstance(node, ast.Subscript):
            key = self.fold(node.slice, scope)
            containers = self.resolve(node.value, scope)
            return frozenset() if key is None else self.item(containers, key, _start(node))
        if isinstance(node, ast.Call):
            return self._resolve_call(node, scope)
        if isinstance(node, ast.IfExp):
            return self.resolve(node.body, scope) | self.resolve(node.orelse, scope)
        if isinstance(node, ast.BoolOp):
            return frozenset().union(*(self.resolve(v, scope) for v in node.values))
        if isinstance(node, ast.NamedExpr):
            return self.resolve(node.value, scope)
        return frozenset()

    def item(self, containers: frozenset[_Value], key: str, at: tuple[int, int]) -> frozenset[_Value]:
        """`container[key]` for namespaces: globals()[k], vars(m)[k], m.__dict__[k], sys.modules[k]."""
        values: set[_Value] = set()
        for container in containers:
            if isinstance(container, _Scope):
                values |= self.lookup(key, container, at)
            elif container == "sys.modules":
                values.add(key)
            elif container.endswith(".__dict__"):
                values.add(f"{container.removesuffix('.__dict__')}.{key}")
            elif container == "builtins":  # `__builtins__` is the builtins dict outside __main__
                values.add(f"builtins.{key}")
        return frozenset(values)

    def _resolve_call(self, node: ast.Call, scope: _Scope) -> frozenset[_Value]:
        funcs = self.resolve(node.func, scope)
        args = node.args
        values: set[_Value] = set()
        if "builtins.getattr" in funcs and len(args) >= 2:
            name = self.fold(args[1], scope)
            if name is not None:
                for obj in self.resolve(args[0], scope):
                    values |= (
                        self.item(frozenset({obj}), name, _start(node))
                        if isinstance(obj, _Scope)
                        else {f"{obj}.{name}"}
                    )
        if funcs & self._NAMESPACE_CALLS:
            if not args:
                values.add(self.module if "builtins.globals" in funcs else scope)
            elif "builtins.vars" in funcs:
                values |= {f"{v}.__dict__" for v in self.resolve(args[0], scope) if isinstance(v, str)}
        if funcs & self._IMPORT_CALLS and args:
            module = self.fold(args[0], scope)
            if module:
                # __import__("os.path") returns the top package unless a fromlist is given.
                top_only = "importlib.import_module" not in funcs and len(args) < 4 and not node.keywords
                values.add(module.split(".")[0] if top_only else module)
        if "sys.modules.get" in funcs and args:
            module = self.fold(args[0], scope)
            if module:
                values.add(module)
        return frozenset(values)

    def fold(self, node: ast.expr, scope: _Scope) -> str | None:
        """The constant string an expression always evaluates to, if that can be decided."""
        key = id(node)
        if key in self.fold_memo:
            return self.fold_memo[key]
        self.fold_memo[key] = None  # cycle guard
        result = self._fold(node, scope)
        self.fold_memo[key] = result
        return result

    def _fold(self, node: ast.expr, scope: _Scope) -> str | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.fold(node.left, scope), self.fold(node.right, scope)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.JoinedStr):
            parts = [self.fold(v, scope) for v in node.values]
            return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
        if isinstance(node, ast.FormattedValue) and node.format_spec is None:
            return self.fold(node.value, scope)
        if isinstance(node, ast.Name):
            bindings = self.lookup_bindings(node.id, scope)
            if not bindings or any(b.kind != "expr" or b.node is None for b in bindings):
                return None
            folded = {self.fold(b.node, b.scope) for b in bindings if b.node is not None}
            return folded.pop() if len(folded) == 1 else None
        if (  # "".join(["ev", "al"])
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.List | ast.Tuple)
        ):
            sep = self.fold(node.func.value, scope)
            parts = [self.fold(e, scope) for e in node.args[0].elts]
            return None if sep is None or any(p is None for p in parts) else sep.join(p or "" for p in parts)
        return None


# --- the scan -------------------------------------------------------------------------------


def _snippet(node: ast.AST) -> str:
    """The code of a node for a message (unparsed: cheap, and no need to keep the source around)."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _shell_value(node: ast.Call, resolver: _Resolver, scope: _Scope) -> bool | None:
    """True if `shell=` is truthy, None if it is set but not decidable, False if absent or falsy."""
    candidates: list[ast.expr] = [k.value for k in node.keywords if k.arg == "shell"]
    for kw in node.keywords:
        if kw.arg is None and isinstance(kw.value, ast.Dict):  # **{"shell": True}
            for k, v in zip(kw.value.keys, kw.value.values, strict=True):
                if k is not None and resolver.fold(k, scope) == "shell":
                    candidates.append(v)
    if len(node.args) > _SHELL_POSITION:
        candidates.append(node.args[_SHELL_POSITION])
    undecided = False
    for value in candidates:
        if isinstance(value, ast.Constant):
            if value.value:
                return True
        else:
            undecided = True
    return None if undecided else False


# --- test files: running the program under test ---------------------------------------------

# What a test file may call to run the program (with `[sys.executable, PROGRAM, ...]`, no shell).
PROGRAM_RUNNERS = frozenset(
    {*SHELL_CALLABLES, "asyncio.create_subprocess_exec", "asyncio.subprocess.create_subprocess_exec"}
)
# Process starters a test file never needs: they run another program by path or replace the process.
_EXEC_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn", "posix.exec", "posix.spawn", "posix.posix_spawn")
_EXEC_NAMES = frozenset({"pty.spawn", "os.startfile", "os.popen", "os.system"})
# Interpreter options allowed before the program (they change no code that runs).
_HARMLESS_FLAGS = frozenset({"-u", "-B", "-E", "-I", "-s", "-S", "-q"})
TEST_PROCESS_RULE = "test-process"
_TEST_PROCESS_FIX = (
    "a test file may only run the program under test: subprocess.run([sys.executable, PROGRAM, *args], "
    'capture_output=True, text=True, cwd=tmp_path) with PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "program.py")'
)
_PATH_WRAPPERS = frozenset(
    {
        "builtins.str",
        "os.fspath",
        "os.path.realpath",
        "os.path.normpath",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
    }
)
_PATH_METHODS = frozenset({"resolve", "absolute", "__str__"})
PathKind = Literal["anchored_file", "anchored_dir", "relative_file"]


def _is_process_starter(qualname: str) -> bool:
    return qualname in PROGRAM_RUNNERS or qualname in _EXEC_NAMES or qualname.startswith(_EXEC_PREFIXES)


def _relative_constant(text: object) -> bool:
    """A path that stays in the folder it is resolved against: relative, no `..`, not an option."""
    if not isinstance(text, str) or not text or text.startswith(("/", "\\", "-", "~")) or ":" in text:
        return False
    return ".." not in text.replace("\\", "/").split("/")


def path_kind(node: ast.expr | None, resolver: _Resolver, scope: _Scope, depth: int = 0) -> PathKind | None:
    """What a path expression certainly is: a file of the workspace anchored at the test file's own
    folder (`os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py")`, `Path(__file__).parent
    / "app.py"`), that folder, a relative path inside the current folder, or None when unknown."""
    if node is None or depth > 12:
        return None
    if isinstance(node, ast.Constant):
        return "relative_file" if _relative_constant(node.value) else None
    if isinstance(node, ast.Name):
        if node.id == "__file__":
            return "anchored_file"
        bindings = resolver.lookup_bindings(node.id, scope)
        if not bindings or any(b.kind != "expr" or b.node is None for b in bindings):
            return None
        kinds = {path_kind(b.node, resolver, b.scope, depth + 1) for b in bindings}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        return (
            "anchored_dir" if path_kind(node.value, resolver, scope, depth + 1) == "anchored_file" else None
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _joined(node.left, [node.right], resolver, scope, depth)
    if isinstance(node, ast.JoinedStr) and len(node.values) == 2:
        head, tail = node.values
        if (
            isinstance(head, ast.FormattedValue)
            and head.format_spec is None
            and isinstance(tail, ast.Constant)
            and isinstance(tail.value, str)
            and tail.value.startswith("/")
            and _relative_constant(tail.value[1:])
            and path_kind(head.value, resolver, scope, depth + 1) == "anchored_dir"
        ):
            return "anchored_file"
        return None
    if not isinstance(node, ast.Call):
        return None
    funcs = {v for v in resolver.resolve(node.func, scope) if isinstance(v, str)}
    if isinstance(node.func, ast.Attribute) and node.func.attr in _PATH_METHODS and not node.args:
        return path_kind(node.func.value, resolver, scope, depth + 1)
    if isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath" and node.args:
        return _joined(node.func.value, node.args, resolver, scope, depth)
    if len(node.args) != 1 and not (funcs & {"os.path.join"}):
        return None
    if funcs and funcs <= _PATH_WRAPPERS | {"os.path.abspath"}:
        return path_kind(node.args[0], resolver, scope, depth + 1)
    if funcs == {"os.path.dirname"}:
        return (
            "anchored_dir" if path_kind(node.args[0], resolver, scope, depth + 1) == "anchored_file" else None
        )
    if funcs == {"os.path.join"} and node.args:
        return _joined(node.args[0], node.args[1:], resolver, scope, depth)
    return None


def _joined(
    base: ast.expr, parts: list[ast.expr], resolver: _Resolver, scope: _Scope, depth: int
) -> PathKind | None:
    if not all(isinstance(p, ast.Constant) and _relative_constant(p.value) for p in parts):
        return None
    kind = path_kind(base, resolver, scope, depth + 1)
    if kind == "anchored_dir":
        return "anchored_file"
    return "relative_file" if kind == "relative_file" else None


def _command_list(
    node: ast.expr | None, resolver: _Resolver, scope: _Scope, depth: int = 0
) -> list[ast.expr] | None:
    """The elements of a command given as a list literal, `[...] + rest`, or a name bound to one."""
    if node is None or depth > 6:
        return None
    if isinstance(node, ast.List | ast.Tuple):
        return list(node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _command_list(node.left, resolver, scope, depth + 1)
    if isinstance(node, ast.Name):
        bindings = resolver.lookup_bindings(node.id, scope)
        if bindings and len(bindings) == 1 and bindings[0].kind == "expr" and bindings[0].node is not None:
            return _command_list(bindings[0].node, resolver, bindings[0].scope, depth + 1)
    return None


def runs_workspace_program(node: ast.Call, resolver: _Resolver, scope: _Scope) -> bool:
    """`subprocess.run([sys.executable, PROGRAM, ...], ...)` with PROGRAM a workspace file: anchored at
    the test file's folder, or relative when no `cwd=` moves the run elsewhere. No shell, no
    `executable=`, no `-c`/`-m`."""
    funcs = {v for v in resolver.resolve(node.func, scope) if isinstance(v, str)}
    exec_style = bool(funcs & {"asyncio.create_subprocess_exec", "asyncio.subprocess.create_subprocess_exec"})
    if not funcs or not funcs <= PROGRAM_RUNNERS:
        return False
    keywords = {k.arg: k.value for k in node.keywords}
    if None in keywords or "executable" in keywords or _shell_value(node, resolver, scope) is not False:
        return False
    if exec_style:
        elements: list[ast.expr] | None = list(node.args)
    else:
        if len(node.args) > 1:
            return False
        elements = _command_list(node.args[0] if node.args else keywords.get("args"), resolver, scope)
    if not elements or isinstance(elements[0], ast.Starred):
        return False
    if resolver.resolve(elements[0], scope) != {"sys.executable"}:
        return False
    rest = elements[1:]
    while rest and isinstance(rest[0], ast.Constant) and rest[0].value in _HARMLESS_FLAGS:
        rest = rest[1:]
    if not rest or isinstance(rest[0], ast.Starred):
        return False
    kind = path_kind(rest[0], resolver, scope)
    return kind == "anchored_file" or (kind == "relative_file" and "cwd" not in keywords)


def _test_process_findings(builder: _ScopeBuilder, resolver: _Resolver, path: str) -> Iterator[Finding]:
    """Every process a test file starts other than the program under test, and every reference to a
    process starter that is not a call (`partial(subprocess.run, ...)`, `run = subprocess.Popen`)."""
    called = {id(n.func) for n, _ in builder.sites if isinstance(n, ast.Call)}
    for node, scope in builder.sites:
        line = getattr(node, "lineno", 1)
        if isinstance(node, ast.Call):
            funcs = {v for v in resolver.resolve(node.func, scope) if isinstance(v, str)}
            starters = sorted(f for f in funcs if _is_process_starter(f))
            if starters and not runs_workspace_program(node, resolver, scope):
                yield Finding(
                    path, line, TEST_PROCESS_RULE,
                    f"`{_snippet(node)}` runs something other than the program under test",
                    "high", "ast", fix=_TEST_PROCESS_FIX,
                )  # fmt: skip
        elif id(node) not in called and isinstance(node, ast.Name | ast.Attribute):
            values = {v for v in resolver.resolve(node, scope) if isinstance(v, str)}
            if any(_is_process_starter(v) for v in values):
                yield Finding(
                    path, line, TEST_PROCESS_RULE,
                    f"`{_snippet(node)}` passes a process starter around instead of calling it",
                    "high", "ast", fix=_TEST_PROCESS_FIX,
                )  # fmt: skip


def python_test_runs_program(source: str) -> bool:
    """Whether a Python test file runs a workspace program the way a test file may (at least once),
    or runs it in-process with `runpy.run_path`."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return False
    builder = _ScopeBuilder()
    builder.visit(tree)
    resolver = _Resolver(builder.module)
    for node, scope in builder.sites:
        if not isinstance(node, ast.Call):
            continue
        funcs = {v for v in resolver.resolve(node.func, scope) if isinstance(v, str)}
        if funcs & {"runpy.run_path", "runpy.run_module"}:
            return True
        if funcs & PROGRAM_RUNNERS and runs_workspace_program(node, resolver, scope):
            return True
    return False


def _findings(
    tree: ast.Module, path: str, blocklist: PythonBlocklist, test_file: bool = False
) -> Iterator[Finding]:
    builder = _ScopeBuilder()
    builder.visit(tree)
    resolver = _Resolver(builder.module)
    prefixes = blocklist.module_prefixes()
    if test_file:
        yield from _test_process_findings(builder, resolver, path)
    for node, scope in builder.sites:
        line = getattr(node, "lineno", 1)
        for value in sorted(v for v in resolver.resolve(node, scope) if isinstance(v, str)):
            rule = blocklist.targets.get(value)
            if rule is not None:
                text = _snippet(node)
                via = "" if text == value or value.endswith(f".{text}") else f" (reached through `{text}`)"
                yield _finding(path, line, rule, f"`{value}` is blocked{via}")
        if isinstance(node, ast.Subscript) and resolver.fold(node.slice, scope) is None:
            # `vars(builtins)[name]`, `builtins.__dict__[name]`, `__builtins__[name]` with a computed name.
            namespaces = {
                v.removesuffix(".__dict__")
                for v in resolver.resolve(node.value, scope)
                if isinstance(v, str) and (v == "builtins" or v.endswith(".__dict__"))
            }
            yield from _dynamic_lookup(path, line, node, namespaces & prefixes, blocklist)
        if not isinstance(node, ast.Call):
            continue
        funcs = {v for v in resolver.resolve(node.func, scope) if isinstance(v, str)}
        if blocklist.shell_rule is not None:
            shell_funcs = funcs & SHELL_CALLABLES
            if "functools.partial" in funcs and node.args:  # partial(subprocess.run, shell=True)
                shell_funcs |= {v for v in resolver.resolve(node.args[0], scope) if v in SHELL_CALLABLES}
            shell = _shell_value(node, resolver, scope) if shell_funcs else False
            if shell is not False:
                how = "shell=True" if shell else "a shell= value that is not the constant False"
                yield _finding(path, line, blocklist.shell_rule, f"`{min(shell_funcs)}` called with {how}")
        if "builtins.getattr" in funcs and len(node.args) >= 2 and resolver.fold(node.args[1], scope) is None:
            # getattr(builtins, name) with a computed name could reach any blocked function there.
            modules = {v for v in resolver.resolve(node.args[0], scope) if isinstance(v, str)}
            yield from _dynamic_lookup(path, line, node, modules & prefixes, blocklist)


def _dynamic_lookup(
    path: str, line: int, node: ast.AST, modules: set[str], blocklist: PythonBlocklist
) -> Iterator[Finding]:
    if not modules:
        return
    module = min(modules)
    reachable = sorted({rule for q, rule in blocklist.targets.items() if q.startswith(module + ".")})
    yield Finding(
        path,
        line,
        "dynamic-lookup",
        f"`{_snippet(node)}` looks up a computed name on `{module}`, which could reach {', '.join(reachable)}",
        "high",
        "ast",
        fix=f"refer to the `{module}` function you need by its name",
    )


def _finding(path: str, line: int, rule: str, message: str) -> Finding:
    return Finding(path, line, rule, message, "high", "ast", fix=_FIXES.get(rule, _GENERIC_FIX))


def syntax_finding(path: str, exc: SyntaxError | ValueError | RecursionError) -> Finding:
    """A file that does not parse cannot be checked, so it blocks like any other finding."""
    if isinstance(exc, SyntaxError):
        message = f"{exc.msg}" + (f": `{exc.text.strip()}`" if exc.text and exc.text.strip() else "")
        line = exc.lineno or 1
    elif isinstance(exc, RecursionError):
        message, line = "the code is nested too deeply to analyse", 1
    else:
        message, line = str(exc), 1
    return Finding(path, line, "syntax", message, "high", "parse", fix="make the file valid Python 3")


def parse_python(source: str, path: str) -> ast.Module | Finding:
    """The module's AST, or the `syntax` finding that explains why there is none."""
    try:
        return ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError) as exc:  # ValueError: null bytes in the source
        return syntax_finding(path, exc)


def scan_python_source(source: str, path: str, block_operations: Iterable[str]) -> list[Finding]:
    """Every blocked operation referenced in one Python file (or its syntax error), in line order.

    A test file (`test_*.py`, `*_test.py`, `conftest.py`) may start one kind of process only: the
    interpreter on a workspace file (`runs_workspace_program`), when the configured operations
    block processes at all (`os.system` or `subprocess.shell`); source files keep the plain rules."""
    tree = parse_python(source, path)
    if isinstance(tree, Finding):
        return [tree]
    blocklist = PythonBlocklist.from_operations(block_operations)
    if not blocklist.targets and blocklist.shell_rule is None:
        return []
    operations = set(blocklist.targets.values()) | {blocklist.shell_rule}
    test_file = is_test_file(path) and bool(operations & {"os.system", "subprocess.shell"})
    try:
        found = list(_findings(tree, path, blocklist, test_file))
    except RecursionError as exc:
        return [syntax_finding(path, exc)]
    unique = {(f.line, f.rule, f.message): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.rule))
