"""The sandbox agrees with its clock and with itself: no answer holds a time later than the
sandbox's now (the real API never does), and a quiet website, which analytics says has no
visitors, has no visits anywhere else either (issue #14's audit: silence rules could not fire).

Everything goes through the routes as a client sees them; the clock is injected, nothing sleeps.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
import requests

from zenovay_cli.sandbox import DEMO_API_KEY, SandboxConfig, SandboxServer, routes
from zenovay_cli.sandbox.data import RANGE_DAYS, RANGES, SandboxData

ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def answer(data: SandboxData, path: str, tier: str = "scale", body: bytes = b"", **query: Any
           ) -> Any:
    response = routes.route(data, path, {k: [str(v)] for k, v in query.items()}, scope=None,
                            usage=dict, tier=tier, body=body)
    assert response.status == 200, response.body
    return json.loads(response.body)["data"]


def times_in(doc: Any) -> list[str]:
    """Every ISO date-time string anywhere in an answer's data."""
    if isinstance(doc, dict):
        return [t for value in doc.values() for t in times_in(value)]
    if isinstance(doc, list):
        return [t for value in doc for t in times_in(value)]
    return [doc] if isinstance(doc, str) and ISO_TIME.fullmatch(doc) else []


def every_timed_answer(data: SandboxData) -> dict[str, Any]:
    """The answers of every endpoint that returns times, for every website, range and page end."""
    out: dict[str, Any] = {"/websites": answer(data, "/websites")}
    for wid in data.website_ids:
        out[f"/websites/{wid}"] = answer(data, f"/websites/{wid}")
        for range_ in RANGES:
            out[f"/analytics/{wid} {range_}"] = answer(data, f"/analytics/{wid}", range=range_)
            out[f"/visitors {wid} {range_}"] = answer(
                data, f"/analytics/{wid}/visitors", range=range_, limit=5)
        out[f"/errors {wid}"] = answer(data, f"/errors/{wid}/groups", limit=200)
        for tier in ("pro", "scale"):
            out[f"/anomalies {wid} {tier}"] = answer(data, f"/anomalies/{wid}", tier=tier,
                                                     range="90d", limit=200)
        out[f"/insights {wid}"] = answer(data, f"/insights/{wid}", range="1y", limit=200)
        out[f"/heatmaps {wid}"] = answer(data, f"/heatmaps/{wid}/pages", limit=100)
        out[f"/replays {wid}"] = answer(data, f"/replays/{wid}/sessions", limit=200)
    return out


# The audit's morning (04:21, when noon was still ahead), the first moments of a day, the
# afternoon (when noon had passed) and the last second of a day.
CLOCKS = [datetime(2026, 12, 2, 4, 21, 7, 250000, tzinfo=timezone.utc),
          datetime(2026, 12, 2, 0, 0, 0, 500000, tzinfo=timezone.utc),
          datetime(2026, 12, 2, 14, 5, tzinfo=timezone.utc),
          datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)]


@pytest.mark.parametrize("clock", CLOCKS, ids=lambda c: c.strftime("%H:%M"))
def test_no_answer_holds_a_time_later_than_the_clock(clock):
    data = SandboxData(seed=3, websites=6, visitors_per_site=300, clock=lambda: clock)
    assert data.now() == clock and data.today == clock.date()
    answers = every_timed_answer(data)
    kinds_with_times = set()
    for name, doc in answers.items():
        late = [t for t in times_in(doc) if at(t) > clock]
        assert not late, f"{name} answers {late[:3]} after now {clock.isoformat()}"
        if times_in(doc):
            kinds_with_times.add(name.split()[0].split("/")[1])
    # Not vacuous: every kind of timed answer was looked at with times in it.
    assert kinds_with_times == {"websites", "analytics", "visitors", "errors", "anomalies",
                                "insights", "heatmaps", "replays"}


@pytest.mark.parametrize("clock", CLOCKS, ids=lambda c: c.strftime("%H:%M"))
def test_the_newest_visitor_is_moments_before_the_clock(clock):
    """What a silence rule reads: on a busy website the newest visit lies within one visitor's
    slot of now (range / visitors), not hours ahead of it or behind it."""
    data = SandboxData(seed=0, websites=3, visitors_per_site=250, clock=lambda: clock)
    for wid in data.website_ids:
        for range_ in RANGES:
            newest = answer(data, f"/analytics/{wid}/visitors", range=range_, limit=1)
            slot = timedelta(days=RANGE_DAYS[range_]) / 250
            assert clock - slot <= at(newest["visitors"][0]["visited_at"]) <= clock


def test_the_overview_ends_at_now_and_its_last_row_is_todays():
    clock = CLOCKS[0]
    data = SandboxData(seed=0, websites=2, clock=lambda: clock)
    doc = answer(data, f"/analytics/{data.website_ids[0]}", range="7d")
    assert at(doc["date_range"]["endDateTime"]) == clock.replace(microsecond=250000)
    assert doc["daily_stats"][-1]["date"] == clock.date().isoformat()


def test_a_pinned_today_ends_at_its_last_second_and_answers_the_same_every_time():
    day = date(2026, 3, 3)
    first = SandboxData(seed=1, websites=4, today=day, clock=lambda: CLOCKS[0])
    again = SandboxData(seed=1, websites=4, today=day, clock=lambda: CLOCKS[2])
    end = datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)
    assert first.now() == end and first.today == day
    answers = every_timed_answer(first)
    assert answers == every_timed_answer(again), "a pinned today does not follow the clock"
    every_time = [at(t) for doc in answers.values() for t in times_in(doc)]
    assert every_time and max(every_time) <= end
    # The day itself is covered: the newest visits are from its last minutes.
    newest = answers[f"/visitors {first.website_ids[0]} 24h"]["visitors"][0]["visited_at"]
    assert end - timedelta(days=1) / first.visitors_per_site <= at(newest) <= end


def test_a_pinned_now_sets_today_and_bounds_every_time():
    now = datetime(2026, 6, 30, 9, 15, tzinfo=timezone.utc)
    data = SandboxData(seed=2, websites=4, now=now)
    assert data.today == now.date()
    every_time = [at(t) for doc in every_timed_answer(data).values() for t in times_in(doc)]
    assert every_time and max(every_time) <= now
    with pytest.raises(ValueError, match="timezone"):
        SandboxData(now=datetime(2026, 6, 30, 9, 15))


def test_anomalies_stay_put_between_two_scans_and_move_at_the_next():
    """On the wall clock, detection times fall on the plan's scan schedule: the same between two
    scans (a cached answer stays right), shifted once a new scan has run."""
    times = [datetime(2026, 12, 2, h, m, tzinfo=timezone.utc) for h, m in ((6, 1), (11, 59), (12, 0))]
    seen = []
    for clock in times:
        data = SandboxData(seed=0, websites=2, clock=lambda clock=clock: clock)
        wid = data.website_ids[0]
        seen.append(answer(data, f"/anomalies/{wid}", tier="pro", range="90d", limit=200)["anomalies"])
    assert seen[0], "the first website has anomalies"
    assert seen[0] == seen[1]
    assert all(at(a["detected_at"]) <= times[0] for a in seen[0])
    assert all(at(a["detected_at"]).minute == 0 and at(a["detected_at"]).hour % 6 == 0
               for a in seen[0]), "Pro scans every 6 hours"
    # 6 h later the same anomalies (the oldest may have left the 90 days) are 6 h later.
    pairs = list(zip(seen[0], seen[2]))
    assert len(pairs) >= len(seen[0]) - 1
    assert all(a["id"] == b["id"] for a, b in pairs)
    assert all(at(b["detected_at"]) - at(a["detected_at"]) == timedelta(hours=6) for a, b in pairs)


def test_a_running_replay_session_ends_at_now_not_after():
    clock = CLOCKS[0]
    data = SandboxData(seed=0, websites=40, clock=lambda: clock)
    with_replays = [w for w in data.website_ids if data.site_settings(w)["session_replay"]]
    running = 0
    for wid in with_replays:
        sessions = answer(data, f"/replays/{wid}/sessions", limit=200)["sessions"]
        assert sessions
        for s in sessions:
            assert at(s["started_at"]) <= at(s["ended_at"]) <= clock
            assert (at(s["ended_at"]) - at(s["started_at"])).total_seconds() == pytest.approx(
                s["duration_seconds"], abs=0.001)
            running += clock - at(s["ended_at"]) < timedelta(seconds=1)
    assert running, "some newest session was still running at now (the case looked at)"


# -- quiet websites -------------------------------------------------------------------------------


@pytest.fixture
def quiet_world():
    data = SandboxData(seed=0, websites=8, visitors_per_site=300, quiet_websites=2,
                       clock=lambda: CLOCKS[0])
    return data, data.website_ids[-2:], data.website_ids[:-2]


@pytest.mark.parametrize("range_", RANGES)
def test_a_quiet_website_lists_no_visitors_where_analytics_counts_none(quiet_world, range_):
    data, quiet, busy = quiet_world
    for wid in quiet + busy:
        summary = answer(data, f"/analytics/{wid}", range=range_)["summary"]
        page = answer(data, f"/analytics/{wid}/visitors", range=range_, limit=1000)
        if summary["total_visitors"] == 0:
            assert page == {"visitors": [], "pagination": {"limit": 1000, "offset": 0,
                                                           "has_more": False}}
        else:
            assert len(page["visitors"]) == min(1000, data.visitors_per_site)
    for wid in quiet:
        assert answer(data, f"/analytics/{wid}", range=range_)["summary"]["total_visitors"] == 0
    assert all(answer(data, f"/analytics/{wid}", range=range_)["summary"]["total_visitors"]
               for wid in busy)


def test_a_quiet_website_shows_no_traffic_anywhere(quiet_world):
    data, quiet, busy = quiet_world
    for wid in quiet:
        assert answer(data, f"/analytics/{wid}/pages", range="30d")["pages"] == []
        assert answer(data, f"/analytics/{wid}/countries", range="30d")["countries"] == []
        technology = answer(data, f"/analytics/{wid}/technology", range="30d")
        assert technology == {"browsers": [], "operating_systems": [], "device_types": []}
        assert answer(data, f"/errors/{wid}/groups")["error_groups"] == []
        assert answer(data, f"/anomalies/{wid}", range="90d")["anomalies"] == []
        assert answer(data, f"/insights/{wid}", range="1y")["insights"] == []
        assert answer(data, f"/heatmaps/{wid}/pages")["pages"] == []
        replays = answer(data, f"/replays/{wid}/sessions")
        assert replays["sessions"] == [] and replays["pagination"]["has_more"] is False
        assert answer(data, f"/retention/{wid}", range="30d")["cohorts"] == []
    # The busy websites keep all of it (per their settings), so the above is about quietness.
    assert all(answer(data, f"/errors/{wid}/groups")["error_groups"] for wid in busy)
    assert all(answer(data, f"/insights/{wid}", range="1y")["insights"] for wid in busy)
    heatmapped = [w for w in busy if data.site_settings(w)["heatmaps"]]
    replayed = [w for w in busy if data.site_settings(w)["session_replay"]]
    assert heatmapped and replayed
    assert all(answer(data, f"/heatmaps/{w}/pages")["pages"] for w in heatmapped)
    assert all(answer(data, f"/replays/{w}/sessions")["sessions"] for w in replayed)


def test_quiet_websites_set_at_runtime_empty_visitors_over_http():
    server = SandboxServer(SandboxConfig(websites=3)).start()
    try:
        def get(path, **params):
            r = requests.get(server.base_url + path, params=params,
                             headers={"X-API-Key": DEMO_API_KEY}, timeout=10)
            assert r.status_code == 200, r.text
            return r.json()["data"]

        last = get("/websites")["websites"][-1]["id"]
        before = get(f"/analytics/{last}/visitors", range="24h", limit=1)["visitors"]
        assert before and at(before[0]["visited_at"]) <= datetime.now(timezone.utc)
        server.configure(quiet_websites=1)
        assert get(f"/analytics/{last}", range="24h")["summary"]["total_visitors"] == 0
        assert get(f"/analytics/{last}/visitors", range="24h", limit=1)["visitors"] == []
    finally:
        server.stop()


def test_now_set_through_the_config_pins_the_clock_and_a_pinned_today_wins():
    server = SandboxServer(SandboxConfig(websites=2)).start()
    try:
        def overview_end():
            wid = server.data().website_ids[0]
            r = requests.get(f"{server.base_url}/analytics/{wid}", params={"range": "24h"},
                             headers={"X-API-Key": DEMO_API_KEY}, timeout=10)
            return r.json()["data"]["date_range"]["endDateTime"]

        server.configure(now="2026-03-03T04:21:00Z")
        assert overview_end() == overview_end() == "2026-03-03T04:21:00.000Z"
        assert server.config.to_dict()["now"] == "2026-03-03T04:21:00+00:00"
        server.configure(today="2026-02-28")
        assert overview_end() == "2026-02-28T23:59:59.000Z"
        server.configure(today=None, now=None)
        assert at(overview_end()) <= datetime.now(timezone.utc)
        for bad in ("yesterday", "2026-03-03T04:21:00", 5):
            with pytest.raises(ValueError, match="now must be"):
                server.configure(now=bad)
    finally:
        server.stop()
