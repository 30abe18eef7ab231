"""The history store: schema, migrations, "newer answer wins", locking, refusal of bad files."""

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import date

import pytest

from zenovay_cli.errors import UsageError
from zenovay_cli.history import query
from zenovay_cli.history import store as st

SITE = st.SiteInfo("w1", "one.example", "One")


def rows(start: int, n: int, base: int = 100):
    """n days of January 2026 from day `start`, with figures derived from the day."""
    return [st.DayRow(f"2026-01-{day:02d}", base + day, base // 2 + day, 3 * (base + day))
            for day in range(start, start + n)]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_is_private_versioned_and_wal(tmp_path):
    path = tmp_path / "h.db"
    with st.Store(path) as s:
        assert s.wal
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = st.connect_readonly(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(st.SCHEMA_VERSION,)]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_version", "websites", "website_domains", "daily_stats", "breakdowns", "syncs"} <= tables


def test_save_counts_added_unchanged_and_changed_and_newer_wins(tmp_path):
    with st.Store(tmp_path / "h.db") as s:
        first = s.save_website(SITE, rows(1, 10), fetched_at="2026-01-11T00:00:00.000000Z",
                               sync_date="2026-01-11", time_range="30d")
        assert (first.added, first.changed, first.unchanged) == (10, 0, 0)
        again = s.save_website(SITE, rows(1, 10), fetched_at="2026-01-11T01:00:00.000000Z",
                               sync_date="2026-01-11", time_range="30d")
        assert (again.added, again.changed, again.unchanged) == (0, 0, 10)
        revised = rows(1, 10)
        revised[-1] = st.DayRow("2026-01-10", 999, 500, 2000)  # the newest day grew
        newer = s.save_website(SITE, revised, fetched_at="2026-01-11T02:00:00.000000Z",
                               sync_date="2026-01-11", time_range="30d")
        assert (newer.added, newer.changed, newer.unchanged) == (0, 1, 9)
        # An answer fetched before the stored one (an overlapping slower sync) does not win.
        older = s.save_website(SITE, rows(1, 10), fetched_at="2026-01-11T01:30:00.000000Z",
                               sync_date="2026-01-11", time_range="30d")
        assert (older.changed, older.kept_newer) == (0, 1)
    conn = st.connect_readonly(tmp_path / "h.db")
    got = list(st.daily_rows(conn, "w1", date(2026, 1, 10), date(2026, 1, 10)))
    assert got == [(date(2026, 1, 10), 999, 500, 2000)]


def test_rename_keeps_history_and_old_domain_still_finds_it(tmp_path):
    path = tmp_path / "h.db"
    with st.Store(path) as s:
        s.save_website(SITE, rows(1, 3), fetched_at="2026-01-04T00:00:00.000000Z",
                       sync_date="2026-01-04", time_range="7d")
        s.save_website(st.SiteInfo("w1", "new.example", "New name"), rows(4, 3),
                       fetched_at="2026-01-07T00:00:00.000000Z", sync_date="2026-01-07",
                       time_range="7d")
    conn = st.connect_readonly(path)
    site = st.find_website(conn, "one.example")
    assert site is not None and (site.domain, site.name) == ("new.example", "New name")
    assert st.find_website(conn, "https://www.NEW.example/") == site
    assert st.find_website(conn, "w1") == site
    assert st.find_website(conn, "other.example") is None
    assert len(list(st.daily_rows(conn, "w1", date(2026, 1, 1), date(2026, 1, 31)))) == 6


def test_removed_upstream_keeps_history_and_returning_clears_the_mark(tmp_path):
    path = tmp_path / "h.db"
    with st.Store(path) as s:
        s.save_website(SITE, rows(1, 3), fetched_at="2026-01-04T00:00:00.000000Z",
                       sync_date="2026-01-04", time_range="7d")
        assert s.mark_removed([], when="2026-01-05T00:00:00.000000Z") == ["w1"]
        assert s.mark_removed([]) == []  # already marked
        conn = st.connect_readonly(path)
        assert st.find_website(conn, "w1").removed_at == "2026-01-05T00:00:00.000000Z"
        assert len(list(st.daily_rows(conn, "w1", date(2026, 1, 1), date(2026, 1, 31)))) == 3
        s.save_website(SITE, rows(4, 1), fetched_at="2026-01-06T00:00:00.000000Z",
                       sync_date="2026-01-06", time_range="7d")
        assert st.find_website(conn, "w1").removed_at is None


def test_breakdown_snapshot_of_a_day_is_replaced_by_a_newer_one_only(tmp_path):
    path = tmp_path / "h.db"
    a = [st.BreakdownRow("US", "United States", 10), st.BreakdownRow("DE", "Germany", 5)]
    b = [st.BreakdownRow("FR", "France", 7)]
    with st.Store(path) as s:
        for stamp, snap in (("T01", a), ("T03", b), ("T02", a)):
            s.save_website(SITE, [], {"country": snap}, fetched_at=f"2026-01-04{stamp}",
                           sync_date="2026-01-04", time_range="7d")
    conn = st.connect_readonly(path)
    assert conn.execute("SELECT item, visitors FROM breakdowns").fetchall() == [("FR", 7)]


def test_readonly_connection_cannot_write(tmp_path):
    path = tmp_path / "h.db"
    st.Store(path).close()
    before = digest(path)
    conn = st.connect_readonly(path)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM daily_stats")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("CREATE TABLE x (a)")
    assert digest(path) == before


def test_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        st.Store(tmp_path / "nope" / "h.db")
    assert not (tmp_path / "nope").exists()


def test_not_a_sqlite_file_is_refused_and_left_untouched(tmp_path):
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "notes.txt"
    path.write_text("my precious notes\n" * 100)
    before = digest(path)
    for open_it in (st.Store, st.connect_readonly):
        with pytest.raises(st.StoreError, match="not a SQLite file") as info:
            open_it(path)
        assert info.value.exit_code == 1
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["notes.txt"]


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "h.db"
    st.Store(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO schema_version VALUES (?, 'later')", (st.SCHEMA_VERSION + 1,))
    raw.commit()
    raw.execute("PRAGMA journal_mode = DELETE")
    raw.close()
    before = digest(path)
    for open_it in (st.Store, st.connect_readonly):
        with pytest.raises(st.StoreError, match="schema version 2") as info:
            open_it(path)
        assert info.value.exit_code == 1
    assert digest(path) == before
    assert query.daily_sums(path, "w1", date(2026, 1, 1), date(2026, 1, 2)) is None


def test_a_failed_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "h.db"
    broken = dict(st.MIGRATIONS)
    broken[1] = (*st.MIGRATIONS[1], "CREATE TABLE websites (x)")  # fails: already exists
    monkeypatch.setattr(st, "MIGRATIONS", broken)
    with pytest.raises(st.StoreError):
        st.Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


WRITER = textwrap.dedent("""
    import sys, time
    from zenovay_cli.history import store as st
    path, name, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = st.Store(path)
    days = [st.DayRow(f"2026-01-{d:02d}", d, d, d) for d in range(1, 29)]
    conn = s.conn
    conn.execute("BEGIN IMMEDIATE")
    s._save_days(conn, name, days, st.now_stamp())
    print("inside", flush=True)
    time.sleep(hold)
    conn.execute("COMMIT")
    print("done", flush=True)
""")


def _writer(tmp_path, name, hold):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "h.db"), name, str(hold)],
                            stdout=subprocess.PIPE, text=True, cwd=os.getcwd())


def test_two_writers_at_once_both_finish(tmp_path):
    st.Store(tmp_path / "h.db").close()
    first = _writer(tmp_path, "a", 1.0)
    assert first.stdout.readline().strip() == "inside"
    second = _writer(tmp_path, "b", 0.0)  # waits for the lock (busy timeout), then writes
    assert first.wait(30) == 0 and second.wait(30) == 0
    conn = st.connect_readonly(tmp_path / "h.db")
    counts = dict(conn.execute("SELECT website_id, count(*) FROM daily_stats GROUP BY 1"))
    assert counts == {"a": 28, "b": 28}
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


OPENER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from zenovay_cli.history import store as st
    start = float(sys.argv[3])
    while time.time() < start:
        pass
    with st.Store(Path(sys.argv[1])) as s:
        s.save_website(st.SiteInfo(sys.argv[2]), [st.DayRow("2026-02-01", 1, 1, 1)],
                       fetched_at=st.now_stamp(), sync_date="2026-02-01", time_range="7d")
""")


def test_two_syncs_creating_a_new_store_at_once_both_finish(tmp_path):
    # SQLite answers "database is locked" at once, without waiting, when two connections switch a
    # brand-new file to WAL together; this failed in about half of the rounds before the retry.
    import time

    failures = []
    for round_ in range(12):
        db = tmp_path / f"h{round_}.db"
        start = time.time() + 0.4  # both processes past their imports, then open together
        procs = [subprocess.Popen([sys.executable, "-c", OPENER, str(db), name, str(start)],
                                  stderr=subprocess.PIPE, text=True, cwd=os.getcwd())
                 for name in ("a", "b")]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            if proc.returncode:
                failures.append(err.strip().splitlines()[-1])
        if not failures:
            conn = st.connect_readonly(db)
            assert sorted(r[0] for r in conn.execute("SELECT website_id FROM daily_stats")) == ["a", "b"]
            conn.close()
    assert failures == []


def test_a_killed_writer_leaves_the_previous_data_intact(tmp_path):
    path = tmp_path / "h.db"
    with st.Store(path) as s:
        s.save_website(st.SiteInfo("a"), rows(1, 5), fetched_at="2026-01-06T00:00:00.000000Z",
                       sync_date="2026-01-06", time_range="7d")
    writer = _writer(tmp_path, "a", 30.0)  # rewrites every day of "a", then hangs uncommitted
    assert writer.stdout.readline().strip() == "inside"
    writer.kill()
    writer.wait()
    conn = st.connect_readonly(path)
    got = list(st.daily_rows(conn, "a", date(2026, 1, 1), date(2026, 1, 31)))
    assert [(day.day, tv) for day, tv, _, _ in got] == [(n, 100 + n) for n in range(1, 6)]
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with st.Store(path) as s:  # and the next writer is not blocked by the dead one
        s.save_website(st.SiteInfo("a"), rows(6, 1), fetched_at="2026-01-07T00:00:00.000000Z",
                       sync_date="2026-01-07", time_range="7d")


def test_info_reports_days_and_versions(tmp_path):
    path = tmp_path / "h.db"
    with st.Store(path) as s:
        s.save_website(SITE, rows(3, 4), {"country": [st.BreakdownRow("US", "US", 1)]},
                       fetched_at="2026-01-07T00:00:00.000000Z", sync_date="2026-01-07",
                       time_range="7d")
    doc = st.info(st.connect_readonly(path), path)
    assert doc["schema_version"] == st.SCHEMA_VERSION
    assert (doc["websites"], doc["daily_rows"], doc["breakdown_rows"]) == (1, 4, 1)
    assert (doc["first_day"], doc["last_day"]) == ("2026-01-03", "2026-01-06")
    assert doc["sites"][0]["snapshots"] == 1
    assert doc["file_size"] > 0
