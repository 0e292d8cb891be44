"""What `csloop` prints when a command fails: one line on stderr and an exit code, never a
traceback unless `--debug` was given.

The handler sits in the command group's `invoke`, so it covers every subcommand and works the
same under typer's test runner as from a shell.
"""

import httpx
import typer
# typer carries its own copy of click; usage errors are its ClickException, not the click package's.
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from cli.client import CSLoopError

# The exit codes besides 0, as `csloop --help` and the README list them; 2, a usage error, is
# set by typer (click) itself.
ERROR = 1
ROWS_FAILED = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 error (gateway unreachable, refused, or an error answer); "
    "2 usage error; 3 an import finished but some rows failed."
)
ERRORS_SHOWN = 3  # a problem's errors[] beyond these are counted, not listed
LINE_LIMIT = 300


class CommandFailed(RuntimeError):
    """A failure the command has already put into words (busy port, unreadable file, missing secret...)."""


class OneLineErrors(TyperGroup):
    """The top-level group: known failures become one line and exit 1; `--debug` re-raises them."""

    def invoke(self, ctx: typer.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, ClickException):  # exit codes and usage errors (2) typer reports itself
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            typer.echo(f"error: {describe(exc)}", err=True)
            raise typer.Exit(ERROR) from None


def describe(exc: Exception) -> str:
    """One line saying what went wrong, and for the common cases what to check."""
    if isinstance(exc, CSLoopError):
        return _one_line(_problem_line(exc))
    if isinstance(exc, httpx.TransportError):
        return _one_line(_unreachable_line(exc))
    if isinstance(exc, CommandFailed):
        return _one_line(str(exc))
    return _one_line(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")


def _problem_line(exc: CSLoopError) -> str:
    problem = exc.problem
    title = problem.get("title") or "error"
    line = f"{exc.status} {title}"
    if detail := problem.get("detail"):
        line += f": {detail}"
    if errors := exc.errors:
        shown = "; ".join(_error_item(error) for error in errors[:ERRORS_SHOWN])
        more = f" (+{len(errors) - ERRORS_SHOWN} more)" if len(errors) > ERRORS_SHOWN else ""
        line += f" [{shown}{more}]"
    if exc.status == 401:
        line += " (check --key / CSLOOP_API_KEY)"
    elif exc.status == 403:
        line += " (the key lacks a scope, or the organisation is outside its subtree)"
    return line


def _error_item(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    field = error.get("field") or ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    message = error.get("message") or error.get("msg") or ""
    return f"{field}: {message}" if field else str(message)


def _unreachable_line(exc: httpx.TransportError) -> str:
    try:
        url = exc.request.url
        where = f"{url.scheme}://{url.netloc.decode()}"
    except RuntimeError:  # an httpx error raised before a request existed
        where = "the server"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot reach {where} ({str(exc) or 'connection refused'}): is the suite running there?"
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} did not answer in time ({type(exc).__name__})"
    return f"the connection to {where} failed: {type(exc).__name__}: {exc}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= LINE_LIMIT else line[:LINE_LIMIT - 1] + "…"
