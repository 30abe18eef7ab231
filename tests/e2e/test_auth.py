"""auth login / status / logout and config commands as a user runs them."""

import json
import os
import stat
from pathlib import Path


def test_login_from_stdin_verifies_and_stores_the_key_privately(cli, sb, isolated_dirs):
    result = cli("auth", "login", input=sb.api_key + "\n", env={"ZENOVAY_API_KEY": None})
    assert result.returncode == 0, result.stderr
    assert sb.stats()["by_path"].get("/usage") == 1, "the key was checked against /usage"
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "zenovay" / "config.toml"
    assert sb.api_key in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # Now commands work with no key in the environment.
    again = cli("usage", "--json", env={"ZENOVAY_API_KEY": None})
    assert again.returncode == 0, again.stderr


def test_login_with_a_rejected_key_saves_nothing(cli, isolated_dirs):
    result = cli("auth", "login", input="zv_revoked_nope\n", env={"ZENOVAY_API_KEY": None})
    assert result.returncode == 4
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "zenovay" / "config.toml").exists()


def test_login_rejects_a_key_without_the_zv_prefix(cli, sb):
    result = cli("auth", "login", input="sk_live_123\n")
    assert result.returncode == 2
    assert sb.stats()["requests"] == 0


def test_status_shows_sources_and_masks_the_key(cli, sb):
    result = cli("auth", "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["api_key"]["source"] == "ZENOVAY_API_KEY"
    assert sb.api_key not in result.stdout
    assert data["base_url"]["value"] == sb.base_url
    table = cli("auth", "status").stdout
    assert "ZENOVAY_API_KEY" in table and sb.api_key not in table


def test_logout_removes_the_key(cli, sb):
    cli("auth", "login", input=sb.api_key + "\n", env={"ZENOVAY_API_KEY": None})
    assert cli("auth", "logout").returncode == 0
    result = cli("usage", env={"ZENOVAY_API_KEY": None})
    assert result.returncode == 4


def test_profiles_keep_separate_settings(cli):
    assert cli("config", "set", "website", "a.com", "--profile", "work").returncode == 0
    assert cli("config", "get", "website", "--profile", "work").stdout.strip() == "a.com"
    assert cli("config", "get", "website").stdout.strip() == ""
    assert cli("config", "get", "website", env={"ZENOVAY_PROFILE": "work"}).stdout.strip() == "a.com"


def test_config_set_rejects_bad_values(cli):
    assert cli("config", "set", "timeout", "soon").returncode == 2
    assert cli("config", "set", "colour", "red").returncode == 2
    assert cli("config", "set", "base_url", "http://example.com").returncode == 2


def test_unreadable_config_exits_2(cli, isolated_dirs):
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "zenovay"
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text("[profiles.default\n")
    result = cli("usage")
    assert result.returncode == 2
    assert "config.toml" in result.stderr
