"""Exit codes and the exception hierarchy; imports nothing from the package."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Each exit code with its short name (the --help epilog) and its meaning (the README table)."""

    short: str
    meaning: str

    def __new__(cls, value: int, short: str, meaning: str) -> ExitCode:
        member = int.__new__(cls, value)
        member._value_ = value
        member.short, member.meaning = short, meaning
        return member

    OK = 0, "ok", "success (an empty result is a success)"
    API_FAILURE = (
        1, "API/network failure",
        "API or network failure after retries, an unusable response (e.g. a proxy's HTML page), "
        "or a file or stdout that cannot be written (full disk, closed stream)",
    )
    USAGE = 2, "usage", "usage error: bad option, argument or value, unreadable config"
    PARTIAL = 3, "partial failure", "partial failure: a multi-website run where some websites failed"
    AUTH = 4, "auth", "authentication or permission: no key, 401, 403 (including `API_PAID_PLAN_REQUIRED`)"
    NOT_FOUND = 5, "not found", "not found: unknown website"
    RATE_LIMITED = (
        6, "rate limit/quota",
        "rate limit or monthly quota: a 429 that retrying within `--max-wait` cannot fix, a "
        "command whose wait for the rate budget is longer than `--max-wait`, or a run refused "
        "before it starts for costing more than `--max-requests` or than the month has left",
    )
    INTERRUPTED = 130, "interrupted", "interrupted (Ctrl-C)"


def exit_codes_epilog() -> str:
    """The one line the root --help ends with."""
    return "Exit codes: " + ", ".join(f"{code.value} {code.short}" for code in ExitCode) + "."


def exit_codes_table() -> str:
    """The README's exit-code table (Markdown), from the same members."""
    rows = [f"| {code.value} | {code.meaning} |" for code in ExitCode]
    return "\n".join(["| code | meaning |", "| --- | --- |", *rows]) + "\n"


class ZenovayError(Exception):
    """Base of every error the tool reports; carries its exit code, a hint and the request id."""

    exit_code: ExitCode = ExitCode.API_FAILURE
    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message


class UsageError(ZenovayError):
    """Bad option, argument or value; raised before any request is sent."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The config file cannot be read or holds a bad value."""


class PartialFailure(ZenovayError):
    """A multi-website run in which some websites failed."""

    exit_code = ExitCode.PARTIAL


class OutputError(ZenovayError):
    """Standard output cannot be written: closed (`>&-`), a full disk (`/dev/full`), an I/O error.
    (A reader that went away, `| head`, is not an error.)"""

    exit_code = ExitCode.API_FAILURE


class LockedError(ZenovayError):
    """Another run holds the lock."""

    exit_code = ExitCode.API_FAILURE


class ApiError(ZenovayError):
    """An error answer from the API (or something standing in front of it)."""

    exit_code = ExitCode.API_FAILURE

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, request_id=request_id)
        self.status = status
        self.code = code


class BadRequestError(ApiError):
    """400/422: the API rejected a parameter."""

    exit_code = ExitCode.USAGE


class AuthError(ApiError):
    """No key, a rejected key (401) or a key without permission (403)."""

    exit_code = ExitCode.AUTH
    default_hint = "Check the key with `zenovay auth status`, or log in again with `zenovay auth login`."


class PaidPlanRequiredError(AuthError):
    """403 API_PAID_PLAN_REQUIRED: the key's team is on the Free plan."""

    default_hint = "The Zenovay API needs a Pro plan or higher: upgrade the team, then retry."


class NotFoundError(ApiError):
    exit_code = ExitCode.NOT_FOUND
    default_hint = "List the websites your key can see with `zenovay websites`."


class RateLimitError(ApiError):
    """429 RATE_LIMIT_EXCEEDED whose wait is longer than --max-wait, or retries ran out."""

    exit_code = ExitCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class QuotaExceededError(RateLimitError):
    """429 MONTHLY_LIMIT_EXCEEDED: never retried."""


class ServerError(ApiError):
    """5xx after retries."""


class NetworkError(ApiError):
    """Connection failure or timeout after retries."""


class InvalidResponseError(ApiError):
    """The API answered with something that is not the documented envelope."""


class BudgetRefused(ZenovayError):
    """A run that would cost more requests than --max-requests or the month has left (not sent)."""

    exit_code = ExitCode.RATE_LIMITED
