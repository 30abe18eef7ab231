"""The import direction of STYLE.md, read from the source with `ast` (imports inside functions count).

main -> commands -> (client, output, export, alert) -> (cache, config, errors). The pure layers stay
free of typer and rich, commands never talk HTTP themselves, nothing but `python -m` imports main,
and `import zenovay_cli` stays cheap.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import zenovay_cli

PACKAGE = Path(zenovay_cli.__file__).parent
PURE = ("client", "cache", "config", "export", "alert", "ratelimit", "fanout", "retry", "views", "errors")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set:
    """Every module `name` imports, anywhere in its source, as absolute dotted names."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # `from zenovay_cli import main` imports the submodule zenovay_cli.main
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def top_levels(names: set) -> set:
    return {n.split(".")[0] for n in names}


def test_the_walk_sees_the_whole_package():
    assert {f"zenovay_cli.{m}" for m in PURE} <= MODULES.keys()
    assert "zenovay_cli.main" in MODULES and "zenovay_cli.commands.query" in MODULES
    # the walker itself: main imports typer and the commands
    assert "typer" in top_levels(imports_of("zenovay_cli.main"))
    assert "zenovay_cli.commands.query" in imports_of("zenovay_cli.main")


@pytest.mark.parametrize("name", PURE)
def test_pure_layers_import_neither_typer_nor_rich(name):
    assert not top_levels(imports_of(f"zenovay_cli.{name}")) & {"typer", "rich", "click"}


def is_script(name: str) -> bool:
    """A module meant to be run (`python -m ...`), which no module of the package imports."""
    source = MODULES[name].read_text(encoding="utf-8")
    imported = any(name in imports_of(other) for other in MODULES if other != name)
    return 'if __name__ == "__main__":' in source and not imported


def test_only_entry_points_import_main():
    importers = {n for n in MODULES if "zenovay_cli.main" in imports_of(n)}
    assert "zenovay_cli.__main__" in importers
    # Developer tools run with `python -m` (e.g. docgen) may build the command tree too; no library
    # module may, or the CLI wiring would leak into what `from zenovay_cli import ...` loads.
    assert sorted(n for n in importers if not is_script(n)) == []


def test_commands_do_not_import_requests():
    offenders = sorted(n for n in MODULES if n.startswith("zenovay_cli.commands")
                       and {"requests", "urllib3", "httpx"} & top_levels(imports_of(n)))
    assert offenders == []


def test_the_version_is_a_leaf_and_nothing_imports_the_package_init():
    # zenovay_cli/__init__.py only re-exports; modules take what they need from where it lives.
    assert imports_of("zenovay_cli._version") == set()
    upward = sorted(n for n in MODULES if n != "zenovay_cli" and any(
        i == "zenovay_cli.__version__" or i == "zenovay_cli.ZenovayClient" or i == "zenovay_cli.ZenovayError"
        for i in imports_of(n)))
    assert upward == []


def test_main_run_spells_no_exit_code_number():
    import inspect

    from zenovay_cli import main

    source = inspect.getsource(main.run)
    assert not re.search(r"\b(130|3)\b", source)


def test_errors_imports_nothing_from_the_package():
    assert "zenovay_cli" not in top_levels(imports_of("zenovay_cli.errors"))


def test_only_cli_compat_imports_typer_or_click_insides():
    # Private Typer/Click modules (typer._click, typer._completion_*, ...) and Typer's non-API
    # modules are imported in one place, so a Typer release that moves them breaks one file.
    def private(module: str) -> bool:
        parts = module.split(".")
        return (parts[0] == "typer" and (any(p.startswith("_") for p in parts[1:]) or parts[1:2] == ["completion"])) \
            or parts[0] == "click"

    importers = sorted(n for n in MODULES if any(private(i) for i in imports_of(n)))
    assert importers == ["zenovay_cli.cli_compat"]


def test_the_fence_check_sees_what_cli_compat_imports():
    assert "typer._click" in imports_of("zenovay_cli.cli_compat")


def test_nothing_imports_click_directly():
    # Typer ships its own copy of Click: a stray `import click` would be a second, unrelated Click.
    assert sorted(n for n in MODULES if "click" in top_levels(imports_of(n))) in ([], ["zenovay_cli.cli_compat"])


def _imported_after(statement: str) -> set:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_the_package_does_not_import_requests():
    loaded = _imported_after("import zenovay_cli")
    assert "zenovay_cli" in loaded
    assert "requests" not in loaded and "urllib3" not in loaded


def test_building_the_cli_imports_neither_requests_nor_rich():
    # What `zenovay --help` and a cache hit pay for before any command runs.
    loaded = _imported_after("import zenovay_cli.main")
    assert "zenovay_cli.main" in loaded
    assert not {"requests", "rich"} & {m.split(".")[0] for m in loaded}


def test_alert_package_and_notify_stay_pure_and_notify_knows_nothing_of_alerts():
    # alert/ is a package (rules, evaluation, output, state); webhook delivery and its wire formats
    # live in notify, which alert may use but which never imports alert back.
    alert_modules = [n for n in MODULES if n == "zenovay_cli.alert" or n.startswith("zenovay_cli.alert.")]
    assert len(alert_modules) >= 5
    for name in [*alert_modules, "zenovay_cli.notify"]:
        assert not top_levels(imports_of(name)) & {"typer", "rich", "click", "requests"}, name
    assert not any(i == "zenovay_cli.alert" or i.startswith("zenovay_cli.alert.")
                   for i in imports_of("zenovay_cli.notify"))
    assert "zenovay_cli.retry.decide" in imports_of("zenovay_cli.notify")


# --- the middle layer (#10): one home for response shapes, fan-out and options -----------------

_CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$")


def camel_case_strings(name: str) -> set:
    """The camelCase identifiers (`totalVisitors`, `dailyStats`) spelled as strings in a module."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _CAMEL.match(node.value)}


def test_the_camel_case_check_sees_the_aliases_in_schema():
    assert {"totalVisitors", "dailyStats", "topCountries"} <= camel_case_strings("zenovay_cli.schema")


def test_no_module_but_schema_spells_a_camel_case_alias():
    # The API's response shapes (both generations) live in schema.py only. The sandbox is exempt:
    # it is the API's imitation, which writes those shapes rather than reading them.
    offenders = {name: sorted(camel_case_strings(name)) for name in MODULES
                 if name != "zenovay_cli.schema" and not name.startswith("zenovay_cli.sandbox")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_commands_contain_no_fan_out_logic():
    # Threads, budgets and run_all live in sites.py (and fanout.py, ratelimit.py beneath it).
    fan_out = {"zenovay_cli.fanout", "zenovay_cli.ratelimit", "threading", "concurrent.futures", "queue"}
    offenders = {n: sorted(imports_of(n) & fan_out) for n in MODULES if n.startswith("zenovay_cli.commands")}
    assert {n: found for n, found in offenders.items() if found} == {}
    for name in MODULES:
        if name.startswith("zenovay_cli.commands"):
            source = MODULES[name].read_text(encoding="utf-8")
            assert "run_all" not in source and "RateBudget" not in source, name


def test_only_sites_fans_requests_out():
    # Every parallel request goes through sites.SiteRun (one client per thread, one budget): the
    # workflows (answers.py, export, alert, history) hand it their requests instead of threading.
    users = {n for n in MODULES if "zenovay_cli.fanout" in imports_of(n)}
    assert users == {"zenovay_cli.sites"}


def test_commands_get_their_world_from_the_context_not_a_global():
    # No module-global run state: a command receives its Context (commands/_options.py).
    for name in MODULES:
        if name.startswith("zenovay_cli.commands"):
            source = MODULES[name].read_text(encoding="utf-8")
            assert not re.search(r"\b_STATE\b|[^_]\bstate\(\)", source), name


def test_no_option_declares_a_help_panel_that_does_nothing():
    # rich_help_panel= only acts with rich help, which the CLI turns off (rich_markup_mode=None).
    assert [n for n in MODULES if "rich_help_panel" in MODULES[n].read_text(encoding="utf-8")] == []
