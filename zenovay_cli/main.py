"""Root app: wiring, global options, and the one place where errors become exit codes."""

import os
import sys
from typing import Annotated

import typer

from zenovay_cli import __version__
from zenovay_cli.commands import (
    alert_cmd,
    auth,
    cache_cmd,
    completion_cmd,
    config_cmd,
    export_cmd,
    query,
    sandbox_cmd,
)
from zenovay_cli.commands.common import redact, reset_state, state

HELP = """Zenovay web analytics from the terminal, shell scripts and cron.

Set ZENOVAY_API_KEY (or run `zenovay auth login`), then e.g. `zenovay analytics mysite.com --range 30d`.
Try it with no account: `zenovay --demo analytics --all`.
"""

app = typer.Typer(
    name="zenovay",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: literal [env: …] text, and --help never imports rich
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 ok, 1 API/network failure, 2 usage, 3 partial failure, 4 auth, 5 not found, 6 rate limit/quota, 130 interrupted.",
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"zenovay-cli {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    demo: Annotated[bool, typer.Option("--demo", help="Run against a built-in sandbox with synthetic data (no key needed).")] = False,
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Config profile [env: ZENOVAY_PROFILE].", show_default=False)] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="API key (prefer ZENOVAY_API_KEY).", show_default=False)] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="API base URL [env: ZENOVAY_BASE_URL].", show_default=False)] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour (also when NO_COLOR is set).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and request details.")] = False,
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Zenovay web analytics from the terminal, shell scripts and cron."""
    st = state()
    st.globals.update(
        {k: v for k, v in dict(profile=profile, api_key=api_key, base_url=base_url, no_color=no_color, debug=debug).items() if v}
    )
    if demo:
        st.globals["demo"] = True
        st.start_demo()


query.register(app)
export_cmd.register(app)
alert_cmd.register(app)
app.add_typer(auth.app, name="auth")
app.add_typer(config_cmd.app, name="config")
app.add_typer(cache_cmd.app, name="cache")
app.add_typer(sandbox_cmd.app, name="sandbox")
completion_cmd.register(app)


def _report(exc: BaseException) -> int:
    """Print one error line (plus hint and request id) on stderr and return the exit code."""
    from zenovay_cli.errors import ZenovayError

    st = state()
    if isinstance(exc, ZenovayError):
        st.out.error(redact(exc.message), hint=redact(exc.hint), request_id=redact(exc.request_id))
        return int(exc.exit_code)
    st.out.error(
        redact(f"unexpected error: {type(exc).__name__}: {exc}"),
        hint="Run again with --debug for the traceback, and report it if it persists.",
    )
    return 1


def _layout_epilogs(command) -> None:
    """Show each command's "Examples: a  ·  b" epilog as an indented list Click does not rewrap."""
    epilog = getattr(command, "epilog", None)
    if epilog and epilog.startswith(("Example: ", "Examples: ")):
        body = epilog.split(": ", 1)[1]
        parts = body.split("  ·  ")
        command.epilog = "\b\nExamples:\n" + "\n".join("  " + p for p in parts)
    for sub in getattr(command, "commands", {}).values():
        _layout_epilogs(sub)


def build_command():
    """The Click command tree of the app, with example epilogs laid out."""
    command = typer.main.get_command(app)
    _layout_epilogs(command)
    return command


def run(argv: list | None = None) -> None:
    """Console-script entry point."""
    from typer import _click  # Typer's own copy of Click: its exceptions are what parsing raises

    reset_state()
    command = build_command()
    if "_ZENOVAY_COMPLETE" in os.environ:  # a <TAB>: Click answers it inside command.main
        completion_cmd.install_completion_classes()
    code = 0
    try:
        try:
            result = command.main(args=argv, prog_name="zenovay", standalone_mode=False)
        except SystemExit as exc:
            # Typer answers a broken pipe with sys.exit(1) even when not standalone.
            if not isinstance(exc.__context__, BrokenPipeError):
                raise
            raise exc.__context__ from None
        code = result if isinstance(result, int) else 0
        if code == 130:  # Typer turns Ctrl-C inside a command into a returned 130
            sys.stderr.write("\nInterrupted.\n")
    except _click.exceptions.ClickException as exc:  # bad usage: Click's message, exit 2
        exc.show()
        code = exc.exit_code
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and ctx.command_path.split()[1:2] == ["alert"]:
            code = 3  # monitoring-plugin convention: bad arguments are UNKNOWN
            alert_cmd.report_usage_error(exc.format_message(), list(sys.argv[1:] if argv is None else argv))
    except typer.Exit as exc:
        code = exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("\nInterrupted.\n")
        code = 130
    except BrokenPipeError:
        # `zenovay visitors --all | head`: the reader left; that is not an error.
        try:  # so that flushing at interpreter exit cannot raise again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        code = 0
    except Exception as exc:  # noqa: BLE001 - the one place errors become exit codes
        if state().debug:
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        code = _report(exc)
    finally:
        state().close()
    sys.exit(code)
