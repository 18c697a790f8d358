"""The API reference (``book/api/``) documents every public name of ``ebp``.

The pages call Sphinx's autodoc (``.. automodule::`` in ``{eval-rst}`` blocks), which renders
what a directive asks for and nothing else: a new module, or a name added to a module's
``__all__`` that no directive covers, would silently be missing from the site. This test reads
the directives and fails for

- a public module (no ``_``-prefixed part, and an ``__all__`` that is not empty: ``ebp.engine``
  and ``ebp.updates`` declare ``__all__ = []``, being internal) that no ``automodule`` names;
- a name of a module's ``__all__`` that is not documented, either under that module (its
  ``automodule`` with ``:members:``, not excluded, or a directive of its own) or, for a
  re-export, as the same object under another module (``ebp.train.mse_loss`` is
  ``ebp.losses.mse_loss``); a constant counts only where autodoc finds its docstring, in the
  source of the module that assigns it;
- a public function or class without a docstring (autodoc leaves such members out);
- an example (``>>>`` lines of a docstring's ``Examples``) whose output is not what it shows.

The strict book build (``-W -n``) checks that the directives work; this checks that they
are all there, without building anything.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import torch
from sphinx.pycode import ModuleAnalyzer

import ebp

API = Path(__file__).resolve().parents[1] / "book" / "api"
DIRECTIVE = re.compile(
    r"^\.\. (automodule|auto(?:function|class|data|exception)|py:(?:data|function|class)|"
    r"py:module|py:currentmodule)::\s*(\S+)"
)
OPTION = re.compile(r"^\s+:([\w-]+):\s*(.*)$")


def parse_directives(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """``(directive, target, options)`` for each autodoc directive of a page's rst blocks (and
    each hand-written ``py:data``/``py:function``/``py:class``, its name completed with the
    current module)."""
    found: list[tuple[str, str, dict[str, str]]] = []
    current = ""
    for line in text.splitlines():
        match = DIRECTIVE.match(line.strip())
        if match:
            directive, target = match.groups()
            if directive in ("automodule", "py:module", "py:currentmodule"):
                current = target
            elif directive.startswith("py:") and "." not in target:
                target = f"{current}.{target}"
            found.append((directive, target, {}))
        elif found and OPTION.match(line) and line.startswith(" "):
            key, value = OPTION.match(line).groups()
            found[-1][2][key] = value.strip()
    return found


def _names(value: str) -> set[str]:
    return {n.strip() for n in value.split(",") if n.strip()}


def public_modules() -> list[ModuleType]:
    modules = [ebp]
    for info in pkgutil.walk_packages(ebp.__path__, prefix="ebp."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return [m for m in modules if getattr(m, "__all__", None) != []]


def public_names(module: ModuleType) -> list[str]:
    """The module's ``__all__``, or (without one) what it defines under a public name."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]


def _autodoc_shows(module: ModuleType, name: str) -> bool:
    """Whether autodoc renders ``module.name``: a function, class or module always (the test
    below checks their docstrings), a constant only with a docstring after its assignment *in
    that module's source* (so a constant a package imports from a submodule is skipped)."""
    obj = getattr(module, name)
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
        return True
    return ("", name) in ModuleAnalyzer.for_module(module.__name__).find_attr_docs()


def documented() -> tuple[set[str], set[tuple[str, str]], dict[str, list[object]]]:
    """The modules with an ``automodule``, the ``(module, name)`` pairs documented, and the
    documented objects by name (to recognise re-exports, which keep their name)."""
    modules: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for page in sorted(API.rglob("*.md")):
        for directive, target, options in parse_directives(page.read_text(encoding="utf-8")):
            if directive in ("py:module", "py:currentmodule"):
                continue
            if directive != "automodule":
                module, _, name = target.rpartition(".")
                pairs.add((module, name))
                continue
            modules.add(target)
            if "members" not in options or "no-members" in options:
                continue
            module = importlib.import_module(target)
            chosen = _names(options["members"]) or set(public_names(module))
            chosen -= _names(options.get("exclude-members", ""))
            pairs |= {(target, name) for name in chosen if _autodoc_shows(module, name)}
    objects: dict[str, list[object]] = {}
    for module, name in sorted(pairs):
        objects.setdefault(name, []).append(getattr(importlib.import_module(module), name))
    return modules, pairs, objects


def test_the_directive_parser_reads_options() -> None:
    text = (
        "```{eval-rst}\n.. automodule:: ebp.train\n   :members:\n   :exclude-members: a, b\n"
        "\n.. py:data:: OPTIMIZERS\n   :value: ()\n```"
    )
    assert parse_directives(text) == [
        ("automodule", "ebp.train", {"members": "", "exclude-members": "a, b"}),
        ("py:data", "ebp.train.OPTIMIZERS", {"value": "()"}),
    ]


def test_every_public_module_has_an_automodule() -> None:
    modules, _, _ = documented()
    missing = [m.__name__ for m in public_modules() if m.__name__ not in modules]
    assert not missing, f"modules without an automodule in book/api/: {missing}"


def test_every_public_name_is_documented() -> None:
    _, pairs, objects = documented()
    missing = []
    for module in public_modules():
        for name in public_names(module):
            obj = getattr(module, name)
            if (module.__name__, name) in pairs:
                continue
            if any(obj is other for other in objects.get(name, [])):
                continue  # a re-export, documented under the module that defines it
            missing.append(f"{module.__name__}.{name}")
    assert not missing, f"public names missing from book/api/: {missing}"


def test_every_documented_function_and_class_has_a_docstring() -> None:
    _, pairs, _ = documented()
    bare = []
    for module, name in sorted(pairs):
        obj = getattr(importlib.import_module(module), name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not (obj.__doc__ or "").strip():
            bare.append(f"{module}.{name}")
    assert not bare, f"autodoc skips these, which have no docstring: {bare}"


def test_the_examples_in_the_docstrings_run() -> None:
    """Every ``>>>`` example in ``ebp`` gives the output it shows (NumPy prints and tensors are
    compared as text, so the examples print rounded or exact values only). The global random
    generators are restored afterwards: an example that builds ``torch.nn.Linear`` draws from
    them."""
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    modules = [ebp] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(ebp.__path__, prefix="ebp.")
    ]
    with torch.random.fork_rng(devices=[]):
        for module in modules:
            for test in finder.find(module, module.__name__):
                runner.run(test, out=lambda _text: None)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted >= 100, f"only {attempted} examples found"
    assert failed == 0, f"{failed} of {attempted} docstring examples fail (python -m doctest)"
