"""Root app: wiring, global options, and the one place where errors become exit codes.

Startup is budgeted (see docs/performance.md): importing this module costs nothing beyond
`zenovay_cli`, `zenovay --version` answers without importing Typer, and a run of one command turns
only that command into a Click command. The whole tree is built only when it is shown or searched:
root help, TAB completion, and a command name Click does not know (its error lists the commands).
"""

import os
import sys

from zenovay_cli._version import __version__

HELP = """Zenovay web analytics from the terminal, shell scripts and cron.

Set ZENOVAY_API_KEY (or run `zenovay auth login`), then e.g. `zenovay analytics mysite.com --range 30d`.
Try it with no account: `zenovay --demo analytics --all`.
"""

# The top-level commands and groups, in the order the help lists them (Typer puts commands before
# groups); `_register` knows the module of each.
# A name missing here still works (the whole tree is built); tests/test_startup_imports.py checks
# that this list is the tree.
QUERY_COMMANDS = ("usage", "websites", "analytics", "visitors", "pages", "countries", "tech", "errors")
ADVANCED_COMMANDS = ("anomalies", "insights", "retention", "revenue", "heatmaps", "replays")
COMMANDS = (*QUERY_COMMANDS, *ADVANCED_COMMANDS, "report", "digest", "export", "alert", "api", "doctor", "completion", "auth", "config", "cache", "history", "sandbox")

# The root options (see `root` below): flags, and options that take the next argument as value.
_ROOT_FLAGS = frozenset(("--demo", "--no-color", "--debug"))
_ROOT_VALUE_OPTIONS = frozenset(("--profile", "-p", "--api-key", "--base-url", "--color"))
COLOR_CHOICES = ("auto", "always", "never")


def _register(app, only: str | None = None) -> None:
    """Add the commands to `app`: all of them, or only the one named `only` (and import no other)."""

    def wanted(*names: str) -> bool:
        return only is None or only in names

    if wanted(*QUERY_COMMANDS):
        from zenovay_cli.commands import query

        query.register(app)
    if wanted(*ADVANCED_COMMANDS):
        from zenovay_cli.commands import advanced_cmd

        advanced_cmd.register(app)
    if wanted("report", "digest"):
        from zenovay_cli.commands import answers_cmd

        answers_cmd.register(app)
    if wanted("export"):
        from zenovay_cli.commands import export_cmd

        export_cmd.register(app)
    if wanted("alert"):
        from zenovay_cli.commands import alert_cmd

        alert_cmd.register(app)
    if wanted("api"):
        from zenovay_cli.commands import api_cmd

        api_cmd.register(app)
    if wanted("doctor"):
        from zenovay_cli.commands import doctor_cmd

        doctor_cmd.register(app)
    if wanted("auth"):
        from zenovay_cli.commands import auth

        app.add_typer(auth.app, name="auth")
    if wanted("config"):
        from zenovay_cli.commands import config_cmd

        app.add_typer(config_cmd.app, name="config")
    if wanted("cache"):
        from zenovay_cli.commands import cache_cmd

        app.add_typer(cache_cmd.app, name="cache")
    if wanted("history"):
        from zenovay_cli.commands import history_cmd

        app.add_typer(history_cmd.app, name="history")
    if wanted("sandbox"):
        from zenovay_cli.commands import sandbox_cmd

        app.add_typer(sandbox_cmd.app, name="sandbox")
    if wanted("completion"):
        from zenovay_cli.commands import completion_cmd

        completion_cmd.register(app)
    if only is not None:  # query.register adds eight commands, answers_cmd two; keep the one asked for
        app.registered_commands = [c for c in app.registered_commands if c.name == only]


def make_app(only: str | None = None):
    """The Typer app: the root options and every command, or only the command named `only`."""
    from enum import Enum
    from typing import Annotated

    import typer

    class ColorWhen(str, Enum):
        auto, always, never = COLOR_CHOICES

    from zenovay_cli.commands._options import extend_root, run_context
    from zenovay_cli.context import ConnectionOptions
    from zenovay_cli.errors import exit_codes_epilog

    app = typer.Typer(
        name="zenovay",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,  # plain help: literal [env: …] text, and --help never imports rich
        # max_content_width: help uses the whole terminal (Click stops at 80 and cuts summaries)
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 1000},
        epilog=exit_codes_epilog(),  # generated from ExitCode, as the README table is
    )

    def _version(value: bool) -> None:
        if value:
            sys.stdout.write(f"zenovay-cli {__version__}\n")
            raise typer.Exit(0)

    @app.callback()
    @extend_root  # --profile --api-key --base-url --debug: the same declarations as the commands'
    def root(
        click_context: typer.Context,
        demo: Annotated[bool, typer.Option("--demo", help="Run against a built-in sandbox with synthetic data (no key needed).")] = False,
        no_color: Annotated[bool, typer.Option("--no-color", help="No colour (also when NO_COLOR is set); the same as --color never.")] = False,
        color: Annotated[ColorWhen | None, typer.Option(
            "--color", metavar="WHEN", case_sensitive=False, show_default=False,
            help="auto: colour on a terminal unless NO_COLOR or TERM=dumb (FORCE_COLOR=1 forces it); "
                 "always: also in a pipe (`zenovay --color always websites | less -R`); never.")] = None,
        version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
        *,
        connection: ConnectionOptions,
    ) -> None:
        """Zenovay web analytics from the terminal, shell scripts and cron."""
        when = color.value if color is not None else "auto"
        if no_color and color is not None and when != "never":
            from zenovay_cli.errors import UsageError

            raise UsageError(f"--no-color and --color {when} contradict each other; give one")
        choice = {"always": True, "never": False}.get(when)
        run_context(click_context).set_root(connection, demo=demo, no_color=no_color, color=choice)

    _register(app, only)
    return app


_APP = None


def __getattr__(name: str):
    # `zenovay_cli.main.app`, the whole Typer app, is built on first use.
    global _APP
    if name == "app":
        if _APP is None:
            _APP = make_app()
        return _APP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _report(ctx, exc: BaseException) -> int:
    """Print one error line (plus hint and request id) on stderr and return the exit code."""
    from zenovay_cli.errors import ZenovayError

    redact = ctx.redact
    if isinstance(exc, ZenovayError):
        ctx.out.error(redact(exc.message), hint=redact(exc.hint), request_id=redact(exc.request_id))
        return int(exc.exit_code)
    ctx.out.error(
        redact(f"unexpected error: {type(exc).__name__}: {exc}"),
        hint="Run again with --debug for the traceback, and report it if it persists.",
    )
    return 1


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that flushing at interpreter exit cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _flush_stdout() -> None:
    from zenovay_cli.output import _output_error

    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        raise _output_error(exc) from None


def _layout_epilogs(command) -> None:
    """Show each command's "Examples: a  ·  b" epilog as an indented list Click does not rewrap."""
    epilog = getattr(command, "epilog", None)
    if epilog and epilog.startswith(("Example: ", "Examples: ")):
        body = epilog.split(": ", 1)[1]
        parts = body.split("  ·  ")
        command.epilog = "\b\nExamples:\n" + "\n".join("  " + p for p in parts)
    for param in getattr(command, "params", ()):
        # "<int range>"/"<float range>" say nothing a user can act on: name the value instead
        # (the range itself is shown in the help text, e.g. [1<=x<=100])
        kind = type(getattr(param, "type", None)).__name__
        if getattr(param, "metavar", "") is None and kind in ("IntRange", "FloatRange"):
            seconds = "second" in (getattr(param, "help", "") or "").lower()
            param.metavar = "SECONDS" if seconds else "N" if kind == "IntRange" else "NUMBER"
    for sub in getattr(command, "commands", {}).values():
        _layout_epilogs(sub)


def build_command(only: str | None = None):
    """The Click command tree of the app (or of the root and the command `only`), with example
    epilogs laid out."""
    from zenovay_cli.cli_compat import get_command

    command = get_command(make_app(only))
    _layout_epilogs(command)
    return command


# Root flags that may also be given after the command name (`zenovay usage --demo`), as --debug
# can: they are moved in front of it before Click parses the line.
_MOVABLE_ROOT_FLAGS = ("--demo", "--no-color")
_MOVABLE_ROOT_VALUE = "--color"  # `--color WHEN` or `--color=WHEN`


def _movable(arg: object) -> bool:
    return arg in _MOVABLE_ROOT_FLAGS or arg == _MOVABLE_ROOT_VALUE or str(arg).startswith("--color=")


def _root_flags_first(args: list) -> list:
    if "_ZENOVAY_COMPLETE" in os.environ or not any(_movable(a) for a in args):
        return args
    end = args.index("--") if "--" in args else len(args)
    moved: list = []
    kept: list = []
    i = 0
    while i < end:
        arg = args[i]
        if arg == _MOVABLE_ROOT_VALUE and i + 1 < end:
            moved += [arg, args[i + 1]]  # the option and its value travel together
            i += 2
            continue
        (moved if _movable(arg) else kept).append(arg)
        i += 1
    flags = list(dict.fromkeys(a for a in moved if a in _MOVABLE_ROOT_FLAGS))
    rest = [a for a in moved if a not in _MOVABLE_ROOT_FLAGS]
    return [*flags, *rest, *kept, *args[end:]]


def command_to_run(args: list) -> str | None:
    """The top-level command Click will run for `args`, when that is certain without the tree.

    None (build the whole tree) for root help, completion, anything but the known root options
    before the command, and a name that is not a command: what Click then prints (the command
    list, "No such command", suggestions) needs every command.
    """
    if "_ZENOVAY_COMPLETE" in os.environ:
        return None
    i = 0
    while i < len(args):
        arg = str(args[i])
        if arg in _ROOT_FLAGS:
            i += 1
        elif arg in _ROOT_VALUE_OPTIONS:
            i += 2
        elif arg.startswith(("--profile=", "--api-key=", "--base-url=", "--color=")) or (
            arg.startswith("-p") and not arg.startswith("--")
        ):
            i += 1  # a value given in the same argument: --profile=work, -pwork
        elif arg.startswith("-"):
            return None  # --help, --version, an unknown option, `--`, `-`: Click decides
        else:
            return arg if arg in COMMANDS else None
    return None


def _short_lived_gc() -> None:
    """Garbage collection for a process that runs one command and exits.

    Off while Typer, the command modules and the command tree are imported and built: they make
    tens of thousands of objects and no garbage, and collections triggered by them only cost time.
    At exit, everything is frozen first: the interpreter would otherwise walk every object once
    more (40-50 ms after an HTTP request) for memory the OS frees anyway. Files, the cache and
    the terminal are written and closed explicitly before that; sys.stdout is flushed as always.
    """
    import atexit
    import gc

    gc.disable()
    atexit.register(gc.freeze)  # registered first, so it runs after every other exit handler


def run(argv: list | None = None, context=None) -> None:
    """Console-script entry point; exits with the run's exit code.

    `context` (a zenovay_cli.context.Context) is the world the command runs in: its environment,
    output, sleep, clock and random. Tests hand one in (like HTTPie's `env=`); by default a fresh
    one reads os.environ and the real terminal.
    """
    args = _root_flags_first(sys.argv[1:] if argv is None else list(argv))
    if args in (["--version"], ["-V"]) and "_ZENOVAY_COMPLETE" not in os.environ:
        # What the eager --version option prints, without importing Typer for it.
        sys.stdout.write(f"zenovay-cli {__version__}\n")
        sys.exit(0)

    console = argv is None  # the console script or `python -m zenovay_cli`: the process ends here
    if sys.stderr is None:  # started with stderr closed (2>&-): talk goes nowhere, codes still hold
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if any(not str(getattr(s, "encoding", None) or "utf-8").lower().startswith("utf")
           for s in (sys.stdout, sys.stderr)):
        from zenovay_cli.output import tolerant_streams

        tolerant_streams()  # a non-UTF-8 stream: escapes, never UnicodeEncodeError
    if console:
        _short_lived_gc()
    import typer

    from zenovay_cli.cli_compat import click_exception
    from zenovay_cli.errors import ExitCode

    usage_error = click_exception()  # what Click raises for bad usage

    from zenovay_cli.context import Context

    if context is None:
        context = Context()
    command = build_command(command_to_run(args))
    if console:
        import gc

        gc.freeze()  # what the imports and the command tree made lives until the exit
        gc.enable()  # the command's own garbage is collected: long streams stay flat
    if "_ZENOVAY_COMPLETE" in os.environ:  # a <TAB>: Click answers it inside command.main
        from zenovay_cli.commands import completion_cmd

        completion_cmd.install_completion_classes()
    code = 0
    try:
        try:
            result = command.main(args=args, prog_name="zenovay", standalone_mode=False, obj=context)
        except SystemExit as exc:
            # Typer answers a broken pipe with sys.exit(1) even when not standalone.
            if not isinstance(exc.__context__, BrokenPipeError):
                raise
            raise exc.__context__ from None
        code = result if isinstance(result, int) else 0
        _flush_stdout()  # a full disk shows now, as an error, not at exit as a traceback
        if code == ExitCode.INTERRUPTED:  # Typer returns this code for Ctrl-C inside a command
            sys.stderr.write("\nInterrupted.\n")
    except usage_error as exc:  # bad usage: Click's message, exit 2
        try:
            exc.show()
        except (OSError, ValueError, AttributeError):
            pass  # stderr full or closed: the exit code still says "usage"
        code = exc.exit_code
        click_ctx = getattr(exc, "ctx", None)
        if click_ctx is not None and click_ctx.command_path.split()[1:2] == ["alert"]:
            from zenovay_cli.commands import alert_cmd

            # monitoring-plugin convention: bad arguments are UNKNOWN (its exit code, on stdout too)
            code = alert_cmd.report_usage_error(context, exc.format_message(), list(sys.argv[1:] if argv is None else argv))
    except typer.Exit as exc:
        code = exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("\nInterrupted.\n")
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        # `zenovay visitors --all | head`: the reader left; that is not an error.
        _silence_stdout()
        code = 0
    except OSError as exc:  # a file or stream the system refused: its own words, not a bug
        from zenovay_cli.errors import ZenovayError

        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        code = _report(context, ZenovayError(f"{exc.strerror or exc}{where}"))
    except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
        if context.debug:
            import traceback

            sys.stderr.write(context.redact(traceback.format_exc()))
        code = _report(context, exc)
        from zenovay_cli.errors import OutputError

        if isinstance(exc, OutputError):
            _silence_stdout()  # what is still buffered must not fail again at exit
    finally:
        context.close()
    sys.exit(int(code))
