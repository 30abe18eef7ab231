"""The one door to Typer's and Click's insides: nothing else imports a private Typer/Click module.

Typer (>= 0.26, < 0.29, see pyproject.toml) ships its own copy of Click as the private module
`typer._click`; the parse errors Click raises, and the shell-completion classes the CLI extends,
live there. If a Typer release moves them (huggingface_hub left Typer over exactly such a break),
this file is the only one to change; tests/test_architecture.py keeps the fence.

Names are resolved on first use, so importing this module costs nothing: `main.run` needs only
the exception class, TAB completion the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the types mypy checks our completion classes against
    from typer._click.exceptions import ClickException
    from typer._click.shell_completion import CompletionItem, ShellComplete

__all__ = ["CompletionItem", "ShellComplete", "click_exception", "get_command", "install_completion",
           "shell_completion"]


def _click() -> Any:
    try:
        from typer import _click as click  # Typer's own copy of Click (what parsing raises)
    except ImportError:  # pragma: no cover - a Typer that uses the real Click again
        import click  # type: ignore[import-not-found, no-redef, unused-ignore]
    return click


def click_exception() -> type[ClickException]:
    """The base class of Click's usage errors (bad option, missing argument ...): exit 2."""
    return _click().exceptions.ClickException


def shell_completion() -> Any:
    """Click's shell_completion module (CompletionItem, ShellComplete, split_arg_string,
    add_completion_class)."""
    import importlib

    return importlib.import_module(_click().__name__ + ".shell_completion")


def install_completion(classes: Mapping[str, type]) -> None:
    """Typer's completion classes (PowerShell too), then `classes` by shell name over them."""
    from typer.completion import completion_init

    completion_init()
    add = shell_completion().add_completion_class
    for name, cls in classes.items():
        add(cls, name)


def get_command(app: Any) -> Any:
    """The Click command of a Typer app (Typer's documented bridge to Click)."""
    import typer.main

    return typer.main.get_command(app)
