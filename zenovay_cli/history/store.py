"""The history store: one SQLite file of daily figures and breakdown snapshots per website.

Writers take the write lock up front (BEGIN IMMEDIATE) and wait for another writer up to a busy
timeout, so two overlapping cron runs both finish (the steps SQLite does not wait on by itself,
switching a new file to WAL among them, are retried through sqlitewait.retry_locked); each website's rows are one transaction, so a
killed sync leaves every earlier commit (and the previous data) intact. Readers open the file
read-only through a `mode=ro` URI: `history show`, `info` and `sql` can never change it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from zenovay_cli.errors import ExitCode, UsageError, ZenovayError
from zenovay_cli.sqlitewait import is_locked, retry_locked

SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT = 60.0  # seconds a writer waits for another one (a whole 1y sync is seconds)
_SQLITE_HEADER = b"SQLite format 3\x00"

# Migration n takes a store from version n-1 to n; all of them run in one transaction.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE schema_version (
            version INTEGER NOT NULL,
            applied_at TEXT NOT NULL
        )""",
        """CREATE TABLE websites (
            website_id TEXT PRIMARY KEY,
            domain TEXT,
            name TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            removed_at TEXT
        )""",
        """CREATE TABLE website_domains (
            website_id TEXT NOT NULL,
            domain TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (website_id, domain)
        ) WITHOUT ROWID""",
        """CREATE TABLE daily_stats (
            website_id TEXT NOT NULL,
            date TEXT NOT NULL,
            total_visitors INTEGER,
            unique_visitors INTEGER,
            page_views INTEGER,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (website_id, date)
        ) WITHOUT ROWID""",
        "CREATE INDEX daily_stats_by_date ON daily_stats (date)",
        """CREATE TABLE breakdowns (
            website_id TEXT NOT NULL,
            sync_date TEXT NOT NULL,
            time_range TEXT NOT NULL,
            dimension TEXT NOT NULL,
            item TEXT NOT NULL,
            label TEXT,
            visitors INTEGER,
            page_views INTEGER,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (website_id, sync_date, time_range, dimension, item)
        ) WITHOUT ROWID""",
        """CREATE TABLE syncs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            source TEXT NOT NULL,
            websites INTEGER,
            failed INTEGER,
            days_added INTEGER,
            days_changed INTEGER
        )""",
    ),
}

DIMENSIONS = ("country", "page", "browser", "os", "device")


class StoreError(ZenovayError):
    """The store file cannot be used (not SQLite, newer schema, unreadable): an I/O failure."""

    exit_code = ExitCode.API_FAILURE


def now_stamp(now: datetime | None = None) -> str:
    """UTC time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`: fixed width, so text order is time order."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_path(demo: bool = False) -> Path:
    """$ZENOVAY_HISTORY_DB, else history.db in the user data dir (~/.local/share/zenovay/).

    A `--demo` run (the sandbox's synthetic websites) uses history-demo.db in the user data dir,
    whatever ZENOVAY_HISTORY_DB says, so that it never mixes made-up figures into the user's store.
    """
    env = os.environ.get("ZENOVAY_HISTORY_DB")
    if env and not demo:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("zenovay", appauthor=False)) / ("history-demo.db" if demo else "history.db")


# ------------------------------------------------------------------------------- the file


def check_path(path: Path, *, must_exist: bool) -> bool:
    """Validate a store path without touching it; True when the file exists.

    A missing folder is a usage error (a wrong --db); a file that is not SQLite is an I/O error.
    """
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(
            f"--db {str(path)!r}: folder {str(parent)!r} does not exist",
            hint="Create the folder first, or give another --db path.",
        )
    if path.is_dir():
        raise UsageError(f"--db {str(path)!r} is a folder, not a file")
    if not path.exists():
        if must_exist:
            raise no_store(path)
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if head and head != _SQLITE_HEADER:
        raise StoreError(
            f"{str(path)!r} is not a SQLite file; it was left untouched",
            hint="Give another --db path.",
        )
    return True


def no_store(path: Path) -> StoreError:
    """The error of reading a store that was never filled."""
    return StoreError(
        f"no history store at {str(path)!r}",
        hint="Fill it first: `zenovay history sync --backfill 1y`.",
    )


def _read_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _newer(path: Path, version: int) -> StoreError:
    return StoreError(
        f"{str(path)!r} has history schema version {version}; this zenovay knows up to "
        f"{SCHEMA_VERSION}; it was left untouched",
        hint="Upgrade zenovay-cli to use this store.",
    )


def _sqlite_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{str(path)!r} is not a usable SQLite file ({text})")
    if is_locked(exc):
        return StoreError(
            f"{str(path)!r} stayed locked by another writer ({text})",
            hint="Another `zenovay history sync` is running; try again when it ends.",
        )
    return StoreError(f"history store {str(path)!r}: {text}")


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (`mode=ro` URI, query_only), for show/info/sql."""
    path = Path(path)
    check_path(path, must_exist=True)
    try:
        conn = sqlite3.connect(
            path.absolute().as_uri() + "?mode=ro", uri=True, timeout=DEFAULT_BUSY_TIMEOUT,
            isolation_level=None, check_same_thread=False,
        )
        conn.execute("PRAGMA query_only = ON")
        version = retry_locked(lambda: _read_version(conn), DEFAULT_BUSY_TIMEOUT)
    except sqlite3.Error as exc:
        raise _sqlite_error(path, exc) from None
    if version > SCHEMA_VERSION:
        conn.close()
        raise _newer(path, version)
    if version < SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            f"{str(path)!r} has history schema version {version}, older than this zenovay's "
            f"{SCHEMA_VERSION}",
            hint="Run `zenovay history sync` once to upgrade it (in one transaction).",
        )
    return conn


# ------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class DayRow:
    date: str  # YYYY-MM-DD
    total_visitors: int | None
    unique_visitors: int | None
    page_views: int | None

    def values(self) -> tuple[int | None, int | None, int | None]:
        return (self.total_visitors, self.unique_visitors, self.page_views)


@dataclass(frozen=True)
class BreakdownRow:
    item: str
    label: str | None
    visitors: int | None
    page_views: int | None = None


@dataclass
class Changes:
    """What one save did to the daily rows (and snapshots)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    kept_newer: int = 0  # the store already held a newer answer for these days
    snapshots: int = 0  # breakdown snapshots written or replaced

    def __iadd__(self, other: Changes) -> Changes:
        self.added += other.added
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.kept_newer += other.kept_newer
        self.snapshots += other.snapshots
        return self


@dataclass
class SiteInfo:
    website_id: str
    domain: str | None = None
    name: str | None = None


@dataclass
class _Existing:
    values: dict[str, tuple] = field(default_factory=dict)
    fetched: dict[str, str] = field(default_factory=dict)


class Store:
    """The writer side: open (creating and migrating as needed), save websites' answers."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        existed = check_path(self.path, must_exist=False)
        if existed:
            self._refuse_newer()
        else:
            self._create_private()
        try:
            self.conn = sqlite3.connect(
                str(self.path), timeout=busy_timeout, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from None
        try:
            # WAL lets readers (history show) run during a sync; where the filesystem cannot do
            # it (some network mounts) SQLite keeps its rollback journal, which is also safe.
            # Two syncs opening a new file at once: the switch can fail at once with "locked".
            mode = retry_locked(
                lambda: self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0], busy_timeout
            )
            self.wal = str(mode).lower() == "wal"
            self.migrate()
        except sqlite3.Error as exc:
            self.conn.close()
            raise _sqlite_error(self.path, exc) from None
        except BaseException:
            self.conn.close()
            raise

    def _refuse_newer(self) -> None:
        # Looked at read-only first: a store from a newer zenovay is never touched, not even by
        # switching its journal mode.
        try:
            probe = sqlite3.connect(
                self.path.absolute().as_uri() + "?mode=ro", uri=True, timeout=self.busy_timeout
            )
            try:
                version = retry_locked(lambda: _read_version(probe), self.busy_timeout)
            finally:
                probe.close()
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from None
        if version > SCHEMA_VERSION:
            raise _newer(self.path, version)

    def _create_private(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return  # another sync created it a moment ago
        except OSError as exc:
            raise StoreError(f"cannot create {str(self.path)!r}: {exc.strerror or exc}") from None
        os.close(fd)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the missing migrations in one transaction; the schema version afterwards."""
        conn = self.conn
        retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"), self.busy_timeout)
        try:
            version = _read_version(conn)
            if version > SCHEMA_VERSION:
                raise _newer(self.path, version)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (target, now_stamp()),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return SCHEMA_VERSION

    # -- writes -------------------------------------------------------------------------------

    def _transaction(self):
        return _Transaction(self.conn, self.path, self.busy_timeout)

    def start_sync(self, source: str, started_at: str | None = None) -> int:
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO syncs (started_at, source) VALUES (?, ?)",
                (started_at or now_stamp(), source),
            )
            return int(cur.lastrowid or 0)

    def finish_sync(self, sync_id: int, *, websites: int, failed: int, totals: Changes) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE syncs SET finished_at = ?, websites = ?, failed = ?, days_added = ?, "
                "days_changed = ? WHERE id = ?",
                (now_stamp(), websites, failed, totals.added, totals.changed, sync_id),
            )

    def save_website(
        self,
        site: SiteInfo,
        days: Sequence[DayRow],
        breakdowns: Mapping[str, Sequence[BreakdownRow]] | None = None,
        *,
        fetched_at: str,
        sync_date: str,
        time_range: str,
    ) -> Changes:
        """One website's answer in one transaction: its identity, daily rows and snapshots.

        A stored day is replaced only by an answer fetched later than the one that set it (the
        API's latest numbers win, also when two syncs overlap), and only when a figure differs:
        running the same sync twice changes nothing.
        """
        changes = Changes()
        with self._transaction() as conn:
            self._save_identity(conn, site, fetched_at)
            if days:
                changes += self._save_days(conn, site.website_id, days, fetched_at)
            for dimension, rows in (breakdowns or {}).items():
                changes.snapshots += self._save_snapshot(
                    conn, site.website_id, sync_date, time_range, dimension, rows, fetched_at
                )
        return changes

    def mark_removed(self, listed_ids: Iterable[str], when: str | None = None) -> list[str]:
        """Websites the API no longer lists get `removed_at` (their history stays); ones listed
        again lose it. Returns the ids newly marked."""
        listed = set(listed_ids)
        when = when or now_stamp()
        with self._transaction() as conn:
            stored = conn.execute("SELECT website_id, removed_at FROM websites").fetchall()
            gone = [wid for wid, removed in stored if wid not in listed and removed is None]
            conn.executemany(
                "UPDATE websites SET removed_at = ? WHERE website_id = ?",
                [(when, wid) for wid in gone],
            )
        return gone

    @staticmethod
    def _save_identity(conn: sqlite3.Connection, site: SiteInfo, seen: str) -> None:
        conn.execute(
            "INSERT INTO websites (website_id, domain, name, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (website_id) DO UPDATE SET "
            "domain = coalesce(excluded.domain, domain), name = coalesce(excluded.name, name), "
            "last_seen = max(last_seen, excluded.last_seen), removed_at = NULL "
            "WHERE excluded.last_seen >= websites.last_seen",
            (site.website_id, site.domain, site.name, seen, seen),
        )
        if site.domain:
            conn.execute(
                "INSERT INTO website_domains (website_id, domain, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (website_id, domain) DO UPDATE SET "
                "last_seen = max(last_seen, excluded.last_seen)",
                (site.website_id, site.domain, seen, seen),
            )

    @staticmethod
    def _save_days(
        conn: sqlite3.Connection, website_id: str, days: Sequence[DayRow], fetched_at: str
    ) -> Changes:
        changes = Changes()
        dates = [d.date for d in days]
        existing = _Existing()
        for day, tv, uv, pv, fetched in conn.execute(
            "SELECT date, total_visitors, unique_visitors, page_views, fetched_at FROM daily_stats "
            "WHERE website_id = ? AND date BETWEEN ? AND ?",
            (website_id, min(dates), max(dates)),
        ):
            existing.values[day] = (tv, uv, pv)
            existing.fetched[day] = fetched
        inserts, updates = [], []
        for row in {d.date: d for d in days}.values():
            old = existing.values.get(row.date)
            if old is None:
                inserts.append((website_id, row.date, *row.values(), fetched_at))
                changes.added += 1
            elif old == row.values():
                changes.unchanged += 1
            elif fetched_at > existing.fetched[row.date]:
                updates.append((*row.values(), fetched_at, website_id, row.date))
                changes.changed += 1
            else:
                changes.kept_newer += 1
        conn.executemany(
            "INSERT INTO daily_stats (website_id, date, total_visitors, unique_visitors, "
            "page_views, fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
            inserts,
        )
        conn.executemany(
            "UPDATE daily_stats SET total_visitors = ?, unique_visitors = ?, page_views = ?, "
            "fetched_at = ? WHERE website_id = ? AND date = ?",
            updates,
        )
        return changes

    @staticmethod
    def _save_snapshot(
        conn: sqlite3.Connection,
        website_id: str,
        sync_date: str,
        time_range: str,
        dimension: str,
        rows: Sequence[BreakdownRow],
        fetched_at: str,
    ) -> int:
        key = (website_id, sync_date, time_range, dimension)
        newest = conn.execute(
            "SELECT max(fetched_at) FROM breakdowns WHERE website_id = ? AND sync_date = ? "
            "AND time_range = ? AND dimension = ?",
            key,
        ).fetchone()[0]
        if newest is not None and newest >= fetched_at:
            return 0
        conn.execute(
            "DELETE FROM breakdowns WHERE website_id = ? AND sync_date = ? AND time_range = ? "
            "AND dimension = ?",
            key,
        )
        unique = {row.item: row for row in rows}
        conn.executemany(
            "INSERT INTO breakdowns (website_id, sync_date, time_range, dimension, item, label, "
            "visitors, page_views, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*key, r.item, r.label, r.visitors, r.page_views, fetched_at) for r in unique.values()],
        )
        return 1


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (Ctrl-C included)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, busy_timeout: float) -> None:
        self.conn, self.path, self.busy_timeout = conn, path, busy_timeout

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def __enter__(self) -> sqlite3.Connection:
        try:
            retry_locked(lambda: self.conn.execute("BEGIN IMMEDIATE"), self.busy_timeout)
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, exc) from None
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as error:
                self._rollback()
                raise _sqlite_error(self.path, error) from None
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise _sqlite_error(self.path, exc) from None


# ------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class StoredSite:
    website_id: str
    domain: str | None
    name: str | None
    removed_at: str | None


def _normalise_domain(value: str) -> str:
    import re

    value = value.strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].rstrip(".")
    return value.removeprefix("www.")


def websites(conn: sqlite3.Connection) -> list[StoredSite]:
    return [
        StoredSite(*row)
        for row in conn.execute(
            "SELECT website_id, domain, name, removed_at FROM websites ORDER BY domain, website_id"
        )
    ]


def find_website(conn: sqlite3.Connection, name: str) -> StoredSite | None:
    """A stored website by id, current domain or a domain it had before (renamed)."""
    name = name.strip()
    sites = {s.website_id: s for s in websites(conn)}
    if name in sites:
        return sites[name]
    wanted = _normalise_domain(name)
    for site in sites.values():
        if site.domain and _normalise_domain(site.domain) == wanted:
            return site
    rows = conn.execute(
        "SELECT website_id, domain FROM website_domains ORDER BY last_seen DESC"
    ).fetchall()
    for website_id, domain in rows:
        if _normalise_domain(domain) == wanted and website_id in sites:
            return sites[website_id]
    return None


def daily_rows(
    conn: sqlite3.Connection, website_id: str, start: date, end: date
) -> Iterator[tuple[date, int | None, int | None, int | None]]:
    """(date, total_visitors, unique_visitors, page_views) of the stored days in [start, end]."""
    for day, tv, uv, pv in conn.execute(
        "SELECT date, total_visitors, unique_visitors, page_views FROM daily_stats "
        "WHERE website_id = ? AND date BETWEEN ? AND ? ORDER BY date",
        (website_id, start.isoformat(), end.isoformat()),
    ):
        yield date.fromisoformat(day), tv, uv, pv


@dataclass
class SiteSummary:
    website_id: str
    domain: str | None
    name: str | None
    removed_at: str | None
    first_day: str | None
    last_day: str | None
    days: int
    snapshots: int


def info(conn: sqlite3.Connection, path: Path) -> dict:
    """What `history info` shows: the file, its schema version, and per website the days held."""
    per_site = conn.execute(
        "SELECT w.website_id, w.domain, w.name, w.removed_at, min(d.date), max(d.date), "
        "count(d.date) FROM websites w LEFT JOIN daily_stats d USING (website_id) "
        "GROUP BY w.website_id ORDER BY w.domain, w.website_id"
    ).fetchall()
    snapshots = dict(conn.execute(
        "SELECT website_id, count(DISTINCT sync_date || ' ' || time_range || ' ' || dimension) "
        "FROM breakdowns GROUP BY website_id"
    ).fetchall())
    last_sync = conn.execute(
        "SELECT started_at, finished_at, source, websites, failed, days_added, days_changed "
        "FROM syncs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    size = sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()
    )
    sites = [
        {
            "website_id": wid, "domain": domain, "name": name, "removed_at": removed,
            "first_day": first, "last_day": last, "days": days,
            "snapshots": snapshots.get(wid, 0),
        }
        for wid, domain, name, removed, first, last, days in per_site
    ]
    firsts = [s["first_day"] for s in sites if s["first_day"]]
    lasts = [s["last_day"] for s in sites if s["last_day"]]
    return {
        "path": str(path),
        "schema_version": _read_version(conn),
        "file_size": size,
        "websites": len(sites),
        "daily_rows": sum(s["days"] for s in sites),
        "breakdown_rows": conn.execute("SELECT count(*) FROM breakdowns").fetchone()[0],
        "first_day": min(firsts) if firsts else None,
        "last_day": max(lasts) if lasts else None,
        "last_sync": dict(zip(
            ("started_at", "finished_at", "source", "websites", "failed", "days_added",
             "days_changed"), last_sync)) if last_sync else None,
        "sites": sites,
    }
