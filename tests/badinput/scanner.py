"""Find every place meshctl raises an error the user can see, each with an id stable under unrelated line moves.

A site is
- a construction (a call) of :class:`meshctl.errors.MeshctlError` or of any class of ``meshctl/`` derived from it
  (``errors.PathError(...)``, ``kerrors.ConfigError(...)``, ``TemplateError(...)``);
- a raised or returned call of an error helper - a function of ``meshctl/`` annotated to return one of those classes
  (``raise self.fail("unterminated '['", ...)``, ``return path.error(f"no key ...")``) - that writes the message
  there, as a string literal or f-string: the helper's own construction is one site, each message written through it
  is one more (a helper that only passes a message on, ``_container_error(path, i, node)``, is not);
- every string literal of ``meshctl/cli/`` that starts an ``error:`` line by itself (usage errors, interruption,
  internal errors).

Its id is ``<module path>::<enclosing qualname>::<class or helper>#<ordinal>``: the ordinal counts the sites of that
class (or helper) inside that function in source order, so moving code around elsewhere does not change ids.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
from collections import Counter

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "meshctl"
BASE = "MeshctlError"
#: The pseudo class of ``error:`` lines written as text rather than raised as an error.
TEXT_SITE = "error-line"


@dataclasses.dataclass(frozen=True)
class Site:
    id: str
    module: str
    function: str
    cls: str
    line: int


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def error_classes(trees: dict[str, ast.Module]) -> set[str]:
    """Names of MeshctlError and every class of the package derived from it (by base-class name)."""
    bases: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [n for b in node.bases if (n := _name(b))]
    found = {BASE}
    grew = True
    while grew:
        grew = False
        for cls, parents in bases.items():
            if cls not in found and any(p in found for p in parents):
                found.add(cls)
                grew = True
    return found


def error_helpers(trees: dict[str, ast.Module], classes: set[str]) -> set[str]:
    """Names of the package's functions annotated to return an error class (``-> errors.PathError``)."""
    found: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.returns is None:
                continue
            if ast.unparse(node.returns).split(".")[-1] in classes:
                found.add(node.name)
    return found


def _writes_message(call: ast.Call) -> bool:
    args = [*call.args, *(k.value for k in call.keywords)]
    return any(isinstance(a, ast.JoinedStr) or (isinstance(a, ast.Constant) and isinstance(a.value, str)) for a in args)


def _starts_error_line(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("error: ")
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("error: ")
    return False


def _meshctl_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to meshctl modules (``errors``, ``kerrors``) and to meshctl classes or local class definitions.

    Only these count: ``jsonschema.ValidationError`` or another library's class of the same name is not a site.
    """
    modules: set[str] = set()
    names: set[str] = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "meshctl":
            for alias in node.names:
                bound = alias.asname or alias.name
                # `from meshctl import errors` binds a module, `from meshctl.errors import X` a class
                (modules if alias.name[:1].islower() else names).add(bound)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "meshctl":
                    modules.add(alias.asname or alias.name)
    return modules, names


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, classes: set[str], text_sites: bool, tree: ast.Module, helpers: set[str]) -> None:
        self.module = module
        self.classes = classes
        self.helpers = helpers
        self.modules, self.names = _meshctl_names(tree)
        self.text_sites = text_sites
        self.scope: list[str] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.sites: list[Site] = []

    def _add(self, cls: str, line: int) -> None:
        function = ".".join(self.scope) or "<module>"
        self.counts[(function, cls)] += 1
        site_id = f"{self.module}::{function}::{cls}#{self.counts[(function, cls)]}"
        self.sites.append(Site(site_id, self.module, function, cls, line))

    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = _scoped
    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in self.classes:
            owner = func.value
            dotted = ast.unparse(owner)
            if dotted in self.modules or dotted.startswith("meshctl."):
                self._add(func.attr, node.lineno)
        elif isinstance(func, ast.Name) and func.id in self.classes and func.id in self.names:
            self._add(func.id, node.lineno)
        self.generic_visit(node)

    def _helper_call(self, value: ast.expr | None) -> None:
        if isinstance(value, ast.Call) and _writes_message(value):
            name = _name(value.func)
            if name in self.helpers:
                self._add(name, value.lineno)

    def visit_Raise(self, node: ast.Raise) -> None:
        self._helper_call(node.exc)
        self.generic_visit(node)

    def visit_Return(self, node: ast.Return) -> None:
        self._helper_call(node.value)
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if self.text_sites and _starts_error_line(node):
            self._add(TEXT_SITE, node.lineno)
        # f-string parts are not error lines of their own

    def visit_Constant(self, node: ast.Constant) -> None:
        if self.text_sites and _starts_error_line(node):
            self._add(TEXT_SITE, node.lineno)


def scan(package: pathlib.Path = PACKAGE) -> dict[str, Site]:
    """Every error site of the package, by id."""
    trees = {
        path.relative_to(package.parent).as_posix(): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(package.rglob("*.py"))
    }
    classes = error_classes(trees)
    helpers = error_helpers(trees, classes)
    sites: dict[str, Site] = {}
    for module, tree in trees.items():
        visitor = _Visitor(module, classes, module.startswith("meshctl/cli/"), tree, helpers)
        visitor.visit(tree)
        for site in visitor.sites:
            sites[site.id] = site
    return sites


if __name__ == "__main__":  # python -m tests.badinput.scanner: list the sites
    for site in scan().values():
        print(f"{site.id}  (line {site.line})")
