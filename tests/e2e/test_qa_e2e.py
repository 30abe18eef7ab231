"""Findings of a new-user walk through the README and docs/ (QA), each pinned end to end."""

from __future__ import annotations

import json


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return result


def test_demo_history_sync_keeps_its_own_store_apart_from_the_users(cli, isolated_dirs):
    # The user's real store, filled from "their" API (the test's sandbox).
    ok(cli("history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    real_ids = sorted(w["id"] for w in json.loads(ok(cli("websites", "--json")).stdout)["websites"])
    stored = "SELECT website_id FROM websites ORDER BY website_id"

    def ids_in_real_store() -> list[str]:
        return [r["website_id"] for r in json.loads(ok(cli("history", "sql", stored, "--json")).stdout)]

    assert ids_in_real_store() == real_ids

    # A --demo sync writes the synthetic websites somewhere else, never into the user's store ...
    ok(cli("--demo", "history", "sync", "--backfill", "30d", "--breakdowns", "none", "--quiet"))
    assert ids_in_real_store() == real_ids
    # ... and the demo's own history commands read the demo store.
    demo_info = json.loads(ok(cli("--demo", "history", "info", "--json")).stdout)
    assert demo_info["websites"] == 5 and len(real_ids) == 4  # the demo's 5 websites, the user's 4
    assert demo_info["path"] != json.loads(ok(cli("history", "info", "--json")).stdout)["path"]

    # export --format sqlite (the default store) under --demo: the same rule.
    ok(cli("--demo", "export", "--format", "sqlite", "--range", "7d", "--quiet"))
    assert ids_in_real_store() == real_ids
