"""The answers' screens rendered at fixed widths (80 and 120 columns) against committed snapshots.

Set UPDATE_SNAPSHOTS=1 to rewrite them after an intended change (and read the diff).
"""

import io
import os
import re
from datetime import date
from pathlib import Path

import pytest

from zenovay_cli import answers, screens
from zenovay_cli.output import Output
from zenovay_cli.sandbox.data import SandboxData

SNAPSHOTS = Path(__file__).parent / "snapshots"
TODAY = date(2026, 3, 3)
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


class FakeClient:
    """The client's query methods answered from the sandbox's data, in-process."""

    def __init__(self, data: SandboxData) -> None:
        self.data = data
        self.calls: list[str] = []

    def get_analytics(self, website_id, range="7d"):
        self.calls.append(f"analytics {range}")
        return self.data.overview(website_id, range)

    def get_pages(self, website_id, range="7d", limit=None):
        self.calls.append("pages")
        return {"pages": self.data.pages(website_id, range, limit or 20)}

    def get_countries(self, website_id, range="7d", limit=None):
        self.calls.append("countries")
        return {"countries": self.data.countries(website_id, range, limit or 20)}

    def get_technology(self, website_id, range="7d"):
        self.calls.append("technology")
        return self.data.technology(website_id, range)


def fetched(client, parts):
    """What sites.fetch_one hands the document builders: each part's answer by name."""
    return {name: request(client) for name, request in parts.items()}


def check(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}: run with UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def data():
    return SandboxData(seed=0, websites=6, today=TODAY, quiet_websites=1, undated_websites=1)


@pytest.mark.parametrize("width", [80, 120])
def test_report_screen(data, width):
    client = FakeClient(data)
    site = data.website_ids[3]  # devjournal.dev
    document = answers.report(fetched(client, answers.report_parts(site, "7d", True)), site, "7d", True)
    assert sorted(client.calls) == ["analytics 30d", "analytics 7d", "countries", "pages", "technology"]
    lines = screens.report_lines(document, width, "unicode", color=False)
    assert len(lines) <= 24 and max(len(line) for line in lines) <= width
    check(f"report_{width}.txt", "\n".join(lines) + "\n")


def test_report_screen_without_daily_rows_or_visitors(data):
    for site in data.website_ids[-2:]:
        document = answers.report(fetched(FakeClient(data), answers.report_parts(site, "7d", True)),
                                  site, "7d", True)
        text = "\n".join(screens.report_lines(document, 80, "unicode"))
        assert "Comparison unavailable" in text or "Visitors 0" in text
    check("report_empty_80.txt", text + "\n")


def _rollup(data):
    client = FakeClient(data)
    rows = []
    for w in data.websites():
        rows.append(answers.site_row(w, client.get_analytics(w["id"], "7d"),
                                     client.get_analytics(w["id"], "30d"), "7d"))
    return answers.finish_rollup(rows, "7d", "change")


@pytest.mark.parametrize("width", [80, 120])
def test_rollup_table_on_a_colour_terminal(data, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("NO_COLOR", raising=False)
    buf = io.StringIO()
    out = Output(buf, io.StringIO(), is_tty=True, color=True)
    out.show(screens.rollup_views(_rollup(data), "unicode", width))
    text = ANSI.sub("", buf.getvalue())
    assert max(len(line) for line in text.splitlines()) <= width
    check(f"rollup_{width}.txt", "\n".join(line.rstrip() for line in text.splitlines()) + "\n")


def test_rollup_table_without_colour_uses_plain_glyphs(data):
    buf = io.StringIO()
    Output(buf, io.StringIO(), is_tty=True, color=False).show(
        screens.rollup_views(_rollup(data), "ascii", 120))
    assert "\x1b" not in buf.getvalue()
    check("rollup_plain_120.txt", buf.getvalue())


def test_pages_with_shares_cut_long_urls_on_a_terminal_only(data, monkeypatch):
    from zenovay_cli.views import views_for

    site = data.website_ids[3]
    pages = {"pages": [*data.pages(site, "7d", 5),
                       {"url": "/posts/" + "a-very-long-slug-" * 6, "views": 10, "visitors": 9}]}
    total = data.overview(site, "7d")["summary"]["total_visitors"]
    monkeypatch.setenv("COLUMNS", "80")
    buf = io.StringIO()
    Output(buf, io.StringIO(), is_tty=True, color=False).show(
        [screens.with_shares(v, total, "ascii", 80) for v in views_for("pages", pages)])
    assert max(len(line) for line in buf.getvalue().splitlines()) <= 80
    assert "…" in buf.getvalue()
    first = pages["pages"][0]
    assert f"{100 * first['visitors'] / total:.1f}%" in buf.getvalue()
    check("pages_80.txt", buf.getvalue())
    piped = io.StringIO()
    Output(piped, io.StringIO(), is_tty=False).show(
        [screens.with_shares(v, total, None, None) for v in views_for("pages", pages)])
    assert "…" not in piped.getvalue() and "#" not in piped.getvalue()


def test_digest_markdown(data):
    client = FakeClient(data)
    rows = [answers.digest_site(fetched(client, answers.digest_parts(w, "7d", 3)), w, "7d", 3)
            for w in data.websites()]
    rows[1] = {"website": rows[1]["website"], "error": "HTTP 500 | *boom*"}
    document = answers.digest(rows, "7d", now=None)
    text = screens.digest_markdown(document)
    assert "HTTP 500 \\| \\*boom\\*" in text  # untrusted text cannot break the table
    check("digest.md", text)


def _site_totals(data, sites):
    """(visitors now, visitors before, views now, views before) over `sites`, from the sandbox's
    summaries and the daily rows of the 7 days before the 7d period."""
    lo, hi = date(2026, 2, 18), date(2026, 2, 24)

    def before(site, field):
        return sum(r[field] for r in data.overview(site, "30d")["daily_stats"]
                   if lo <= date.fromisoformat(r["date"]) <= hi)

    return (sum(data.overview(s, "7d")["summary"]["total_visitors"] for s in sites),
            sum(before(s, "total_visitors") for s in sites),
            sum(data.overview(s, "7d")["summary"]["total_page_views"] for s in sites),
            sum(before(s, "page_views") for s in sites))


def _pct(now, before, arrows=True):
    pct = 100 * (now - before) / before
    up, down = ("↑ ", "↓ ") if arrows else ("+", "-")
    return f"{up if pct > 0 else down}{abs(pct):,.1f}%"


@pytest.mark.parametrize("websites,undated", [(6, 1), (4, 0), (2, 2)])
def test_totals_rows_put_one_set_of_sites_on_each_row(websites, undated):
    """Table, markdown digest and Slack text: the totals' Before/Change never set the previous
    figures of the comparable sites against the current figures of all of them."""
    data = SandboxData(seed=0, websites=websites, today=TODAY, undated_websites=undated)
    client = FakeClient(data)
    rows = [answers.digest_site(fetched(client, answers.digest_parts(w, "7d", 3)), w, "7d", 3)
            for w in data.websites()]
    doc = answers.digest(rows, "7d")
    comparable = data.website_ids[:websites - undated]
    everyone = _site_totals(data, data.website_ids)
    now, before, views, views_before = _site_totals(data, comparable)
    buf = io.StringIO()
    Output(buf, io.StringIO(), is_tty=True, color=False).show(
        screens.rollup_views(answers.finish_rollup(rows, "7d", "change"), "ascii", 120))
    lines = buf.getvalue().splitlines()
    all_line = next(x for x in lines if x.startswith(f"All websites ({websites})"))
    markdown = screens.digest_markdown(doc)
    slack = screens.digest_slack_text(doc)
    assert f"{everyone[0]:,}" in all_line
    if undated == 0:  # one set: the totals row compares it
        assert f"{before:,}" in all_line
        assert _pct(now, before) in all_line
        assert not any("Comparable" in x for x in lines)
        assert (f"| **All websites ({websites})** | **{now:,}** | {_pct(now, before, False)} | "
                f"**{views:,}** | {_pct(views, views_before, False)} | |") in markdown
        assert f"*All websites ({websites})*: {now:,} visitors, {views:,} page views " \
               f"({_pct(now, before, False)} visitors)" in slack
    elif undated == websites:  # no comparable site: no figure of change anywhere
        assert all_line.rstrip().endswith("n/a") and "%" not in all_line.replace("100.0%", "")
        assert f"| **All websites ({websites})** | **{everyone[0]:,}** | n/a |" in markdown
        assert "(no comparison)" in slack and "Comparable" not in markdown + slack
    else:  # the totals row holds all sites now; a second row compares the comparable ones
        assert now < everyone[0]
        assert f"{before:,}" not in all_line
        assert "%" not in all_line.replace("100.0%", "")
        sub = next(x for x in lines if x.startswith(f"Comparable ({len(comparable)} of {websites})"))
        assert f"{now:,}" in sub and f"{before:,}" in sub and _pct(now, before) in sub
        assert f"{100 * now / everyone[0]:.1f}%" in sub
        assert f"| **All websites ({websites})** | **{everyone[0]:,}** |  | " in markdown
        assert (f"| Comparable ({len(comparable)} of {websites}) | {now:,} | "
                f"{_pct(now, before, False)} | {views:,} | {_pct(views, views_before, False)} |"
                in markdown)
        assert f"*Comparable ({len(comparable)} of {websites})*: {now:,} visitors " \
               f"({_pct(now, before, False)})" in slack


LONG_URL = "/posts/" + "a-very-long-slug-" * 6


def _breakdown(data, kind):
    """(the API's answer, the period's visitors, the names of its rows) for devjournal.dev, pages
    with one very long URL added (so every width has something to cut)."""
    site = data.website_ids[3]
    total = data.overview(site, "7d")["summary"]["total_visitors"]
    if kind == "pages":
        answer = {"pages": [*data.pages(site, "7d", 8),
                            {"url": LONG_URL, "views": 10, "visitors": 9}]}
        rows = [(p["url"], p["visitors"]) for p in answer["pages"]]
    elif kind == "countries":
        answer = {"countries": data.countries(site, "7d", 8)}
        rows = [(c["country_name"], c["visitors"]) for c in answer["countries"]]
    else:
        answer = data.technology(site, "7d")
        rows = [(t["name"], t["visitors"]) for part in answer.values() if isinstance(part, list)
                for t in part]
    return answer, total, rows


def _shown(data, kind, width, color, monkeypatch):
    """What a terminal `width` columns wide shows, and the words of its titles and headers."""
    from zenovay_cli.humanize import for_terminal
    from zenovay_cli.views import views_for

    answer, total, rows = _breakdown(data, kind)
    monkeypatch.setenv("COLUMNS", str(width))
    views = [screens.with_shares(v, total, "unicode" if color else "ascii", width)
             for v in views_for(kind, answer)]
    buf = io.StringIO()
    Output(buf, io.StringIO(), is_tty=True, color=color).show(views)
    headers = " ".join(str(x) for v in map(for_terminal, views) for x in [v.title, *v.labels])
    return ANSI.sub("", buf.getvalue()), total, rows, headers


@pytest.mark.parametrize("kind", ["pages", "countries", "tech"])
@pytest.mark.parametrize("width", [40, 50, 80, 120])
def test_breakdowns_keep_each_row_on_one_line_cutting_long_names(data, monkeypatch, kind, width):
    """On a terminal, each row of pages/countries/tech is one line at most `width` wide: long
    names are cut with "…", the bar never wraps (it goes when there is no room), and a table too
    wide even so is stacked with every value labelled."""
    blocks = []
    for color in (True, False):
        text, total, rows, headers = _shown(data, kind, width, color, monkeypatch)
        lines = [line.rstrip() for line in text.splitlines()]
        assert max(len(line) for line in lines) <= width
        if any(line.startswith("Share: ") for line in lines):
            # too narrow even for cut names: "label: value" lines, all labelled, names whole
            assert width < 50 and not any(line.startswith(": ") for line in lines)
            assert len([x for x in lines if x.startswith("Share: ")]) == len(rows)
            assert all(any(line.endswith(f": {name}") for line in lines) for name, _ in rows)
        else:
            body = [x.strip() for x in lines if re.search(r"\d\.\d%", x)]
            assert len(body) == len(rows)  # one line per row
            for (name, visitors), line in zip(rows, body):
                assert f"{100 * visitors / total:.1f}%" in line
                shown = re.split(r" {2,}", line)[1 if kind == "countries" else 0]  # after Code
                assert shown == name or (shown.endswith("…") and name.startswith(shown[:-1])), line
            # every other line is a title, a header (folded at most) or the rule: no piece of a
            # name or of a bar wrapped onto a line of its own
            for line in lines:
                if not re.search(r"\d\.\d%", line):
                    for token in line.split():
                        assert set(token) == {"─"} or len(token) < 2 and token.isalpha() \
                            or token in headers, (token, line)
        if kind == "pages":
            assert "…" in text  # the long URL never fits
        blocks.append(("colour" if color else "NO_COLOR") + f", {width} columns:\n"
                      + "\n".join(lines))
    check(f"breakdown_{kind}_{width}.txt", "\n\n".join(blocks) + "\n")


@pytest.mark.parametrize("kind", ["pages", "countries", "tech"])
def test_breakdown_names_are_cut_on_a_terminal_only(data, monkeypatch, kind):
    from zenovay_cli.views import views_for

    answer, total, rows = _breakdown(data, kind)
    monkeypatch.setenv("COLUMNS", "40")
    piped = io.StringIO()
    Output(piped, io.StringIO(), is_tty=False).show(
        [screens.with_shares(v, total, None, None) for v in views_for(kind, answer)])
    assert "…" not in piped.getvalue()
    assert all(name in piped.getvalue() for name, _ in rows)
    for fmt in ("csv", "json", "ndjson"):  # on a terminal too: machine formats are never cut
        buf = io.StringIO()
        Output(buf, io.StringIO(), is_tty=True, color=True).emit(kind, answer, fmt)
        assert "…" not in buf.getvalue()
        assert all(name in buf.getvalue() for name, _ in rows)
