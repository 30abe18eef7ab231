"""Export files: formats, safe names, atomic writes, the lock and stale temporary files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zenovay_cli
from zenovay_cli import export
from zenovay_cli.errors import ApiError, ExitCode, LockedError, UsageError, ZenovayError
from zenovay_cli.export import (
    CSV_FIELDS,
    LOCK_FILENAME,
    ExportLock,
    ExportResult,
    build_record,
    clean_stale_temp_files,
    csv_row,
    export_date,
    plan_filenames,
    safe_filename,
    summarize,
    write_record_file,
    write_table_file,
)

DATE = "2026-06-13"


def write_json_files(out, records_by_website, date, *, websites=None):
    """What `zenovay export --format json` does with finished records: names planned over every
    website of the run (failed ones too), then one file per record; {website_id: path}."""
    planned = list(websites) if websites is not None else []
    known = {str(w.get("id")) for w in planned}
    planned += [{"id": wid, "domain": r.get("website")} for wid, r in records_by_website.items() if wid not in known]
    names = plan_filenames(planned, date, "json")
    return {wid: write_record_file(out, names[wid], record) for wid, record in records_by_website.items()}
SITE_A = {
    "id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    "domain": "mywebsite.com",
    "name": "My Website",
}
SITE_B = {"id": "b2c3d4e5-f6a7-8901-bcde-f12345678901", "domain": "acme-store.io", "name": "Acme"}
ANALYTICS_A = {
    "website": {"id": SITE_A["id"], "domain": "mywebsite.com", "name": "My Website"},
    "time_range": "24h",
    "summary": {"total_visitors": 1247, "total_page_views": 3891, "unique_visitors": 982},
    "daily_stats": [],
}
COUNTRIES_A = {
    "countries": [
        {"country_code": "US", "country_name": "United States", "visitors": 4521},
        {"country_code": "CI", "country_name": "Côte d’Ivoire", "visitors": 12},
    ]
}


def record_a(extras=None):
    return build_record(SITE_A, ANALYTICS_A, COUNTRIES_A, DATE, extras or {})


@pytest.fixture
def out(tmp_path):
    """The --out directory (tmp_path itself also holds the conftest's fake home)."""
    path = tmp_path / "exports"
    path.mkdir()
    return path


def listing(path):
    return sorted(os.listdir(path))


# ---------------------------------------------------------------------------- formats


def test_json_file_has_the_guide_layout_byte_for_byte(out):
    paths = write_json_files(out, {SITE_A["id"]: record_a()}, DATE)

    expected = textwrap.dedent(
        """\
        {
          "website": "mywebsite.com",
          "date": "2026-06-13",
          "analytics": {
            "total_visitors": 1247,
            "total_page_views": 3891,
            "unique_visitors": 982
          },
          "countries": [
            {
              "country_code": "US",
              "country_name": "United States",
              "visitors": 4521
            },
            {
              "country_code": "CI",
              "country_name": "Côte d’Ivoire",
              "visitors": 12
            }
          ]
        }
        """
    ).encode("utf-8")
    assert paths == {SITE_A["id"]: str(out / "mywebsite.com_2026-06-13.json")}
    assert (out / "mywebsite.com_2026-06-13.json").read_bytes() == expected
    assert listing(out) == ["mywebsite.com_2026-06-13.json"]


def test_json_file_holds_pages_and_technology_when_asked_for(out):
    pages = {"pages": [{"url": "/pricing", "views": 812, "visitors": 430}]}
    tech = {"browsers": [{"name": "Chrome", "visitors": 5120}], "device_types": []}
    write_json_files(out, {SITE_A["id"]: record_a({"pages": pages, "technology": tech})}, DATE)

    doc = json.loads((out / "mywebsite.com_2026-06-13.json").read_text("utf-8"))
    assert list(doc) == ["website", "date", "analytics", "countries", "pages", "technology"]
    assert doc["pages"] == pages["pages"]
    assert doc["technology"] == tech


def test_csv_file_has_one_row_per_website_in_domain_order(out):
    # Countries arrive out of order: the top country is the one with most visitors.
    countries_b = [
        {"country_code": "DE", "country_name": "Germany", "visitors": 3},
        {"country_code": "FR", "country_name": "France", "visitors": 40},
    ]
    records = [
        record_a(),
        build_record(SITE_B, {"summary": {"total_visitors": 7}}, countries_b, DATE, {}),
    ]

    path = write_table_file(out, records, DATE, "csv")

    assert path == str(out / "zenovay_2026-06-13.csv")
    text = (out / "zenovay_2026-06-13.csv").read_text("utf-8")
    assert text.splitlines()[0] == ",".join(CSV_FIELDS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [
        {
            "date": DATE,
            "website_id": SITE_B["id"],
            "domain": "acme-store.io",
            "name": "Acme",
            "total_visitors": "7",
            "total_page_views": "",
            "unique_visitors": "",
            "top_country": "FR",
            "top_country_visitors": "40",
        },
        {
            "date": DATE,
            "website_id": SITE_A["id"],
            "domain": "mywebsite.com",
            "name": "My Website",
            "total_visitors": "1247",
            "total_page_views": "3891",
            "unique_visitors": "982",
            "top_country": "US",
            "top_country_visitors": "4521",
        },
    ]
    assert listing(out) == ["zenovay_2026-06-13.csv"]


def test_csv_keeps_commas_quotes_and_newlines_in_names_inside_their_cell(out):
    site = {"id": "x", "domain": "x.com", "name": 'Shop, "the best"\nline two'}
    write_table_file(out, [build_record(site, {}, [], DATE, {})], DATE, "csv")

    rows = list(csv.DictReader(io.StringIO((out / "zenovay_2026-06-13.csv").read_text())))
    assert [r["name"] for r in rows] == [site["name"]]


def test_ndjson_file_has_one_line_per_website_with_its_id(out):
    records = [record_a(), build_record(SITE_B, {}, [], DATE, {})]

    path = write_table_file(out, records, DATE, "ndjson")

    assert path == str(out / "zenovay_2026-06-13.ndjson")
    data = (out / "zenovay_2026-06-13.ndjson").read_bytes()
    assert data.endswith(b"\n")
    lines = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert [line["website_id"] for line in lines] == [SITE_B["id"], SITE_A["id"]]
    json_layout = json.loads(
        export._json_bytes(export.json_document(record_a()), 2).decode("utf-8")
    )
    assert {k: v for k, v in lines[1].items() if k not in ("website_id", "name")} == json_layout
    assert lines[0]["analytics"] == {} and lines[0]["countries"] == []
    assert "Côte d’Ivoire".encode() in data  # UTF-8, not \u escapes


def test_unknown_table_format_is_refused(out):
    with pytest.raises(ValueError):
        write_table_file(out, [record_a()], DATE, "xml")


# ---------------------------------------------------------------------------- untrusted fields


@pytest.mark.parametrize(
    ("website", "analytics", "countries"),
    [
        (None, None, None),
        ("not a dict", ["summary"], "US"),
        ({"id": 7, "domain": None, "name": 3}, {"summary": None}, {"countries": "none"}),
        ({}, {"summary": {"total_visitors": float("nan")}}, [1, "x", None, {"visitors": "many"}]),
        ({"domain": "a.com"}, {"summary": {"total_visitors": True, "extra": {"k": [1]}}}, {}),
    ],
)
def test_records_from_odd_api_answers_are_still_written(out, website, analytics, countries):
    record = build_record(website, analytics, countries, DATE, {"pages": 5, "technology": []})

    assert isinstance(record["analytics"], dict)
    assert isinstance(record["countries"], list)
    assert record["pages"] == [] and record["technology"] == {}
    row = csv_row(record)
    assert list(row) == list(CSV_FIELDS)
    write_json_files(out, {record["website_id"]: record}, DATE)
    write_table_file(out, [record], DATE, "csv")
    write_table_file(out, [record], DATE, "ndjson")
    names = listing(out)
    assert len(names) == 3
    for name in names:
        text = (out / name).read_text("utf-8")
        if name.endswith(".json"):
            assert json.loads(text)["analytics"] == record["analytics"]
        elif name.endswith(".ndjson"):
            assert json.loads(text)["countries"] == record["countries"]


def test_missing_counts_are_empty_cells_not_zero():
    row = csv_row(build_record(SITE_A, {"summary": {"total_visitors": 0}}, [], DATE, {}))

    assert row["total_visitors"] == 0
    assert row["total_page_views"] == ""
    assert row["top_country"] == "" and row["top_country_visitors"] == ""


def test_old_camelcase_overview_still_gives_the_totals():
    old = {"timeRange": "24h", "totalVisitors": 15, "totalPageViews": 40, "bounceRate": 0.4}

    record = build_record(SITE_A, old, [], DATE, {})

    assert record["analytics"] == {"total_visitors": 15, "total_page_views": 40}


def test_unknown_summary_fields_are_passed_through():
    record = build_record(SITE_A, {"summary": {"total_visitors": 1, "bounce_rate": 41.2}}, [], DATE)

    assert record["analytics"] == {"total_visitors": 1, "bounce_rate": 41.2}


def test_top_country_falls_back_to_the_name_without_a_code():
    record = build_record(SITE_A, {}, [{"country_name": "Narnia", "visitors": 2}], DATE, {})

    assert csv_row(record)["top_country"] == "Narnia"


# ---------------------------------------------------------------------------- safe names

ODD_DOMAINS = [
    "../../etc/passwd",
    "a/b",
    "a_b",
    "..",
    ".",
    "",
    "x" * 300,
    "x" * 299 + "y",
    "é" * 300,
    "日本語.jp",
    "nul\0byte.com",
    "ctrl\x1b[31m\r\n.com",
    ".hidden.com",
    "-rf.com",
    "CON",
    "con.example.com",
    "NUL.txt",
    "COM1",
    "Mywebsite.com",
    "mywebsite.com",
    "ａ／ｂ",  # full-width solidus: must not become a separator
    "back\\slash",
    'win:*?"<>|.com',
    "trailing.dot.",
    "lone\ud800surrogate",
    "\u202eevil.com",
]


def odd_websites():
    return [{"id": f"id-{i}", "domain": d} for i, d in enumerate(ODD_DOMAINS)]


def test_odd_domains_land_inside_the_out_dir_each_in_its_own_file(out):
    websites = odd_websites()
    records = {w["id"]: build_record(w, ANALYTICS_A, [], DATE, {}) for w in websites}

    paths = write_json_files(out, records, DATE)

    assert len(set(paths.values())) == len(websites)
    names = listing(out)
    assert len(names) == len(websites)
    assert len({n.casefold() for n in names}) == len(names)
    for website in websites:
        path = paths[website["id"]]
        assert os.path.dirname(os.path.realpath(path)) == os.path.realpath(out)
        name = os.path.basename(path)
        assert not name.startswith((".", "-"))
        assert len(name.encode("utf-8")) <= export.MAX_NAME_BYTES
        assert name.split(".")[0].upper() not in export._WINDOWS_RESERVED
        assert not any(ord(ch) < 32 for ch in name)
        doc = json.loads(Path(path).read_text("utf-8"))
        assert doc["website"] == website["domain"]
    assert listing(out.parent) == ["exports", "home"]


def test_plain_domains_keep_the_guide_name():
    assert safe_filename("mywebsite.com", DATE, "json") == "mywebsite.com_2026-06-13.json"
    assert plan_filenames([SITE_A, SITE_B], DATE, "json") == {
        SITE_A["id"]: "mywebsite.com_2026-06-13.json",
        SITE_B["id"]: "acme-store.io_2026-06-13.json",
    }


def test_domains_that_sanitise_alike_both_get_their_website_id():
    names = plan_filenames(
        [{"id": "1", "domain": "a/b"}, {"id": "2", "domain": "a_b"}, SITE_A], DATE, "json"
    )

    assert names == {
        "1": "a_b_1_2026-06-13.json",
        "2": "a_b_2_2026-06-13.json",
        SITE_A["id"]: "mywebsite.com_2026-06-13.json",
    }


def test_domains_differing_only_in_case_do_not_share_a_file_on_macos_or_windows():
    names = plan_filenames(
        [{"id": "1", "domain": "Shop.com"}, {"id": "2", "domain": "shop.com"}], DATE, "json"
    )

    assert len({n.casefold() for n in names.values()}) == 2


def test_empty_domain_is_named_after_the_website_id():
    names = plan_filenames([{"id": "w1", "domain": ""}], DATE, "json")

    assert names == {"w1": "unnamed_w1_2026-06-13.json"}


def test_id_qualified_name_never_collides_with_another_plain_name():
    websites = [
        {"id": "x", "domain": "a.com"},
        {"id": "y", "domain": "a.com"},
        {"id": "z", "domain": "a.com_x"},  # its plain name equals the first one's qualified name
        {"id": "x/", "domain": "a.com"},  # and this id sanitises like "x"
    ]

    names = plan_filenames(websites, DATE, "json")

    assert len({n.casefold() for n in names.values()}) == 4


def test_long_domains_are_cut_but_stay_distinct():
    a = safe_filename("x" * 300, DATE, "json")
    b = safe_filename("x" * 299 + "y", DATE, "json")

    assert a != b
    assert len(a.encode()) <= export.MAX_NAME_BYTES
    assert a.endswith("_2026-06-13.json")


def test_name_stays_stable_when_a_colliding_website_failed(out):
    websites = [{"id": "1", "domain": "a/b"}, {"id": "2", "domain": "a_b"}]
    only_one = {"1": build_record(websites[0], ANALYTICS_A, [], DATE, {})}

    paths = write_json_files(out, only_one, DATE, websites=websites)

    assert os.path.basename(paths["1"]) == "a_b_1_2026-06-13.json"


@pytest.mark.parametrize("bad", ["2026-02-30", "26-06-13", "2026-06-13/../x", "", "2026-6-13"])
def test_a_bad_date_never_reaches_a_file_name(bad):
    with pytest.raises(UsageError):
        safe_filename("a.com", bad, "json")


def test_out_dir_that_is_a_file_is_a_usage_error(out):
    (out / "f").write_text("x")

    with pytest.raises(UsageError) as info:
        write_table_file(out / "f", [record_a()], DATE, "csv")
    assert info.value.exit_code == ExitCode.USAGE


# ---------------------------------------------------------------------------- atomic writes


def test_interrupted_write_leaves_neither_partial_nor_final_file(out, monkeypatch):
    yesterday = write_json_files(out, {SITE_A["id"]: record_a()}, "2026-06-12")
    before = Path(yesterday[SITE_A["id"]]).read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ZenovayError) as info:
        write_json_files(out, {SITE_A["id"]: record_a()}, DATE)
    with pytest.raises(ZenovayError):
        write_table_file(out, [record_a()], DATE, "csv")

    assert "No space left on device" in str(info.value)
    assert listing(out) == ["mywebsite.com_2026-06-12.json"]
    assert Path(yesterday[SITE_A["id"]]).read_bytes() == before


def test_rerun_the_same_day_replaces_that_days_files(out):
    first = build_record(SITE_A, {"summary": {"total_visitors": 1}}, [], DATE, {})
    second = build_record(SITE_A, {"summary": {"total_visitors": 2}}, [], DATE, {})

    write_json_files(out, {SITE_A["id"]: first}, DATE)
    write_table_file(out, [first], DATE, "csv")
    write_json_files(out, {SITE_A["id"]: second}, DATE)
    write_table_file(out, [second], DATE, "csv")

    assert listing(out) == ["mywebsite.com_2026-06-13.json", "zenovay_2026-06-13.csv"]
    doc = json.loads((out / "mywebsite.com_2026-06-13.json").read_text())
    assert doc["analytics"] == {"total_visitors": 2}
    rows = list(csv.DictReader(io.StringIO((out / "zenovay_2026-06-13.csv").read_text())))
    assert [r["total_visitors"] for r in rows] == ["2"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_export_files_follow_the_umask_like_a_shell_redirect(out, umask, mode):
    old = os.umask(umask)
    try:
        paths = write_json_files(out, {SITE_A["id"]: record_a()}, DATE)
        table = write_table_file(out, [record_a()], DATE, "ndjson")
    finally:
        os.umask(old)

    assert os.stat(paths[SITE_A["id"]]).st_mode & 0o777 == mode
    assert os.stat(table).st_mode & 0o777 == mode


def test_write_replaces_a_symlink_instead_of_writing_through_it(out):
    outside = out.parent / "outside.txt"
    outside.write_text("keep me")
    (out / "zenovay_2026-06-13.csv").symlink_to(outside)

    write_table_file(out, [record_a()], DATE, "csv")

    assert outside.read_text() == "keep me"
    assert not (out / "zenovay_2026-06-13.csv").is_symlink()


# ---------------------------------------------------------------------------- stale temp files


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_temp(directory, pid, age=0.0, now=1_000_000.0, token="0123abcd"):
    path = directory / f".zenovay-{pid}-{token}.tmp"
    path.write_text("partial")
    os.utime(path, (now - age, now - age))
    return path


def test_stale_temp_files_of_killed_runs_are_removed(out):
    now = 1_000_000.0
    mine = os.getpid()
    orphan = make_temp(out, dead_pid(), age=1, token="00000001")
    old = make_temp(out, mine, age=61, token="00000002")
    fresh_live = make_temp(out, mine, age=1, token="00000003")
    not_ours = out / ".report.tmp"
    not_ours.write_text("x")
    os.utime(not_ours, (0, 0))
    lookalike = out / ".zenovay-1-nothex!.tmp"
    lookalike.write_text("x")
    os.utime(lookalike, (0, 0))
    link = out / ".zenovay-1-deadbeef.tmp"
    link.symlink_to(out / "nowhere")

    removed = clean_stale_temp_files(out, now=now)

    assert sorted(removed) == sorted([str(orphan), str(old)])
    assert fresh_live.exists() and not_ours.exists() and lookalike.exists()
    assert link.is_symlink()


def test_taking_the_lock_cleans_up_after_a_killed_run(out):
    orphan = make_temp(out, dead_pid(), now=os.path.getmtime(out))

    with ExportLock(out) as lock:
        assert not orphan.exists()
        assert lock.cleaned == [str(orphan)]


# ---------------------------------------------------------------------------- the lock

HOLDER = """
import sys
from zenovay_cli.export import ExportLock
with ExportLock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(out):
    """Another process holding the lock on out until its stdin gets a line."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(zenovay_cli.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout.readline() == "locked\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()


def release(proc):
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait()


def test_second_run_fails_at_once_naming_the_lock_and_its_holder(out, holder):
    with pytest.raises(LockedError) as info, ExportLock(out):
        pytest.fail("got a lock another process holds")

    message = str(info.value)
    assert str(out / LOCK_FILENAME) in message
    assert f"pid {holder.pid}" in message
    assert "--wait-lock" in info.value.hint


def test_wait_lock_waits_until_the_other_run_releases(out, holder):
    sleeps, announced = [], []

    def sleep(seconds):
        if not sleeps:
            release(holder)  # the other run finishes while we wait
        sleeps.append(seconds)

    with ExportLock(out, wait=True, sleep=sleep, on_wait=announced.append):
        assert len(sleeps) >= 1
    assert announced and f"pid {holder.pid}" in announced[0]


def test_wait_lock_gives_up_after_the_timeout(out, holder):
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds

    lock = ExportLock(out, wait=True, timeout=5, sleep=sleep, clock=lambda: clock[0])
    with pytest.raises(LockedError) as info, lock:
        pytest.fail("got a lock another process holds")
    assert "after 5 s" in str(info.value)
    assert clock[0] >= 5


def test_a_killed_holder_never_leaves_a_stale_lock(out, holder):
    holder.kill()
    holder.wait()

    with ExportLock(out):
        pass


def test_lock_is_free_again_after_the_block(out):
    with ExportLock(out):
        pass
    with ExportLock(out):
        pass
    assert (out / LOCK_FILENAME).exists()


def test_lock_creates_the_out_dir(out):
    with ExportLock(out / "new" / "dir"):
        assert (out / "new" / "dir" / LOCK_FILENAME).exists()


# ---------------------------------------------------------------------------- dates and summary


def test_export_date_is_the_local_day_of_the_run_or_of_the_given_zone():
    late = dt.datetime(2026, 6, 13, 23, 30, tzinfo=dt.timezone.utc)

    assert export_date(late, tz=dt.timezone(dt.timedelta(hours=2))) == "2026-06-14"
    assert export_date(late, tz=dt.timezone.utc) == "2026-06-13"
    assert export_date(dt.datetime(2026, 1, 2, 0, 5)) == "2026-01-02"


def test_summary_lists_each_failure_on_its_own_line_with_the_request_id():
    results = [
        ExportResult("1", "ok.com", path="/x"),
        ExportResult(
            "2",
            "a.com",
            ApiError("503 Service Unavailable after 3 retries", status=503, request_id="req_1"),
        ),
        ExportResult("3", "evil\n\x1b[2J.com", "line one\nline two"),
        ExportResult("4", "", TimeoutError()),
    ]

    text = summarize(results)

    assert text.splitlines() == [
        "exported 1 of 4 websites; 3 failed:",
        "  a.com (503 Service Unavailable after 3 retries, request id req_1)",
        "  evil\\n\\x1b[2J.com (line one\\nline two)",
        "  4 (TimeoutError)",
    ]


def test_summary_of_a_clean_run_is_one_line():
    assert summarize([ExportResult("1", "a.com"), ExportResult("2", "b.com")]) == (
        "exported 2 of 2 websites"
    )


# ------------------------------------------------ the whole command against a hostile API


class _OddApi:
    """A tiny API on 127.0.0.1 whose websites have ODD_DOMAINS (plus a very long one) as domains."""

    def __init__(self, rate_headers: bool = True) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.websites = odd_websites() + [{"id": "id-long", "domain": "sub." * 200 + "example.com"}]
        self.paths: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                path = self.path.split("?", 1)[0].removeprefix("/api/external/v1")
                api.paths.append(path)
                parts = path.strip("/").split("/")
                if parts == ["usage"]:
                    data = {"rate_limits": {"requests_per_minute": 6000}}
                elif parts == ["websites"]:
                    data = {"websites": api.websites}
                elif len(parts) == 2 and parts[0] == "analytics":
                    data = {"summary": {"total_visitors": len(parts[1]), "page_views": 1}}
                elif len(parts) == 3 and parts[2] == "countries":
                    data = {"countries": [{"country_code": "FR", "visitors": 3}]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps({"success": True, "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if rate_headers:
                    self.send_header("X-RateLimit-Limit", "100000")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/external/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def odd_api():
    api = _OddApi()
    yield api
    api.close()


def run_cli(*args: str) -> int:
    from zenovay_cli.main import run

    with pytest.raises(SystemExit) as info:
        run(list(args))
    return info.value.code


def test_export_command_keeps_every_odd_domain_inside_out(odd_api, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZENOVAY_BASE_URL", odd_api.base_url)
    monkeypatch.setenv("ZENOVAY_API_KEY", "zv_test_key")
    work = tmp_path / "w1" / "w2" / "w3"  # "../../x" from --out stays inside tmp_path if it escapes
    out = work / "exports"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)

    code = run_cli("export", "--out", "exports", "--no-cache")

    captured = capsys.readouterr()
    assert code == 0, captured.err
    names = [n for n in listing(out) if n != LOCK_FILENAME]
    assert len(names) == len(odd_api.websites)  # each website in its own file
    assert all((out / n).is_file() and not n.startswith(".") for n in names)
    assert sorted(captured.out.splitlines()) == sorted(str(out.resolve() / n) for n in names)
    found = sorted(
        os.path.relpath(os.path.join(root, f), tmp_path)
        for root, _, files in os.walk(tmp_path) for f in files
        if not os.path.relpath(root, tmp_path).startswith("home")
    )
    assert found == sorted(os.path.join("w1", "w2", "w3", "exports", n) for n in [*names, LOCK_FILENAME])
    domains = sorted(json.loads((out / n).read_text("utf-8"))["website"] for n in names)
    assert domains == sorted(w["domain"] for w in odd_api.websites)  # the data itself is untouched
    assert "\x1b" not in captured.err and "\x1b" not in captured.out
    assert "/usage" not in odd_api.paths  # the answers' X-RateLimit-Limit was enough to pace by


def test_without_rate_limit_headers_the_plan_limit_comes_from_usage(tmp_path, monkeypatch, capsys):
    api = _OddApi(rate_headers=False)
    try:
        monkeypatch.setenv("ZENOVAY_BASE_URL", api.base_url)
        monkeypatch.setenv("ZENOVAY_API_KEY", "zv_test_key")
        code = run_cli("export", "--out", str(tmp_path / "exports"), "--no-cache", "--quiet")
    finally:
        api.close()
    assert code == 0, capsys.readouterr().err
    assert api.paths[:2] == ["/websites", "/usage"]
    assert api.paths.count("/usage") == 1
