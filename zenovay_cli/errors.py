"""Exit codes and the exception hierarchy; imports nothing from the package."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    API_FAILURE = 1
    USAGE = 2
    PARTIAL = 3
    AUTH = 4
    NOT_FOUND = 5
    RATE_LIMITED = 6
    INTERRUPTED = 130


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
