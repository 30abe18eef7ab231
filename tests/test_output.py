"""output.py: what reaches stdout and stderr, in every format, on terminals and in pipes."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zenovay_cli.output import FORMATS, Output
from zenovay_cli.views import KINDS, merge_pages, record_columns, records_for

# Newest and older shapes of every endpoint's `data`, with the values a table must show.
SAMPLES = [
    ("usage", {"api_key": {"id": "ak_1", "name": "Prod", "permission": "full_access",
                           "website_id": None},
               "usage": {"monthly_requests": 4521, "monthly_limit": 10000,
                         "monthly_remaining": 5479, "monthly_reset_at": "2026-07-01T00:00:00.000Z",
                         "total_requests": 89234},
               "rate_limits": {"requests_per_minute": 30}, "subscription": {"tier": "pro"}},
     ["4,521", "10,000", "89,234", "pro", "2026-07-01T00:00:00.000Z"]),
    ("usage", {"usage": {"websites": 3, "pageviews_this_month": 45000, "events_this_month": 12},
               "limits": {"websites": 10, "pageviews_per_month": 100000, "events_per_month": 50},
               "plan": "pro", "period": {"start": "2025-01-01", "end": "2025-01-31"}},
     ["45,000", "100,000", "pro", "2025-01-31"]),
    ("websites", {"websites": [{"id": "a1", "domain": "mywebsite.com", "name": "My Website",
                                "tracking_code": "ZV_abc123xyz", "is_active": True,
                                "created_at": "2025-11-15T10:30:00.000Z", "team_id": "t1"}],
                  "total": 1},
     ["mywebsite.com", "ZV_abc123xyz", "yes"]),
    ("websites", {"websites": [{"id": "ws_abc123", "domain": "old.com", "name": "Old",
                                "live_visitors": 1234}], "total": 1},
     ["ws_abc123", "old.com", "1,234"]),
    ("website", {"website": {"id": "a1", "domain": "mywebsite.com", "user_id": "u1",
                             "settings": {"heatmaps": True, "session_replay": False}}},
     ["mywebsite.com", "settings.heatmaps", "settings.session_replay"]),
    ("analytics", {"website": {"id": "a1", "domain": "mywebsite.com", "name": "My Website"},
                   "time_range": "7d", "date_range": {"start": "2026-06-06", "end": "2026-06-13"},
                   "summary": {"total_visitors": 1247, "total_page_views": 3891,
                               "unique_visitors": 982},
                   "daily_stats": [{"date": "2026-06-06", "website_id": "a1",
                                    "total_visitors": 178, "unique_visitors": 140,
                                    "page_views": 542}]},
     ["mywebsite.com", "1,247", "3,891", "982", "2026-06-06", "542"]),
    ("analytics", {"timeRange": "30d", "totalVisitors": 15420, "totalPageViews": 45230,
                   "bounceRate": 42.56,
                   "topCountries": [{"name": "United States", "code": "US", "visitors": 5200,
                                     "percentage": 33.72}],
                   "dailyStats": [{"date": "2025-01-01", "visitors": 512, "pageViews": 1500,
                                   "bounceRate": 41.04}]},
     ["15,420", "45,230", "42.6", "33.7", "5,200", "1,500", "41.0"]),
    ("analytics_all", {"time_range": "7d", "websites": [
        {"website": {"id": "a1", "domain": "a.com"}, "time_range": "7d",
         "summary": {"total_visitors": 10400, "total_page_views": 20, "unique_visitors": 5}},
        {"website": {"id": "b2", "domain": "b.com"}, "error": "Website not found"}]},
     ["a.com", "10,400", "b.com", "Website not found"]),
    ("visitors", {"visitors": [{"id": "v1", "country_code": "US", "country_name": "United States",
                                "city": "San Francisco", "value_score": 85, "referrer": None,
                                "visited_at": "2026-02-07T10:30:00.000Z",
                                "had_interaction": False}],
                  "pagination": {"limit": 100, "offset": 0, "has_more": True}},
     ["San Francisco", "85", "no"]),
    ("pages", {"pages": [{"url": "/pricing", "views": 8120, "visitors": 430}]},
     ["/pricing", "8,120", "430"]),
    ("countries", {"countries": [{"country_code": "US", "country_name": "United States",
                                  "visitors": 4521, "avg_value_score": 52.34}]},
     ["United States", "4,521", "52.3"]),
    ("countries", {"topCountries": [{"name": "Germany", "code": "DE", "visitors": 1456,
                                     "percentage": 12.25}]},
     ["Germany", "1,456", "12.2"]),
    ("tech", {"browsers": [{"name": "Chrome", "visitors": 5120}],
              "operating_systems": [{"name": "macOS", "visitors": 3010}],
              "device_types": [{"name": "desktop", "visitors": 6100}]},
     ["Browsers", "Chrome", "5,120", "Operating systems", "macOS", "Device types", "6,100"]),
    ("errors", {"error_groups": [{"id": "eg_1", "message": "Cannot read properties",
                                  "type": "TypeError", "status": "unresolved",
                                  "occurrence_count": 2450, "affected_users_count": 89}]},
     ["Cannot read properties", "TypeError", "2,450"]),
]
SAMPLE_IDS = [f"{kind}-{i}" for i, (kind, _, _) in enumerate(SAMPLES)]


def run(kind, data, fmt="table", **kw):
    out, err = io.StringIO(), io.StringIO()
    kw.setdefault("is_tty", False)
    Output(out, err, **kw).emit(kind, data, fmt)
    return out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------- every kind


@pytest.mark.parametrize(("kind", "data", "expected"), SAMPLES, ids=SAMPLE_IDS)
def test_table_shows_the_values_formatted_for_people(kind, data, expected):
    text, err = run(kind, data)
    for value in expected:
        assert value in text, text
    assert err == ""


@pytest.mark.parametrize(("kind", "data", "expected"), SAMPLES, ids=SAMPLE_IDS)
def test_json_is_exactly_the_data(kind, data, expected):
    text, _ = run(kind, data, "json")
    assert json.loads(text) == data
    assert text.endswith("}\n") and text.count("\n") == 1  # compact when piped


@pytest.mark.parametrize(("kind", "data", "expected"), SAMPLES, ids=SAMPLE_IDS)
def test_csv_tsv_and_ndjson_hold_the_flat_records_unformatted(kind, data, expected):
    records = records_for(kind, data)
    keys = record_columns(kind, (k for r in records for k in r))  # known columns first, fixed
    assert sorted(keys) == sorted(dict.fromkeys(k for r in records for k in r))
    rows = list(csv.reader(io.StringIO(run(kind, data, "csv")[0])))
    assert rows[0] == keys and len(rows) == len(records) + 1
    tsv = [line.split("\t") for line in run(kind, data, "tsv")[0].splitlines()]
    assert tsv[0] == keys and len(tsv) == len(records) + 1
    lines = run(kind, data, "ndjson")[0].splitlines()
    assert [json.loads(line) for line in lines] == records
    assert "," not in "".join(rows[1][i] for i, k in enumerate(keys) if k.endswith("visitors"))


def test_csv_values_stay_raw_while_the_table_formats_them():
    data = {"countries": [{"country_code": "US", "visitors": 4521, "avg_value_score": 52.34,
                           "flag": True, "note": None}]}
    rows = list(csv.DictReader(io.StringIO(run("countries", data, "csv")[0])))
    assert rows == [{"country_code": "US", "visitors": "4521", "avg_value_score": "52.34",
                     "flag": "true", "note": ""}]
    table = run("countries", data)[0]
    assert "4,521" in table and "52.3" in table and "52.34" not in table
    assert json.loads(run("countries", data, "json")[0])["countries"][0]["visitors"] == 4521


def test_ids_are_not_given_thousands_separators():
    text = run("website", {"website": {"id": 123456, "team_id": 987654, "visits": 123456}})[0]
    assert "123456" in text and "987654" in text and "123,456" in text


def test_json_is_indented_on_a_terminal():
    text, _ = run("usage", {"plan": "pro"}, "json", is_tty=True, color=False)
    assert text == '{\n  "plan": "pro"\n}\n'


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown output format"):
        run("usage", {}, "xml")


# ---------------------------------------------------------------------------- untrusted text

EVIL = "[bold red]x[/] [link=http://evil]y[/link] \x1b[2J\x1b]8;;http://e\x07z\x08\r\u202e\u0085"


@pytest.mark.parametrize("color", [False, True])
def test_markup_and_terminal_controls_in_api_values_are_shown_literally(color):
    data = {"visitors": [{"city": EVIL, EVIL: 1}]}
    text, _ = run("visitors", data, is_tty=True, color=color)
    assert "[bold red]x[/]" in text and "[link=http://evil]y[/link]" in text
    assert "\\x1b[2J" in text and "\\x1b]8;;http://e\\x07" in text
    assert "\\x08" in text and "\\r" not in text and "\\x0d" in text
    assert "\\u202e" in text and "\\x85" in text
    for bad in ("\x07", "\x08", "\r", "\u202e", "\u0085", "\x1b]8", "\x1b[2J"):
        assert bad not in text


def test_csv_keeps_the_text_unchanged_off_a_terminal_and_escapes_controls_on_one():
    data = {"pages": [{"url": "=HYPERLINK(\"x\")\x1b[31m", "title": "a\tb\nc\\d"}]}
    [row] = list(csv.DictReader(io.StringIO(run("pages", data, "csv")[0])))
    assert row == {"url": '=HYPERLINK("x")\x1b[31m', "title": "a\tb\nc\\d"}
    [row] = list(csv.DictReader(io.StringIO(run("pages", data, "csv", is_tty=True)[0])))
    assert row == {"url": '=HYPERLINK("x")\\x1b[31m', "title": "a\tb\nc\\d"}
    tsv = run("pages", data, "tsv")[0].splitlines()
    assert tsv[1].split("\t") == ['=HYPERLINK("x")\\x1b[31m', "a\\tb\\nc\\\\d"]


def test_json_escapes_invisible_controls_yet_decodes_to_the_same_data():
    data = {"m": "\u202eevil\u0085\x7f\x1b"}
    for fmt in ("json", "ndjson"):
        text = run("x", data, fmt)[0]
        assert json.loads(text) == data
        assert not any(c in text for c in "\u202e\u0085\x7f\x1b")


def test_stderr_messages_escape_controls_too():
    err = io.StringIO()
    Output(io.StringIO(), err, err_is_tty=False).error("bad \x1b[31m[red]", hint="\u202ex")
    assert err.getvalue() == "Error: bad \\x1b[31m[red]. \\u202ex\n"


# ---------------------------------------------------------------------------- colour rules


def test_rich_tables_with_colour_on_a_terminal():
    text, _ = run("countries", SAMPLES[10][1], is_tty=True)
    assert "\x1b[" in text and "United States" in text


@pytest.mark.parametrize("env", [{"NO_COLOR": ""}, {"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_no_color_and_dumb_terminals_get_plain_tables(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    text, _ = run("countries", SAMPLES[10][1], is_tty=True)
    assert "\x1b" not in text and "─" not in text
    # A terminal reads labels, not field names (a pipe keeps the field names: next test).
    assert text.splitlines()[:2] == [
        "Countries", "Code  Country        Visitors  Avg. value score"]


def test_piped_tables_keep_the_api_field_names_and_iso_times():
    text, _ = run("visitors", {"visitors": [{"visited_at": "2026-01-02T03:04:05.000Z",
                                              "total_visitors": 1200}]})
    assert text.splitlines()[1].split() == ["visited_at", "total_visitors"]
    assert "2026-01-02T03:04:05.000Z" in text and "1,200" in text


def test_terminal_tables_show_labels_and_local_or_relative_times(monkeypatch):
    from datetime import datetime, timedelta, timezone

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    recent = (datetime.now(timezone.utc) - timedelta(hours=3, minutes=5)).isoformat()
    text, _ = run("visitors", {"visitors": [
        {"visited_at": recent, "total_visitors": 1200},
        {"visited_at": "2025-01-02T03:04:05.000Z", "total_visitors": 7}]}, is_tty=True)
    lines = text.splitlines()
    assert lines[1].split() == ["Visited", "Visitors"]
    assert lines[2].split() == ["3", "h", "ago", "1,200"]
    assert lines[3].split() == ["2025-01-02", "03:04", "7"]
    assert lines[2].endswith("1,200") and lines[3].endswith("    7")  # numbers right-aligned


def test_piped_output_is_plain_and_not_truncated():
    long = "x" * 300
    text, _ = run("pages", {"pages": [{"url": long, "visitors": 1}]})
    assert "\x1b" not in text and long in text


def test_explicit_no_color_beats_a_terminal():
    assert "\x1b" not in run("pages", {"pages": [{"url": "/"}]}, is_tty=True, color=False)[0]


def test_stderr_labels_are_coloured_only_on_a_colour_terminal(monkeypatch):
    err = io.StringIO()
    Output(io.StringIO(), err, err_is_tty=True).warn("careful")
    assert err.getvalue() == "\x1b[33;1mWarning:\x1b[0m careful\n"
    monkeypatch.setenv("NO_COLOR", "1")
    err = io.StringIO()
    Output(io.StringIO(), err, err_is_tty=True).warn("careful")
    assert err.getvalue() == "Warning: careful\n"


# ---------------------------------------------------------------------------- stderr


def test_error_hint_and_request_id_share_one_line_on_stderr_only():
    out, err = io.StringIO(), io.StringIO()
    o = Output(out, err, err_is_tty=False)
    o.error("Website not found", hint="List them with `zenovay websites`.", request_id="req-1")
    o.status("Rate limited; retrying in 2.0 s (attempt 2 of 4)")
    o.info("done")
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        "Error: Website not found. List them with `zenovay websites`. (request id: req-1)",
        "Rate limited; retrying in 2.0 s (attempt 2 of 4)", "done"]


def test_progress_is_silent_off_a_terminal_and_can_print_lines():
    err = io.StringIO()
    o = Output(io.StringIO(), err, err_is_tty=False)
    with o.progress(2, "Exporting") as bar:
        bar.advance()
    assert err.getvalue() == ""
    with o.progress(2, "Exporting", lines=True) as bar:
        bar.advance(item="a.com")
        bar.advance(item="b.com")
    assert err.getvalue().splitlines() == ["Exporting 1/2 a.com", "Exporting 2/2 b.com"]


def test_progress_bar_draws_on_a_terminal_stderr_and_leaves_stdout_alone():
    out, err = io.StringIO(), io.StringIO()
    with Output(out, err, err_is_tty=True).progress(3, "[bold]Exporting") as bar:
        for _ in range(3):
            bar.advance()
    assert out.getvalue() == "" and err.getvalue() != ""


# ---------------------------------------------------------------------------- streaming


def paged(log, n=3):
    for i in range(n):
        log.append(f"pull {i}")
        yield {"visitors": [{"id": f"v{i}", "city": f"c{i}"}],
               "pagination": {"limit": 1, "offset": i, "has_more": i < n - 1}}


class Recorder(io.StringIO):
    """A stdout that notes, in the same log as the page generator, when something is flushed."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def flush(self):
        self.log.append(f"flushed {len(re.findall(r'v[0-9]', self.getvalue()))}")


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "tsv", "json"])
def test_streaming_writes_each_page_before_the_next_is_fetched(fmt):
    log = []
    out = Recorder(log)
    Output(out, io.StringIO(), is_tty=False).stream("visitors", paged(log), fmt)
    assert log.index("flushed 1") < log.index("pull 1")
    assert log.index("flushed 2") < log.index("pull 2")
    assert "v0" in out.getvalue() and "v2" in out.getvalue()


@pytest.mark.parametrize("is_tty", [False, True])
def test_streamed_json_is_one_document_with_every_item(is_tty):
    out = io.StringIO()
    Output(out, io.StringIO(), is_tty=is_tty, color=False).stream("visitors", paged([]), "json")
    expected = merge_pages("visitors", paged([]))
    assert json.loads(out.getvalue()) == expected
    assert expected["pagination"] == {"limit": 1, "offset": 2, "has_more": False}
    if is_tty:
        assert out.getvalue() == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def test_streamed_json_without_pages_or_items_key():
    out = io.StringIO()
    Output(out, is_tty=False).stream("visitors", iter([]), "json")
    Output(out, is_tty=False).stream("visitors", iter(["a", "b"]), "json")
    assert out.getvalue().splitlines() == ['{"visitors":[]}', '["a","b"]']


def test_streamed_table_collects_every_page():
    out = io.StringIO()
    Output(out, is_tty=False).stream("visitors", paged([]), "table")
    assert all(f"c{i}" in out.getvalue() for i in range(3))


def test_csv_stream_warns_about_columns_that_appear_after_the_header():
    out, err = io.StringIO(), io.StringIO()
    pages = [{"visitors": [{"id": 1}]}, {"visitors": [{"id": 2, "late": "x"}]}]
    Output(out, err, is_tty=False, err_is_tty=False).stream("visitors", pages, "csv")
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["id"], ["1"], ["2"]]
    assert "late" in err.getvalue() and err.getvalue().startswith("Warning:")


def _answers_of_2026_endpoints():
    """{kind: (a full answer, an empty answer)} in the sandbox's shapes, the full ones drawn from
    its data (a website it gives revenue, heatmaps and replays; one without)."""
    from datetime import date

    from zenovay_cli.sandbox.advanced import Advanced
    from zenovay_cli.sandbox.data import SandboxData

    adv = Advanced(SandboxData(seed=0, websites=6, today=date(2026, 6, 13)))
    ids = adv.data.website_ids
    ltv = next(a for a in (adv.revenue_ltv(i, "90d", "monthly") for i in ids) if a["cohorts"])
    no_ltv = next(a for a in (adv.revenue_ltv(i, "90d", "monthly") for i in ids) if not a["cohorts"])
    page = {"limit": 50, "offset": 0, "has_more": False}
    return {
        "anomalies": ({"anomalies": adv.anomalies(ids[0]), "pagination": page},
                      {"anomalies": [], "pagination": page}),
        "insights": ({"insights": adv.insights(ids[0]), "pagination": page},
                     {"insights": [], "pagination": page}),
        "retention": ({"cohorts": adv.retention(ids[0], "90d", "monthly", 3)}, {"cohorts": []}),
        "revenue": (ltv, no_ltv),
        "heatmaps": ({"pages": next(p for p in (adv.heatmap_pages(i, 20) for i in ids) if p)},
                     {"pages": []}),
        "replays": ({"sessions": next(s for s in (adv.replay_sessions(i, 0, 20) for i in ids) if s),
                     "pagination": page},
                    {"sessions": [], "pagination": page}),
    }


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_an_empty_2026_answer_prints_the_header_row_a_full_one_has(fmt):
    for kind, (full, empty) in _answers_of_2026_endpoints().items():
        lines = run(kind, full, fmt)[0].splitlines()
        assert len(lines) > 1, kind
        assert run(kind, empty, fmt)[0] == lines[0] + "\n", kind
        for pages in ([], [empty]):  # streamed (--all): no page at all, or one empty page
            out = io.StringIO()
            Output(out, is_tty=False).stream(kind, iter(pages), fmt)
            assert out.getvalue() == lines[0] + "\n", kind
        assert run(kind, empty, "ndjson")[0] == "", kind


# ---------------------------------------------------------------------------- start-up


def test_importing_output_does_not_import_rich():
    code = "import sys, zenovay_cli.output; print('rich' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["visitors", "pagination", "summary", "daily_stats", "website", "websites",
                        "browsers", "countries", "error", "topCountries", "pages", "usage"])
SHAPED = st.dictionaries(KEYS, JSON | st.lists(st.dictionaries(KEYS | st.text(max_size=4), JSON,
                                                              max_size=3), max_size=3), max_size=4)
ANY_DATA = JSON | SHAPED | st.builds(lambda items: {"websites": items}, st.lists(SHAPED, max_size=3))
UNSAFE = set(map(chr, [*range(0x20), *range(0x7f, 0xa0), *range(0x202a, 0x202f),
                       *range(0x2066, 0x206a)])) - {"\n"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from([*KINDS, "other"]), fmt=st.sampled_from(FORMATS), data=ANY_DATA)
def test_any_json_in_any_format_never_crashes_and_stays_parseable(kind, fmt, data):
    text, _ = run(kind, data, fmt)
    if fmt == "json":
        assert json.loads(text) == data
    elif fmt == "ndjson":
        assert [json.loads(line) for line in text.splitlines()] == records_for(kind, data)
    elif fmt == "csv":
        records = records_for(kind, data)
        header = 1 if records or record_columns(kind) else 0  # an empty answer keeps its header
        assert len(list(csv.reader(io.StringIO(text)))) == len(records) + header
    elif fmt == "tsv":
        records = records_for(kind, data)
        header = 1 if records or record_columns(kind) else 0
        assert len(text.splitlines()) == len(records) + header
    else:
        assert not UNSAFE & set(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from([*KINDS, "other"]), data=ANY_DATA)
def test_any_json_in_a_rich_table_never_crashes(kind, data):
    text, _ = run(kind, data, is_tty=True, color=True)
    assert text
