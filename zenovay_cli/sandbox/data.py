"""Deterministic synthetic data for the sandbox: the same inputs always give the same output.

Every value comes from a `random.Random` seeded with a hash of (seed, website, range, item), so any
single record (a day's row, the visitor at index i) can be computed on its own and nothing is
stored per visitor; `_draw` explains why the output is the same on every Python version. Dates are
relative to `today`. Every range ends at the sandbox's "now", and no generated time is later than
it (the real API never answers with a future time): by default now is the wall clock (UTC) and
today its date; a pinned `today` makes now the last second of that day (23:59:59 UTC); else a
pinned `now` fixes both; pinned data stay the same from run to run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

from zenovay_cli.sandbox import _catalog as cat
from zenovay_cli.sandbox._draw import (
    Weighted,
    below,
    iso_ms,
    lognormal,
    rng_for,
    shuffled,
    split,
    uniform,
    uuid_from,
)

RANGES = ("24h", "7d", "30d", "90d", "1y")
RANGE_DAYS = {"24h": 1, "7d": 7, "30d": 30, "90d": 90, "1y": 365}
DEFAULT_RANGE = "7d"
ERROR_STATUSES = ("unresolved", "resolved", "ignored")

_HIGH_VALUE_WORDS = ("pricing", "checkout", "booking", "signup", "book", "contact-sales", "cart")


_OS_PICK = {device: Weighted(items) for device, items in cat.OS_BY_DEVICE.items()}
_BROWSER_PICK = {os_name: Weighted(items) for os_name, items in cat.BROWSER_BY_OS.items()}
_REFERRER_PICK = Weighted(cat.REFERRERS)
_COUNTRY_BY_CODE = {code: (name, cities) for code, name, _, cities in cat.COUNTRIES}


@dataclass(eq=False)
class _Site:
    index: int
    id: str
    domain: str
    name: str
    kind: str
    tracking_code: str
    is_active: bool
    created_days_ago: int
    created_seconds: int
    team_id: str
    user_id: str
    settings: dict[str, bool]
    daily_base: float
    season_phase: int
    countries: Weighted = field(repr=False)
    devices: Weighted = field(repr=False)
    pages: Weighted = field(repr=False)


def _site_identities(seed: int, count: int) -> list[tuple[str, str, str, str | None]]:
    """(domain, name, kind, home country) for each website: the catalog first, then invented."""
    start = seed % len(cat.SITES)
    rotated = cat.SITES[start:] + cat.SITES[:start]
    out = list(rotated[:count])
    used = {domain for domain, *_ in out}
    rng = rng_for(seed, "invented-sites")
    for j in range(count - len(out)):
        adjective = cat.ADJECTIVES[below(rng, len(cat.ADJECTIVES))]
        noun = cat.NOUNS[below(rng, len(cat.NOUNS))]
        tld = cat.TLDS[below(rng, len(cat.TLDS))]
        domain = f"{adjective}-{noun}.{tld}"
        if domain in used:
            domain = f"{adjective}-{noun}{j + 1}.{tld}"  # ends in a digit: cannot clash again
        used.add(domain)
        kind = cat.KINDS[below(rng, len(cat.KINDS))]
        out.append((domain, f"{adjective.title()} {noun.title()}", kind, None))
    return out


def _make_site(seed: int, index: int, identity: tuple[str, str, str, str | None]) -> _Site:
    domain, name, kind, home = identity
    rng = rng_for(seed, "website", index)
    site_id = uuid_from(rng)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    tracking = "ZV_" + "".join(alphabet[below(rng, len(alphabet))] for _ in range(9))
    low, high = cat.DAILY_VISITORS[kind]
    country_weights = [
        (code, weight * (25 if code == home else 1) * uniform(rng, 0.6, 1.4))
        for code, _, weight, _ in cat.COUNTRIES
    ]
    device_weights = [
        (device, share * uniform(rng, 0.85, 1.15))
        for device, share in zip(cat.DEVICE_TYPES, cat.DEVICE_MIX[kind])
    ]
    page_weights = [(path, weight * uniform(rng, 0.7, 1.3)) for path, weight in cat.PAGES[kind]]
    return _Site(
        index=index,
        id=site_id,
        domain=domain,
        name=name,
        kind=kind,
        tracking_code=tracking,
        is_active=index == 0 or rng.random() > 0.12,
        created_days_ago=400 + below(rng, 1100),
        created_seconds=below(rng, 86400),
        team_id=uuid_from(rng_for(seed, "team")),
        user_id=uuid_from(rng_for(seed, "user", index % 2)),
        settings={
            "track_outbound_links": rng.random() < 0.8,
            "track_downloads": rng.random() < 0.6,
            "session_replay": rng.random() < 0.5,
            "heatmaps": rng.random() < 0.5,
        },
        daily_base=uniform(rng, low, high),
        season_phase=below(rng, 365),
        countries=Weighted(country_weights),
        devices=Weighted(device_weights),
        pages=Weighted(page_weights),
    )


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


_WEEKEND_FACTOR = {"shop": 0.85, "saas": 0.55, "blog": 0.8, "docs": 0.5, "local": 1.25, "travel": 1.1}


_BLOCK_DAYS = 32


@lru_cache(maxsize=8192)
def _day_block(seed: int, site_id: str, kind: str, base: float, phase: int, block: int):
    """(total_visitors, unique_visitors, page_views) of one website for each of the 32 dates
    from ordinal block*32 on: one generator per block keeps a 1y range cheap, and a date's
    numbers do not depend on the range asking for them."""
    rng = rng_for(seed, site_id, "days", block)
    out = []
    for ordinal in range(block * _BLOCK_DAYS, (block + 1) * _BLOCK_DAYS):
        weekend = date.fromordinal(ordinal).weekday() >= 5
        weekday = _WEEKEND_FACTOR[kind] if weekend else 1.0
        season = 1.0 + 0.15 * math.sin(2 * math.pi * ((ordinal + phase) % 365) / 365)
        visitors = max(0, round(base * weekday * season * uniform(rng, 0.8, 1.2)))
        unique = round(visitors * uniform(rng, 0.72, 0.9))
        page_views = max(visitors, round(visitors * uniform(rng, 1.6, 3.4)))
        out.append((visitors, unique, page_views))
    return tuple(out)


class SandboxData:
    """The synthetic account: websites and, per website and range, what each endpoint returns."""

    def __init__(
        self,
        *,
        seed: int = 0,
        websites: int = 3,
        visitors_per_site: int = 250,
        today: date | None = None,
        quiet_websites: int = 0,
        undated_websites: int = 0,
        now: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`today` pins the data's last day (now: its last second); else `now` pins the instant
        itself (and today to its date); neither: `clock` (default: the UTC wall clock) says
        what now is at each call."""
        if websites < 1:
            raise ValueError("websites must be at least 1")
        if visitors_per_site < 0:
            raise ValueError("visitors_per_site must not be negative")
        self.seed = seed
        self.visitors_per_site = visitors_per_site
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._today = today
        self._now = None if now is None else now.astimezone(timezone.utc)
        self._clock = clock or _utc_now
        identities = _site_identities(seed, websites)
        self._sites = [_make_site(seed, i, identity) for i, identity in enumerate(identities)]
        # The last `quiet_websites` sites have no visitors at all; the `undated_websites` before
        # them answer `daily_stats: []` (as the newest API help shows) with a full summary.
        quiet = max(0, min(quiet_websites, websites))
        undated = max(0, min(undated_websites, websites - quiet))
        for site in self._sites[websites - quiet:]:
            site.daily_base = 0.0
        self._undated = {site.id for site in self._sites[websites - quiet - undated:websites - quiet]}
        self._by_id = {site.id: site for site in self._sites}
        self._revised: dict[tuple[str, date], tuple[int, int, int]] = {}

    # -- edits (the control endpoint /__sandbox__/websites) -------------------------------

    def edit(self, changes: dict[str, Any]) -> None:
        """Change the account as a user of the dashboard would, to test what syncs see:
        `{"rename": {id: {"domain": d, "name": n}}, "remove": [id, ...],
        "revise": {id: {"YYYY-MM-DD": {"total_visitors": n, "unique_visitors": n,
        "page_views": n}}}}` (a revised day stands for data that arrived late).
        ValueError names what is wrong; nothing is changed then."""
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object")
        unknown = sorted(set(changes) - {"rename", "remove", "revise"})
        if unknown:
            raise ValueError(f"unknown website edit(s): {', '.join(unknown)}")
        rename = changes.get("rename") or {}
        remove = changes.get("remove") or []
        revise = changes.get("revise") or {}
        if not isinstance(rename, dict) or not isinstance(remove, list) \
                or not isinstance(revise, dict):
            raise ValueError("rename and revise are objects keyed by website id; remove is a list")
        for wid in [*rename, *remove, *revise]:
            if wid not in self._by_id:
                raise ValueError(f"unknown website {str(wid)[:60]!r}")
        revised: dict[tuple[str, date], tuple[int, int, int]] = {}
        for wid, by_day in revise.items():
            if not isinstance(by_day, dict):
                raise ValueError("revise maps website ids to {date: figures}")
            for day, figures in by_day.items():
                try:
                    when = date.fromisoformat(day)
                    visitors, unique, views = (int(figures[k]) for k in
                                               ("total_visitors", "unique_visitors", "page_views"))
                except (TypeError, ValueError, KeyError):
                    raise ValueError(f"revise {wid}: {str(day)[:20]} needs a YYYY-MM-DD date and "
                                     "total_visitors, unique_visitors, page_views") from None
                revised[(wid, when)] = (visitors, unique, views)
        if not all(isinstance(new, dict) for new in rename.values()):
            raise ValueError("rename maps website ids to {domain, name}")
        for wid, new in rename.items():
            site = self._by_id[wid]
            site.domain = str(new.get("domain", site.domain))
            site.name = str(new.get("name", site.name))
        gone = set(remove)
        self._sites = [site for site in self._sites if site.id not in gone]
        for wid in gone:
            del self._by_id[wid]
        self._revised.update(revised)

    # -- time -----------------------------------------------------------------------------

    @property
    def today(self) -> date:
        if self._today is not None:
            return self._today
        return self.now().date()

    def now(self) -> datetime:
        """The end of every range, and the latest time any answer holds: the last second of a
        pinned `today`; else the pinned `now`; else the clock's time."""
        if self._today is not None:
            return datetime.combine(self._today, time(23, 59, 59), tzinfo=timezone.utc)
        if self._now is not None:
            return self._now
        return self._clock().astimezone(timezone.utc)

    # -- websites -------------------------------------------------------------------------

    @property
    def website_ids(self) -> list[str]:
        return [site.id for site in self._sites]

    def has_website(self, website_id: str) -> bool:
        return website_id in self._by_id

    def _site(self, website_id: str) -> _Site:
        try:
            return self._by_id[website_id]
        except KeyError:
            raise KeyError(f"unknown website {website_id!r}") from None

    def _list_item(self, site: _Site) -> dict[str, Any]:
        created = datetime.combine(self.today, time(0), tzinfo=timezone.utc) - timedelta(
            days=site.created_days_ago, seconds=-site.created_seconds
        )
        return {
            "id": site.id,
            "domain": site.domain,
            "name": site.name,
            "tracking_code": site.tracking_code,
            "is_active": site.is_active,
            "created_at": iso_ms(created),
            "team_id": site.team_id,
        }

    def websites(self, only: str | None = None) -> list[dict[str, Any]]:
        """Items of GET /websites; `only` restricts the list to one website (site-scoped keys)."""
        return [self._list_item(site) for site in self._sites if only in (None, site.id)]

    def website(self, website_id: str) -> dict[str, Any]:
        """The object under `website` in GET /websites/{id}."""
        site = self._site(website_id)
        item = self._list_item(site)
        created_at = item.pop("created_at")
        item["user_id"] = site.user_id
        item["created_at"] = created_at
        item["settings"] = dict(site.settings)
        return item

    # -- analytics overview ---------------------------------------------------------------

    def _days(self, site: _Site, range_: str) -> list[tuple[date, tuple[int, int, int]]]:
        days = RANGE_DAYS[range_]
        last = self.today.toordinal()
        out = []
        for ordinal in range(last - days + 1, last + 1):
            block, index = divmod(ordinal, _BLOCK_DAYS)
            numbers = _day_block(
                self.seed, site.id, site.kind, site.daily_base, site.season_phase, block
            )
            day = date.fromordinal(ordinal)
            out.append((day, self._revised.get((site.id, day), numbers[index])))
        return out

    def overview(self, website_id: str, range_: str) -> dict[str, Any]:
        """`data` of GET /analytics/{id}: summary equals the sums of daily_stats."""
        site = self._site(website_id)
        end = self.now()
        start = end - timedelta(days=RANGE_DAYS[range_])
        rows = [
            {
                "date": day.isoformat(),
                "website_id": site.id,
                "total_visitors": visitors,
                "unique_visitors": unique,
                "page_views": views,
            }
            for day, (visitors, unique, views) in self._days(site, range_)
        ]
        return {
            "website": {"id": site.id, "domain": site.domain, "name": site.name},
            "time_range": range_,
            "date_range": {
                "start": start.date().isoformat(),
                "end": end.date().isoformat(),
                "startDateTime": iso_ms(start),
                "endDateTime": iso_ms(end),
            },
            "summary": {
                "total_visitors": sum(r["total_visitors"] for r in rows),
                "total_page_views": sum(r["page_views"] for r in rows),
                "unique_visitors": sum(r["unique_visitors"] for r in rows),
            },
            "daily_stats": [] if site.id in self._undated else rows,
        }

    def site_kind(self, website_id: str) -> str:
        """The kind of business a website is ("shop", "saas", ...): what its data looks like."""
        return self._site(website_id).kind

    def site_settings(self, website_id: str) -> dict[str, bool]:
        return dict(self._site(website_id).settings)

    def day_numbers(self, website_id: str, first: date, last: date) -> list[tuple[date, int, int, int]]:
        """(date, total_visitors, unique_visitors, page_views) of every date in [first, last];
        the same numbers the overview's daily rows show for those dates."""
        site = self._site(website_id)
        out = []
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            block, index = divmod(ordinal, _BLOCK_DAYS)
            numbers = _day_block(
                self.seed, site.id, site.kind, site.daily_base, site.season_phase, block
            )
            out.append((date.fromordinal(ordinal), *numbers[index]))
        return out

    def page_weights(self, website_id: str) -> list[tuple[str, float]]:
        site = self._site(website_id)
        return list(zip(site.pages.values, site.pages.weights))

    def visit_profile(self, website_id: str, rng: Any) -> dict[str, str]:
        """Country, device, OS, browser and page of one visit drawn from `rng`, with the
        website's own mix (used by replay sessions)."""
        site = self._site(website_id)
        code = site.countries.pick(rng)
        device = site.devices.pick(rng)
        os_name = _OS_PICK[device].pick(rng)
        return {
            "page_url": site.pages.pick(rng),
            "device_type": device,
            "browser": _BROWSER_PICK[os_name].pick(rng),
            "os": os_name,
            "country_code": code,
        }

    def _totals(self, site: _Site, range_: str) -> tuple[int, int]:
        """(total visitors, total page views) of a range."""
        numbers = [n for _, n in self._days(site, range_)]
        return sum(n[0] for n in numbers), sum(n[2] for n in numbers)

    # -- visitors -------------------------------------------------------------------------

    def has_traffic(self, website_id: str, days: int = 30) -> bool:
        """Whether the website had any visitor in the last `days` days (a quiet website never
        has): what a website without traffic answers must not show visits, errors or replays."""
        today = self.today
        numbers = self.day_numbers(website_id, today - timedelta(days=days - 1), today)
        return any(n[1] for n in numbers)

    def visitor_count(self, website_id: str, range_: str) -> int:
        """visitors_per_site, or 0 when the range's analytics count no visitor (a quiet
        website): /visitors never lists a visit the overview does not count."""
        site = self._site(website_id)
        return self.visitors_per_site if self._totals(site, range_)[0] else 0

    def visitors(
        self, website_id: str, range_: str, offset: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The visitors at [offset, offset+limit), newest first; each computed from its index."""
        site = self._site(website_id)
        stop = min(self.visitor_count(website_id, range_), offset + limit)
        end = self.now()
        return [self._visitor(site, range_, i, end) for i in range(offset, stop)]

    def visitor(self, website_id: str, range_: str, index: int) -> dict[str, Any]:
        if not 0 <= index < self.visitor_count(website_id, range_):
            raise IndexError(index)
        return self._visitor(self._site(website_id), range_, index, self.now())

    def _visitor(self, site: _Site, range_: str, index: int, end: datetime) -> dict[str, Any]:
        rng = rng_for(self.seed, site.id, range_, "visitor", index)
        # Visitor i lives in the i-th of n equal slots counted back from `end`: newest first.
        slot = RANGE_DAYS[range_] * 86400 / max(self.visitors_per_site, 1)
        visited_at = end - timedelta(seconds=slot * (index + rng.random()))
        code = site.countries.pick(rng)
        country_name, cities = _COUNTRY_BY_CODE[code]
        device = site.devices.pick(rng)
        os_name = _OS_PICK[device].pick(rng)
        landing = site.pages.pick(rng)
        bonus = 22 if any(word in landing for word in _HIGH_VALUE_WORDS) else 0
        score = 25 + bonus + rng.random() * 35 + rng.random() * 35
        value_score = max(0, min(100, int(score)))
        return {
            "id": uuid_from(rng),
            "country_code": code,
            "country_name": country_name,
            "city": cities[below(rng, len(cities))],
            "device_type": device,
            "browser": _BROWSER_PICK[os_name].pick(rng),
            "os": os_name,
            "value_score": value_score,
            "visited_at": iso_ms(visited_at),
            "landing_page": landing,
            "referrer": _REFERRER_PICK.pick(rng),
            "had_interaction": rng.random() < 0.15 + value_score / 120,
        }

    # -- breakdowns -----------------------------------------------------------------------

    def pages(self, website_id: str, range_: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of GET /analytics/{id}/pages.

        ASSUMPTION: the real response shape is undocumented; this follows the project's
        recommendation `{"pages": [{"url", "views", "visitors"}]}`, sorted by visitors, descending.
        Views add up to the range's total_page_views.
        """
        site = self._site(website_id)
        total_visitors, total_views = self._totals(site, range_)
        rng = rng_for(self.seed, site.id, range_, "pages")
        weights = [w * uniform(rng, 0.85, 1.15) for w in site.pages.weights]
        rows = []
        for url, views in zip(site.pages.values, split(total_views, weights)):
            if views:
                visitors = max(1, min(views, total_visitors, round(views / uniform(rng, 1.05, 1.7))))
                rows.append({"url": url, "views": views, "visitors": visitors})
        rows.sort(key=lambda r: (-r["visitors"], -r["views"], r["url"]))
        return rows[:limit]

    def countries(
        self, website_id: str, range_: str, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows of GET /analytics/{id}/countries, visitors descending; all rows add up to the
        range's total_visitors."""
        site = self._site(website_id)
        total_visitors, _ = self._totals(site, range_)
        rng = rng_for(self.seed, site.id, range_, "countries")
        weights = [w * uniform(rng, 0.85, 1.15) for w in site.countries.weights]
        rows = []
        for code, visitors in zip(site.countries.values, split(total_visitors, weights)):
            score = round(uniform(rng, 30, 70), 2)
            if visitors:
                rows.append({
                    "country_code": code,
                    "country_name": _COUNTRY_BY_CODE[code][0],
                    "visitors": visitors,
                    "avg_value_score": score,
                })
        rows.sort(key=lambda r: (-r["visitors"], r["country_code"]))
        return rows[:limit]

    def technology(self, website_id: str, range_: str) -> dict[str, list[dict[str, Any]]]:
        """`data` of GET /analytics/{id}/technology.

        ASSUMPTION: the real response shape is undocumented; this follows the project's
        recommendation `{browsers, operating_systems, device_types}` of `[{name, visitors}]`.
        Each list adds up to the range's total_visitors.
        """
        site = self._site(website_id)
        total_visitors, _ = self._totals(site, range_)
        rng = rng_for(self.seed, site.id, range_, "technology")
        devices: dict[str, int] = {}
        systems: dict[str, int] = {}
        browsers: dict[str, int] = {}
        device_weights = [w * uniform(rng, 0.9, 1.1) for w in site.devices.weights]
        for device, n_device in zip(site.devices.values, split(total_visitors, device_weights)):
            devices[device] = devices.get(device, 0) + n_device
            os_pick = _OS_PICK[device]
            os_weights = [w * uniform(rng, 0.9, 1.1) for w in os_pick.weights]
            for os_name, n_os in zip(os_pick.values, split(n_device, os_weights)):
                systems[os_name] = systems.get(os_name, 0) + n_os
                browser_pick = _BROWSER_PICK[os_name]
                browser_weights = [w * uniform(rng, 0.9, 1.1) for w in browser_pick.weights]
                for browser, n in zip(browser_pick.values, split(n_os, browser_weights)):
                    browsers[browser] = browsers.get(browser, 0) + n

        def ranked(counts: dict[str, int]) -> list[dict[str, Any]]:
            items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            return [{"name": name, "visitors": n} for name, n in items if n]

        return {
            "browsers": ranked(browsers),
            "operating_systems": ranked(systems),
            "device_types": ranked(devices),
        }

    # -- error groups ---------------------------------------------------------------------

    def error_groups(
        self, website_id: str, status: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Items of GET /errors/{id}/groups, most recently seen first. Every website with
        traffic has at least one group of each status; one without (a quiet website) has none:
        errors come from visitors' browsers."""
        site = self._site(website_id)
        if not self.has_traffic(site.id):
            return []
        rng = rng_for(self.seed, site.id, "errors")
        count = 8 + below(rng, len(cat.ERRORS) - 7)
        picks = shuffled(rng, range(len(cat.ERRORS)))[:count]
        end = self.now()
        groups = []
        for n, pick in enumerate(picks):
            kind, message = cat.ERRORS[pick]
            if n < len(ERROR_STATUSES):
                group_status = ERROR_STATUSES[n]
            else:
                r = rng.random()
                group_status = "unresolved" if r < 0.55 else "resolved" if r < 0.85 else "ignored"
            ago_days = {"unresolved": (0, 3), "resolved": (5, 60), "ignored": (0, 30)}[group_status]
            last_seen = end - timedelta(days=uniform(rng, *ago_days))
            first_seen = last_seen - timedelta(days=uniform(rng, 1, 120))
            occurrences = 1 + int(lognormal(rng, 3.5, 1.3))
            slug = "_".join("".join(c if c.isalnum() else " " for c in message).split()[:4])
            groups.append({
                "id": "eg_" + uuid_from(rng),
                "fingerprint": f"{kind}_{slug}_{rng.getrandbits(24):06x}",
                "message": message,
                "type": kind,
                "status": group_status,
                "occurrence_count": occurrences,
                "first_seen_at": iso_ms(first_seen),
                "last_seen_at": iso_ms(last_seen),
                "affected_users_count": max(1, int(occurrences * uniform(rng, 0.2, 0.9))),
            })
        groups.sort(key=lambda g: (g["last_seen_at"], g["id"]), reverse=True)
        if status is not None:
            groups = [g for g in groups if g["status"] == status]
        return groups[:limit]
