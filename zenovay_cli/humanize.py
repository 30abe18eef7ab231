"""What a terminal shows instead of the API's words: column labels and local or relative times.

Pure. Only tables drawn on a terminal go through here; piped tables, csv, tsv, ndjson and json
keep the API's field names and full ISO timestamps, so scripts never see these.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from zenovay_cli import schema
from zenovay_cli.views import View

# Field (last dotted part, or the full dotted name) -> label.
_LABELS = {
    "total_visitors": "Visitors", "visitors": "Visitors",
    "total_page_views": "Page views", "page_views": "Page views", "views": "Page views",
    "unique_visitors": "Unique visitors", "bounce_rate": "Bounce rate",
    "country_code": "Code", "country_name": "Country", "avg_value_score": "Avg. value score",
    "value_score": "Value score", "device_type": "Device", "os": "OS", "url": "Page",
    "path": "Page", "page_url": "Page", "landing_page": "Landing page", "visited_at": "Visited",
    "had_interaction": "Interacted", "created_at": "Created", "is_active": "Active",
    "live_visitors": "Live visitors", "tracking_code": "Tracking code", "team_id": "Team id",
    "user_id": "User id", "occurrence_count": "Occurrences",
    "affected_users_count": "Affected users", "first_seen_at": "First seen",
    "last_seen_at": "Last seen", "time_range": "Range", "date": "Date", "percentage": "Share",
    "website": "Website", "error": "Error", "category": "Category", "name": "Name",
    "subscription.tier": "Plan", "usage.monthly_requests": "Requests this month",
    "usage.monthly_limit": "Monthly limit", "usage.monthly_remaining": "Requests left",
    "usage.monthly_reset_at": "Resets", "usage.total_requests": "Requests in total",
    "rate_limits.requests_per_minute": "Requests per minute",
    "api_key.name": "Key name", "api_key.permission": "Key permission",
    "api_key.website_id": "Key website", "api_key.id": "Key id",
    "website.domain": "Domain", "website.name": "Name", "website.id": "Website id",
    "date_range.start": "From", "date_range.end": "To",
    "date_range.startDateTime": "From (time)", "date_range.endDateTime": "To (time)",
}
_LABELS.update({old: _LABELS[new] for old, new in schema.FIELD_ALIASES.items()})  # older answers' names
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def label(field: str) -> str:
    """A human label for a field name: known names from the table, else words from the name."""
    if field in _LABELS:
        return _LABELS[field]
    last = field.rsplit(".", 1)[-1]
    if last in _LABELS:
        return _LABELS[last]
    words = re.sub(r"(?<=[a-z0-9])([A-Z])", r" \1", last).replace("_", " ").strip()
    return (words[:1].upper() + words[1:]) if words else field


def when(value: str, now: datetime | None = None) -> str:
    """An ISO timestamp as a person reads it: relative within a day ("3 h ago", "in 20 min"),
    otherwise local time to the minute; text that is not a timestamp comes back unchanged."""
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    now = now or datetime.now(timezone.utc)
    seconds = (now - moment).total_seconds()
    ago = seconds >= 0
    size = abs(seconds)
    if size < 60:
        return "just now"
    if size < 3600:
        amount = f"{int(size // 60)} min"
    elif size < 86400:
        amount = f"{int(size // 3600)} h"
    else:
        return moment.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{amount} ago" if ago else f"in {amount}"


def _cell(value: Any, now: datetime | None) -> Any:
    return when(value, now) if isinstance(value, str) else value


def for_terminal(view: View, now: datetime | None = None) -> View:
    """`view` with labels (unless it has its own) and timestamps a person reads."""
    labels = view.labels
    if labels is None:
        names = [row[0] for row in view.rows] if view.kind == "kv" else view.columns
        labels = [label(str(name)) for name in names]
        if len(set(labels)) != len(labels):  # two fields would read the same: say both
            labels = [_unique(str(n), lab, labels) for n, lab in zip(names, labels)]
    if view.kind == "kv":
        rows = [[row[0], _cell(row[1], now), *row[2:]] for row in view.rows]
    else:
        rows = [[_cell(v, now) for v in row] for row in view.rows]
    return replace(view, rows=rows, labels=labels)


def _unique(name: str, shown: str, labels: list[str]) -> str:
    if labels.count(shown) == 1 or "." not in name:
        return shown
    parent = label(name.rsplit(".", 1)[0])
    return f"{parent} {shown[:1].lower() + shown[1:]}"
