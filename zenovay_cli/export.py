"""Pure export logic for `zenovay export`: records -> files, safe names, atomic writes, the lock."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import re
import secrets
import stat
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zenovay_cli.errors import LockedError, UsageError, ZenovayError
from zenovay_cli.schema import summary_of, website_id
from zenovay_cli.views import csv_line

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "CSV_FIELDS",
    "LOCK_FILENAME",
    "ExportLock",
    "ExportResult",
    "build_record",
    "clean_stale_temp_files",
    "csv_row",
    "export_date",
    "json_document",
    "plan_filenames",
    "prepare_out_dir",
    "safe_filename",
    "summarize",
    "sync_directory",
    "table_filename",
    "write_record_file",
    "write_table_file",
    "write_included_csv_files",
]

LOCK_FILENAME = ".zenovay-export.lock"
TABLE_FORMATS = ("csv", "ndjson")

# One row per website in the csv format. `top_country` holds the ISO 3166-1 alpha-2 code (short,
# the same in every language, what spreadsheets group by); the country's name when the API sent no
# code. The full country list with names is in the json and ndjson formats.
CSV_FIELDS = (
    "date",
    "website_id",
    "domain",
    "name",
    "total_visitors",
    "total_page_views",
    "unique_visitors",
    "top_country",
    "top_country_visitors",
)
# Unix line ends: the consumers of a nightly cron export are scripts (awk, cut, pandas); Excel
# and every CSV parser read "\n" as well.
CSV_LINE_TERMINATOR = "\n"

# Final names stay well under NAME_MAX (255 bytes on ext4/APFS/NTFS) and leave room for the
# temporary name; longer domains are cut and get a hash of the full domain so cut names stay apart.
MAX_NAME_BYTES = 200
_MAX_ID_BYTES = 64
_HASH_CHARS = 8
_UNNAMED = "unnamed"
# Windows refuses these as a file's base name (the part before the first dot), whatever the case.
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(10)]
    + [f"LPT{i}" for i in range(10)]
    + ["COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$"]
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXT_RE = re.compile(r"[a-z0-9]{1,10}")

# Our temporary files, and only ours: ".zenovay-<pid>-<8 hex>.tmp". The pid lets the next run
# tell a file left by a killed run from one a live process is still writing.
_TMP_PREFIX = ".zenovay-"
_TMP_SUFFIX = ".tmp"
_TMP_RE = re.compile(r"\.zenovay-(\d{1,10})-[0-9a-f]{8}\.tmp")
STALE_TEMP_AGE = 60.0  # seconds

_LOCK_POLL_INTERVAL = 0.25  # seconds between attempts while waiting for the lock


# --------------------------------------------------------------------------------------------
# dates


def export_date(now: _dt.datetime | None = None, tz: _dt.tzinfo | None = None) -> str:
    """The date in export file names, YYYY-MM-DD.

    The date the run happens, in the machine's local time zone by default (the zone cron uses to
    start the job), or in `tz` when given. An aware `now` is converted to that zone; a naive `now`
    is taken as already being in it.
    """
    if now is None:
        now = _dt.datetime.now(tz) if tz is not None else _dt.datetime.now()
    elif now.tzinfo is not None:
        now = now.astimezone(tz)  # tz None: the local zone
    return now.date().isoformat()


def _check_date(date: str) -> str:
    # The date becomes part of file names, so only the exact YYYY-MM-DD form of a real day passes.
    if not isinstance(date, str) or not _DATE_RE.fullmatch(date):
        raise UsageError(f"invalid export date {date!r}: expected YYYY-MM-DD")
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        raise UsageError(f"invalid export date {date!r}: no such day") from None
    return date


def _check_ext(ext: str) -> str:
    if not isinstance(ext, str) or not _EXT_RE.fullmatch(ext):
        raise ValueError(f"invalid file extension {ext!r}")
    return ext


# --------------------------------------------------------------------------------------------
# safe names


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]


def _cut_utf8(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _sanitize(text: str) -> str:
    """Letters, digits, '.', '-' and '_' only; every other run of characters becomes one '_'.

    NFKC first, so look-alike forms (full-width letters, the full-width solidus) fold into their
    plain form before the filter and never survive as a separator. Leading dots (hidden files,
    '.', '..') and dashes (a name read as an option by `rm *`) are stripped, and so are trailing
    dots and underscores (Windows drops trailing dots).
    """
    text = unicodedata.normalize("NFKC", text)
    kept = "".join(ch if (ch.isalnum() or ch in "-._") else "_" for ch in text)
    kept = re.sub(r"_+", "_", kept)
    return kept.strip("._-")


def _fit(text: str, max_bytes: int, original: str) -> str:
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    tag = "~" + _short_hash(original)
    return _cut_utf8(text, max_bytes - len(tag)).rstrip("._-") + tag


def _safe_domain_part(domain: str) -> str:
    part = _sanitize(domain)
    if part.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        part = "_" + part
    return part


def _safe_id_part(website_id: str) -> str:
    part = _sanitize(website_id)
    if not part:
        return _short_hash(website_id)
    return _fit(part, _MAX_ID_BYTES, website_id)


def safe_filename(domain: str, date: str, ext: str, website_id: str | None = None) -> str:
    """A file name for one website's export that is safe whatever `domain` holds.

    `{domain}_{date}.{ext}` as in Zenovay's guide; `{domain}_{website_id}_{date}.{ext}` when a
    website id is passed (plan_filenames does so when two domains would share a name). A domain
    that sanitises to nothing becomes "unnamed". The result never contains a path separator,
    never starts with a dot or a dash, is never a Windows device name and is at most
    MAX_NAME_BYTES bytes of UTF-8.
    """
    _check_date(date)
    _check_ext(ext)
    raw_domain = domain if isinstance(domain, str) else ""
    tail = f"_{date}.{ext}"
    if website_id is not None:
        tail = f"_{_safe_id_part(str(website_id))}{tail}"
    part = _safe_domain_part(raw_domain) or _UNNAMED
    budget = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    name = _fit(part, budget, raw_domain) + tail
    # By construction; checked anyway because the domain is untrusted input.
    if "/" in name or "\\" in name or "\0" in name or name.startswith("."):
        raise ValueError(f"unsafe export file name {name!r}")
    return name


def _name_key(name: str) -> str:
    # Case-insensitive file systems (macOS, Windows) would put "A.com" and "a.com" in one file.
    return unicodedata.normalize("NFC", name.casefold())


def _website_id(website: Mapping) -> str:
    return website_id(website)


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def plan_filenames(websites: Iterable[Mapping], date: str, ext: str) -> dict[str, str]:
    """{website_id: file name} for every website, no two names equal (ignoring case).

    Plan over every website of the run, failed ones included, so that a name never depends on
    which websites happened to fail. A domain that sanitises to the same name as another domain
    (or to nothing) gets its website id added, for every website involved, so no website
    "wins" the plain name by the accident of list order. A duplicate website id keeps its first
    entry.
    """
    entries: dict[str, str] = {}
    for website in websites:
        if not isinstance(website, Mapping):
            continue
        wid = _website_id(website)
        if wid not in entries:
            entries[wid] = _text(website.get("domain"))

    names = {wid: safe_filename(domain, date, ext) for wid, domain in entries.items()}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[_name_key(name)] = counts.get(_name_key(name), 0) + 1
    for wid, domain in entries.items():
        if counts[_name_key(names[wid])] > 1 or not _safe_domain_part(domain):
            names[wid] = safe_filename(domain, date, ext, website_id=wid)

    # An id-qualified name can still meet another website's plain name (domain "a.com_x" versus
    # domain "a.com" with id "x"), or two ids can sanitise alike: number what is left, in a
    # stable order.
    taken: set[str] = set()
    result: dict[str, str] = {}
    for wid in sorted(entries, key=lambda w: (_name_key(names[w]), w)):
        name = names[wid]
        n = 2
        while _name_key(name) in taken:
            name = _numbered(names[wid], n)
            n += 1
        taken.add(_name_key(name))
        result[wid] = name
    return {wid: result[wid] for wid in entries}


def _numbered(name: str, n: int) -> str:
    # "stem_2026-06-13.json" -> "stem-2_2026-06-13.json", kept within MAX_NAME_BYTES.
    stem, sep, tail = name.rpartition("_")
    tag = f"-{n}"
    stem = _cut_utf8(stem, MAX_NAME_BYTES - len((tag + sep + tail).encode("utf-8")))
    return f"{stem}{tag}{sep}{tail}"


def table_filename(date: str, fmt: str) -> str:
    """The one file of a csv or ndjson run: zenovay_{date}.{fmt}."""
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"not a table format: {fmt!r}")
    return f"zenovay_{_check_date(date)}.{fmt}"


# --------------------------------------------------------------------------------------------
# records


def _jsonable(value: object) -> object:
    """A deep copy that json.dumps can always write: NaN/Infinity (which Python's json parser
    accepts from a server) become null, non-string keys become strings."""
    if isinstance(value, Mapping):
        return {_text(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return _text(value)


def _summary(analytics: object) -> dict:
    return {key: _jsonable(value) for key, value in summary_of(analytics).items()}


def _list_of_objects(value: object, key: str) -> list:
    # Accept the endpoint's `data` object ({key: [...]}) or the bare list; drop non-objects.
    if isinstance(value, Mapping):
        value = value.get(key)
    if not isinstance(value, (list, tuple)):
        return []
    return [_jsonable(item) for item in value if isinstance(item, Mapping)]


def build_record(
    website: Mapping,
    analytics: Mapping | None,
    countries: Mapping | list | None,
    date: str,
    extras: Mapping | None = None,
) -> dict:
    """One website's export record; never fails on missing or odd fields.

    Keys, in order: website_id, website (the domain), name, date, analytics (the overview's
    `summary` object, unchanged; {} when absent), countries (list of objects), then `pages` and
    `technology` and any other extra asked for. The json file holds json_document(record),
    which is Zenovay's guide layout; ndjson lines hold the whole record.
    """
    website = website if isinstance(website, Mapping) else {}
    record: dict = {
        "website_id": _website_id(website),
        "website": _text(website.get("domain")),
        "name": _text(website.get("name")),
        "date": _check_date(date),
        "analytics": _summary(analytics),
        "countries": _list_of_objects(countries, "countries"),
    }
    for key, value in (extras or {}).items():
        key = _text(key)
        if key in record:
            continue
        if key == "pages":
            record[key] = _list_of_objects(value, "pages")
        elif key == "technology":
            record[key] = _jsonable(value) if isinstance(value, Mapping) else {}
        else:
            record[key] = _jsonable(value)
    return record


_NOT_IN_JSON_FILE = ("website_id", "name")


def json_document(record: Mapping) -> dict:
    """The json file's content: Zenovay's guide layout {website, date, analytics, countries, …}."""
    return {k: v for k, v in record.items() if k not in _NOT_IN_JSON_FILE}


def _number(value: object) -> int | float | str:
    # Missing is not zero: an absent or non-numeric count is an empty cell.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def _top_country(countries: object) -> tuple[str, int | float | str]:
    # The API sorts by visitors, but take the maximum rather than trust the order.
    best = None
    best_visitors: int | float | None = None
    for item in countries if isinstance(countries, list) else []:
        if not isinstance(item, Mapping):
            continue
        visitors = _number(item.get("visitors"))
        if isinstance(visitors, str):  # "": missing or not a number
            if best is None:
                best = item
            continue
        if best_visitors is None or visitors > best_visitors:
            best, best_visitors = item, visitors
    if best is None:
        return "", ""
    label = _text(best.get("country_code")) or _text(best.get("country_name"))
    return label, ("" if best_visitors is None else best_visitors)


def csv_row(record: Mapping) -> dict:
    """The csv row of one record, keyed by CSV_FIELDS."""
    summary = record.get("analytics")
    summary = summary if isinstance(summary, Mapping) else {}
    top, top_visitors = _top_country(record.get("countries"))
    return {
        "date": _text(record.get("date")),
        "website_id": _text(record.get("website_id")),
        "domain": _text(record.get("website")),
        "name": _text(record.get("name")),
        "total_visitors": _number(summary.get("total_visitors")),
        "total_page_views": _number(summary.get("total_page_views")),
        "unique_visitors": _number(summary.get("unique_visitors")),
        "top_country": top,
        "top_country_visitors": top_visitors,
    }


# --------------------------------------------------------------------------------------------
# files


def prepare_out_dir(out_dir: str | os.PathLike) -> str:
    """Create the output directory if needed; return its real path."""
    path = os.fspath(out_dir)
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--out {path}: exists and is not a directory") from None
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create the directory: {exc.strerror}") from None
    if not os.path.isdir(path):
        raise UsageError(f"--out {path}: exists and is not a directory")
    return os.path.realpath(path)


def _target(out_real: str, name: str) -> str:
    # Whatever the name holds, the file must land directly inside the output directory.
    path = os.path.join(out_real, name)
    parent = os.path.realpath(os.path.dirname(path))
    if parent != out_real or os.path.basename(path) != name or name in ("", ".", ".."):
        raise ValueError(f"export file name {name!r} would leave {out_real}")
    return path


def _atomic_write(out_real: str, name: str, data: bytes, *, sync_dir: bool = True) -> str:
    """Write `data` to out_real/name so the file appears whole or not at all (fsutil.atomic_write).

    The file is created with mode 0666 minus the umask, as a shell redirect would: exports are
    data, not secrets (0644 under the usual umask 022), and an administrator's stricter umask for
    the cron job is respected. The temporary file is named like ours (_TMP_RE), so a later run can
    clean up after a killed one.
    """
    from zenovay_cli.fsutil import atomic_write

    def temp_name() -> str:
        return f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{_TMP_SUFFIX}"

    return atomic_write(_target(out_real, name), data, private=False, sync_dir=sync_dir,
                        temp_name=temp_name)


def sync_directory(out_dir: str | os.PathLike) -> None:
    """Make the renames of earlier writes with sync_dir=False durable (one fsync of the folder)."""
    from zenovay_cli.fsutil import fsync_dir

    fsync_dir(os.path.realpath(os.fspath(out_dir)))


def _write_error(out_real: str, name: str, exc: OSError) -> ZenovayError:
    return ZenovayError(
        f"cannot write export file {os.path.join(out_real, name)}: {exc.strerror or exc}",
        hint="Check that the --out directory is writable and the disk is not full.",
    )


def _json_bytes(document: object, indent: int | None) -> bytes:
    text = json.dumps(document, indent=indent, ensure_ascii=False, allow_nan=False)
    # A lone surrogate (valid in a JSON string from the server) cannot be UTF-8; written as the
    # \udXXX escape it reads back as the same string.
    return text.encode("utf-8", "backslashreplace")


def write_record_file(
    out_dir: str | os.PathLike, filename: str, record: Mapping, *, sync_dir: bool = True
) -> str:
    """Write one website's json file (indent 2, UTF-8, trailing newline); return its path.

    sync_dir=False leaves the folder's fsync to one sync_directory() call after the batch.
    """
    out_real = prepare_out_dir(out_dir)
    data = _json_bytes(json_document(record), 2) + b"\n"
    try:
        return _atomic_write(out_real, filename, data, sync_dir=sync_dir)
    except OSError as exc:
        raise _write_error(out_real, filename, exc) from exc


def _sort_key(record: Mapping) -> tuple[str, str]:
    return (_text(record.get("website")).casefold(), _text(record.get("website_id")))


def write_table_file(
    out_dir: str | os.PathLike, records: Iterable[Mapping], date: str, fmt: str
) -> str:
    """Write the run's one csv or ndjson file, DIR/zenovay_{date}.{fmt}; return its path.

    Rows are sorted by domain (then website id), so the file does not depend on the order in which
    concurrent requests finished. csv: header line, then one row per website (UTF-8, no BOM).
    ndjson: one record per line, the json file's object plus website_id and name.
    """
    name = table_filename(date, fmt)
    rows = sorted(records, key=_sort_key)
    if fmt == "csv":
        lines = [csv_line(CSV_FIELDS)]
        lines += [csv_line(csv_row(record)[f] for f in CSV_FIELDS) for record in rows]
        data = "".join(lines).encode("utf-8", "replace")
    else:
        data = b"".join(_json_bytes(_jsonable(record), None) + b"\n" for record in rows)
    out_real = prepare_out_dir(out_dir)
    try:
        return _atomic_write(out_real, name, data)
    except OSError as exc:
        raise _write_error(out_real, name, exc) from exc


# --include with --format csv: one more file per included dataset, one row per item per website,
# so that nothing asked for (and paid for in quota) is dropped from a csv run.
_INCLUDED_CSV_COLUMNS = {
    "pages": ("url", "path", "page_url", "title", "views", "page_views", "visitors",
              "unique_visitors"),
    "technology": ("category", "name", "visitors", "percentage"),
}
_SITE_COLUMNS = ("date", "website_id", "domain")


def included_csv_filename(date: str, dataset: str) -> str:
    """zenovay_{date}_{dataset}.csv, next to the run's zenovay_{date}.csv."""
    if dataset not in _INCLUDED_CSV_COLUMNS:
        raise ValueError(f"not an included dataset: {dataset!r}")
    return f"zenovay_{_check_date(date)}_{dataset}.csv"


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _text(value)


def _included_items(record: Mapping, dataset: str) -> list[dict]:
    value = record.get(dataset)
    if dataset == "pages":
        return [dict(item) for item in value or () if isinstance(item, Mapping)]
    items = []
    for category, entries in (value or {}).items() if isinstance(value, Mapping) else ():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping):
                items.append({"category": _text(category), **{k: v for k, v in entry.items() if k != "category"}})
    return items


def write_included_csv_files(
    out_dir: str | os.PathLike, records: Iterable[Mapping], date: str, datasets: Iterable[str]
) -> list[str]:
    """For each included dataset (`pages`, `technology`) write DIR/zenovay_{date}_{dataset}.csv:
    date, website_id, domain, then the dataset's fields (known ones first, then the others in
    first-seen order); one row per page, or per browser/OS/device type (`category` says which).
    Websites sorted as in the main file; a header line even when there are no rows."""
    rows = sorted(records, key=_sort_key)
    out_real = prepare_out_dir(out_dir)
    written = []
    for dataset in datasets:
        per_site = [(record, _included_items(record, dataset)) for record in rows]
        keys = list(dict.fromkeys(k for _, items in per_site for item in items for k in item))
        known = _INCLUDED_CSV_COLUMNS[dataset]
        preferred = [k for k in known if k in keys] if keys else list(known)
        fields = [*_SITE_COLUMNS, *preferred, *(k for k in keys if k not in preferred and k not in _SITE_COLUMNS)]
        lines = [csv_line(fields)]
        for record, items in per_site:
            site = (_text(record.get("date")), _text(record.get("website_id")), _text(record.get("website")))
            for item in items:
                lines.append(csv_line([*site, *(_csv_value(item.get(f)) for f in fields[len(site):])]))
        name = included_csv_filename(date, dataset)
        try:
            written.append(_atomic_write(out_real, name, "".join(lines).encode("utf-8", "replace")))
        except OSError as exc:
            raise _write_error(out_real, name, exc) from exc
    return written


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # 0 and negatives would address process groups in os.kill
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to another user
    except (OverflowError, OSError):
        return False
    return True


def clean_stale_temp_files(
    out_dir: str | os.PathLike, *, now: float | None = None, min_age: float = STALE_TEMP_AGE
) -> list[str]:
    """Remove temporary files left by killed runs; return the paths removed.

    Only regular files named like ours (".zenovay-<pid>-<hex>.tmp"), and of those only the ones
    older than `min_age` seconds or whose writer's pid is no longer alive on this machine. A
    fresh file of a live process is left alone (pid reuse or a writer outside the lock).
    """
    out = os.fspath(out_dir)
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        names = os.listdir(out)
    except OSError:
        return removed
    for name in names:
        match = _TMP_RE.fullmatch(name)
        if not match:
            continue
        path = os.path.join(out, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        pid = int(match.group(1))
        old = now - st.st_mtime >= min_age
        orphan = pid != os.getpid() and not _pid_alive(pid)
        if old or orphan:
            try:
                os.unlink(path)
            except OSError:
                continue
            removed.append(path)
    return removed


# --------------------------------------------------------------------------------------------
# the lock


class ExportLock:
    """Exclusive lock on an export directory, so two runs never write into it at once.

    `with ExportLock(out_dir):` takes fcntl.flock on DIR/.zenovay-export.lock, writes our pid
    into it for the error message of a second run, and removes stale temporary files of killed
    runs (`.cleaned` lists them). Not waiting (the default), a held lock raises LockedError at
    once; with wait=True it is retried every 0.25 s, for at most `timeout` seconds when given.

    flock belongs to the open file description, so the kernel releases the lock when the holder
    exits in any way, SIGKILL and crashes included: a killed run never leaves a stale lock, and
    the pid in the file is only a hint. The file itself is never deleted: unlinking it would let a
    third run lock a new file while a second still waits on the old one. flock over NFS depends
    on the server; use a local directory for --out, or one machine per directory.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        wait: bool = False,
        timeout: float | None = None,
        *,
        on_wait: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out_dir = os.fspath(out_dir)
        self.path = os.path.join(self.out_dir, LOCK_FILENAME)
        self.wait = wait
        self.timeout = timeout
        self.on_wait = on_wait
        self._sleep = sleep
        self._clock = clock
        self._fd: int | None = None
        self.cleaned: list[str] = []

    def __enter__(self) -> Self:
        out_real = prepare_out_dir(self.out_dir)
        self.path = os.path.join(out_real, LOCK_FILENAME)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            # os.open descriptors are not inherited by child processes, so nothing we spawn keeps
            # the lock alive after we exit.
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise ZenovayError(
                f"cannot open the export lock {self.path}: {exc.strerror or exc}",
                hint="Check that the --out directory is writable.",
            ) from None
        try:
            self._acquire(fd)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:  # a full or read-only file system: a plain error, nothing written
            os.close(fd)
            raise ZenovayError(
                f"cannot write the export lock {self.path}: {exc.strerror or exc}",
                hint="Free space on that file system or choose another --out directory.",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.cleaned = clean_stale_temp_files(out_real)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def _acquire(self, fd: int) -> None:
        if _try_lock(fd):
            return
        if not self.wait:
            raise self._locked_error(fd, waited=None)
        if self.on_wait is not None:
            self.on_wait(f"waiting for the export lock {self.path}{self._holder(fd)}")
        deadline = None if self.timeout is None else self._clock() + self.timeout
        while True:
            if deadline is not None and self._clock() >= deadline:
                raise self._locked_error(fd, waited=self.timeout)
            self._sleep(_LOCK_POLL_INTERVAL)
            if _try_lock(fd):
                return

    def _holder(self, fd: int) -> str:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 32).decode("ascii", "replace").strip()
        except OSError:
            return ""
        return f" (held by pid {int(text)})" if text.isdigit() else ""

    def _locked_error(self, fd: int, waited: float | None) -> LockedError:
        still = f", still held after {waited:g} s" if waited is not None else ""
        return LockedError(
            f"another zenovay export is writing to {self.out_dir}: "
            f"lock {self.path}{self._holder(fd)}{still}",
            hint="Run it later, or add --wait-lock to wait for the other run to finish.",
        )


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - Windows: lock the first byte instead
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        return False
    return True


# --------------------------------------------------------------------------------------------
# the summary


@dataclass
class ExportResult:
    """What happened to one website in a run: `error` is None on success."""

    website_id: str
    domain: str = ""
    error: BaseException | str | None = None
    path: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_MAX_REASON = 300


def _one_line(text: str) -> str:
    # Untrusted text on stderr: no terminal control sequences, no line breaks (cron mail reads
    # one failure per line).
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _reason(error: BaseException | str) -> str:
    text = str(error) or type(error).__name__
    request_id = getattr(error, "request_id", None)
    if request_id and str(request_id) not in text:
        text = f"{text}, request id {request_id}"
    text = _one_line(text)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def summarize(results: Sequence[ExportResult]) -> str:
    """The run's stderr summary: one line of counts, then one line per failed website.

    exported 38 of 40 websites; 2 failed:
      a.com (503 Service Unavailable after 3 retries, request id req_1)
      b.com (…)
    """
    results = list(results)
    failed = [(r, r.error) for r in results if r.error is not None]
    head = f"exported {len(results) - len(failed)} of {len(results)} websites"
    if not failed:
        return head
    lines = [f"{head}; {len(failed)} failed:"]
    for r, error in failed:
        label = _one_line(_text(r.domain) or _text(r.website_id) or "?")
        lines.append(f"  {label} ({_reason(error)})")
    return "\n".join(lines)
