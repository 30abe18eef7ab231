"""sites.py: picking websites by id or domain, once each, and the outcome -> exit-code rule.

(The fan-out itself is exercised end to end by analytics --all, export and alert; these are the
pure rules every one of them shares.)
"""

import pytest

from zenovay_cli import sites
from zenovay_cli.context import Context
from zenovay_cli.errors import (
    ExitCode,
    InvalidResponseError,
    NotFoundError,
    PartialFailure,
    RateLimitError,
    ServerError,
)
from zenovay_cli.fanout import Outcome

A = {"id": "id-a", "domain": "a.example", "name": "A"}
B = {"id": "id-b", "domain": "www.b.example", "name": "B"}
B_AGAIN = {"id": "id-b", "domain": "b-alias.example", "name": "B (listed twice)"}
OLD = {"website_id": "id-old", "domain": "old.example"}  # an older answer's spelling of the id
LISTED = [A, B, B_AGAIN, OLD]


@pytest.mark.parametrize("name, expected", [
    ("id-a", A), ("a.example", A), ("HTTPS://A.example/some/path", A), ("b.example", B),
    ("www.b.example", B), ("id-old", OLD), ("  a.example. ", A),
])
def test_a_website_is_found_by_id_or_domain(name, expected):
    assert sites.find(LISTED, name) is expected


def test_match_keeps_going_past_an_unknown_name_and_names_it():
    found, missing = sites.match(LISTED, ["b.example", "nope.example", "id-a", "b.example"])
    assert list(found.items()) == [("b.example", B), ("id-a", A)]  # order given, each name once
    assert list(missing) == ["nope.example"]
    assert isinstance(missing["nope.example"], NotFoundError)
    assert "'nope.example'" in missing["nope.example"].message
    assert sites.match(LISTED, []) == ({}, {})


def test_no_names_selects_every_website_once():
    assert sites.select(LISTED, []) == [A, B, OLD]


def test_names_select_in_the_order_given_each_website_once():
    assert sites.select(LISTED, ["b.example", "id-a", "id-b", "b.example"]) == [B, A]


def test_an_unknown_name_is_not_found_naming_it_and_the_count():
    with pytest.raises(NotFoundError) as exc:
        sites.select(LISTED, ["a.example", "nope.example"])
    assert exc.value.exit_code == ExitCode.NOT_FOUND
    assert "'nope.example'" in exc.value.message and f"the {len(LISTED)} your key" in exc.value.message


def test_a_website_listed_without_an_id_fails_on_its_own():
    with pytest.raises(InvalidResponseError) as exc:
        sites.require_id({"domain": "x.example"})
    assert "without an id" in exc.value.message


def ok(site):
    return Outcome(site, value={})


def failed(site, error):
    return Outcome(site, error=error)


def test_every_website_ok_settles_quietly():
    sites.settle(Context(env={}), [ok(A), ok(B)])
    sites.settle(Context(env={}), [])  # nothing to do is not a failure


def test_every_website_failed_raises_the_first_error_with_its_own_exit_code():
    first = RateLimitError("rate limited: slow down", request_id="rid-1")
    with pytest.raises(RateLimitError) as exc:
        sites.settle(Context(env={}), [failed(A, first), failed(B, ServerError("boom"))])
    assert exc.value is first and exc.value.exit_code == ExitCode.RATE_LIMITED


def test_some_failed_is_a_partial_failure_naming_each_with_its_request_id():
    key = "zv_secret_key_in_an_echoed_message"
    outcomes = [ok(A), failed(B, ServerError(f"boom {key}", request_id="rid-b")), failed(OLD, OSError("disk"))]
    with pytest.raises(PartialFailure) as exc:
        sites.settle(Context(env={"ZENOVAY_API_KEY": key}), outcomes)
    assert exc.value.exit_code == ExitCode.PARTIAL == 3
    message = exc.value.message
    assert message.startswith("2 of 3 websites failed: ")
    assert "www.b.example (boom" in message and "request id: rid-b" in message
    assert "old.example (disk)" in message
    assert key not in message  # an API echoing the key back is redacted


def test_all_failed_counts_a_mix_of_results_and_errors():
    with pytest.raises(NotFoundError):
        sites.raise_if_all_failed([NotFoundError("x"), NotFoundError("y")], 2)
    sites.raise_if_all_failed([{"visitors": 1.0}, NotFoundError("y")], 2)  # one answered: no raise


# --- the fan-out against the sandbox (in-process, over HTTP) -----------------------------------


@pytest.fixture
def sandbox():
    from zenovay_cli.sandbox import SandboxConfig, SandboxServer

    server = SandboxServer(SandboxConfig(websites=6, rate_limit=6000)).start()
    try:
        yield server
    finally:
        server.stop()


def test_fetch_each_answers_every_website_in_order_with_one_client_per_worker(sandbox):
    import threading

    env = {"ZENOVAY_API_KEY": sandbox.api_key, "ZENOVAY_BASE_URL": sandbox.base_url, "ZENOVAY_NO_CACHE": "1"}
    ctx = Context(env=env)
    seen = {}  # worker thread -> the clients it was handed
    lock = threading.Lock()

    def task(client, site):
        with lock:
            seen.setdefault(threading.get_ident(), set()).add(id(client))
        return client.get_analytics(site["id"], "7d")["website"]["id"]

    try:
        with sites.SiteRun(ctx) as run:
            listed = run.websites()
            outcomes = run.fetch_each(listed, task, concurrency=3)
            budgets = {id(c.budget) for c in run._clients}
    finally:
        ctx.close()
    expected = [w["id"] for w in sandbox.data().websites()]
    assert [o.value for o in outcomes] == expected and all(o.ok for o in outcomes)
    assert all(len(clients) == 1 for clients in seen.values())  # a worker keeps its client
    assert len({c for clients in seen.values() for c in clients}) == len(seen)  # workers never share one
    assert budgets == {id(run.budget)}  # and every client draws on the one budget
    assert sandbox.stats()["requests"] == 1 + len(expected)


def test_the_function_form_fetches_with_its_own_run(sandbox):
    env = {"ZENOVAY_API_KEY": sandbox.api_key, "ZENOVAY_BASE_URL": sandbox.base_url, "ZENOVAY_NO_CACHE": "1"}
    ctx = Context(env=env)
    listed = sandbox.data().websites()[:2] + [{"id": "no-such-id", "domain": "gone.example"}]
    done = []
    try:
        outcomes = sites.fetch_each(ctx, listed, lambda c, w: c.get_analytics(w["id"], "7d"), 2, done.append)
    finally:
        ctx.close()
    assert [o.ok for o in outcomes] == [True, True, False]
    assert isinstance(outcomes[2].error, NotFoundError)
    assert sorted(id(o) for o in done) == sorted(id(o) for o in outcomes)  # on_done saw each once
    with pytest.raises(PartialFailure, match="1 of 3 websites failed: gone.example"):
        sites.settle(ctx, outcomes)


def test_fetch_parts_sends_every_part_of_every_website_side_by_side_and_fails_per_website(sandbox):
    import threading

    env = {"ZENOVAY_API_KEY": sandbox.api_key, "ZENOVAY_BASE_URL": sandbox.base_url, "ZENOVAY_NO_CACHE": "1"}
    ctx = Context(env=env)
    listed = sandbox.data().websites()[:3] + [{"id": "no-such-id", "domain": "gone.example"}]
    in_flight = {}  # client -> requests it is sending right now
    shared = []  # a client used by two threads at once would land here
    lock = threading.Lock()

    def part(kind):
        def request(client):
            with lock:
                in_flight[id(client)] = in_flight.get(id(client), 0) + 1
                if in_flight[id(client)] > 1:
                    shared.append(id(client))
            try:
                if kind == "pages":
                    return client.get_pages(request.site["id"], "7d", 3)
                return client.get_analytics(request.site["id"], kind)
            finally:
                with lock:
                    in_flight[id(client)] -= 1
        return request

    def parts(site):
        made = {kind: part(kind) for kind in ("7d", "30d", "pages")}
        for request in made.values():
            request.site = site
        return made

    try:
        with sites.SiteRun(ctx) as run:
            outcomes = run.fetch_parts([(w, parts(w)) for w in listed], concurrency=4)
    finally:
        ctx.close()
    assert [o.item for o in outcomes] == listed  # one outcome per website, in the order given
    for outcome, site in zip(outcomes[:3], listed[:3]):
        assert outcome.ok and set(outcome.value) == {"7d", "30d", "pages"}
        assert outcome.value["30d"]["website"]["id"] == site["id"]
        assert outcome.value["30d"]["time_range"] == "30d"
    assert isinstance(outcomes[3].error, NotFoundError)  # only the unknown website failed
    assert shared == []  # no client ever carried two requests at once
    assert sandbox.stats()["requests"] == 3 * len(listed)


def test_fetch_one_raises_the_first_failure(sandbox):
    env = {"ZENOVAY_API_KEY": sandbox.api_key, "ZENOVAY_BASE_URL": sandbox.base_url, "ZENOVAY_NO_CACHE": "1"}
    ctx = Context(env=env)
    good = sandbox.data().websites()[0]["id"]
    try:
        got = sites.fetch_one(ctx, {"id": good}, {"a": lambda c: c.get_analytics(good, "7d"),
                                                   "b": lambda c: c.get_countries(good, "7d")})
        assert got["a"]["website"]["id"] == good and "b" in got
        with pytest.raises(NotFoundError):
            sites.fetch_one(ctx, {"id": "nope"}, {"a": lambda c: c.get_analytics(good, "7d"),
                                                   "b": lambda c: c.get_analytics("nope", "7d")})
    finally:
        ctx.close()
