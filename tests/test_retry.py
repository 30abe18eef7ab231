"""The retry policy: exact schedules with injected randomness."""

import email.utils

import pytest

from zenovay_cli.retry import backoff_delay, decide, parse_retry_after

NOW = 1_750_000_000.0


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("42", NOW) == 42.0
    date = email.utils.formatdate(NOW + 90, usegmt=True)
    assert parse_retry_after(date, NOW) == pytest.approx(90, abs=1)


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "Mon, 99 Foo 2026"])
def test_unusable_retry_after_is_ignored(value):
    assert parse_retry_after(value, NOW) is None


def test_retry_after_in_the_past_means_no_wait():
    assert parse_retry_after("-5", NOW) == 0.0
    assert parse_retry_after(email.utils.formatdate(NOW - 60, usegmt=True), NOW) == 0.0


def test_backoff_doubles_with_equal_jitter_and_is_capped():
    assert [backoff_delay(a, lambda: 0.0) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff_delay(a, lambda: 1.0) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(20, lambda: 1.0) == 30.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_until_retries_run_out(status):
    decisions = [decide(a, 3, max_wait=60, rand=lambda: 0.0, status=status) for a in (1, 2, 3, 4)]
    assert [d.retry for d in decisions] == [True, True, True, False]
    assert [d.delay for d in decisions[:3]] == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_client_errors_are_never_retried(status):
    assert not decide(1, 3, max_wait=60, rand=lambda: 0.0, status=status).retry


def test_rate_limit_honours_retry_after():
    d = decide(1, 3, max_wait=60, rand=lambda: 0.0, status=429, code="RATE_LIMIT_EXCEEDED", retry_after=7)
    assert d.retry and d.delay == 7


def test_monthly_quota_is_not_retried():
    d = decide(1, 3, max_wait=60, rand=lambda: 0.0, status=429, code="MONTHLY_LIMIT_EXCEEDED", retry_after=5)
    assert not d.retry and not d.too_long


def test_wait_longer_than_max_wait_fails_at_once():
    d = decide(1, 3, max_wait=60, rand=lambda: 0.0, status=429, retry_after=3600)
    assert not d.retry and d.too_long and d.delay == 3600


def test_network_errors_are_retried():
    d = decide(1, 2, max_wait=60, rand=lambda: 0.5, network_error="timed out")
    assert d.retry and d.delay == 0.75
