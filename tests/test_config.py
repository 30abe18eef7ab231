"""Settings precedence, the config file's format and permissions."""

import os
import stat

import pytest

from zenovay_cli import config
from zenovay_cli.errors import ConfigError, UsageError

FILE = {
    "profiles": {
        "default": {"api_key": "zv_from_file", "website": "file.com", "timeout": 12},
        "work": {"api_key": "zv_work", "base_url": "https://eu.example.test/v1"},
    },
    "cache": {"ttl": {"analytics": 60}},
}


def test_defaults_when_nothing_is_set():
    s = config.resolve({}, {}, {})
    assert s.profile == "default" and s.source("profile") == "default"
    assert s.base_url == config.DEFAULT_BASE_URL and s.api_key is None
    assert (s.timeout, s.retries, s.max_wait) == (30.0, 3, 60.0)


def test_option_beats_environment_beats_file_beats_default():
    env = {"ZENOVAY_API_KEY": "zv_from_env", "ZENOVAY_TIMEOUT": "5"}
    s = config.resolve({"api_key": "zv_from_option"}, env, FILE)
    assert (s.api_key, s.source("api_key")) == ("zv_from_option", "--api-key option")
    assert (s.timeout, s.source("timeout")) == (5.0, "ZENOVAY_TIMEOUT")
    assert (s.website, s.source("website")) == ("file.com", "config file (profile default)")
    assert s.source("retries") == "default"
    s = config.resolve({}, env, FILE)
    assert (s.api_key, s.source("api_key")) == ("zv_from_env", "ZENOVAY_API_KEY")
    s = config.resolve({}, {}, FILE)
    assert s.api_key == "zv_from_file"


def test_profile_from_environment_selects_its_section():
    s = config.resolve({}, {"ZENOVAY_PROFILE": "work"}, FILE)
    assert s.profile == "work" and s.api_key == "zv_work"
    assert s.base_url == "https://eu.example.test/v1"
    s = config.resolve({"profile": "default"}, {"ZENOVAY_PROFILE": "work"}, FILE)
    assert s.api_key == "zv_from_file"


def test_cache_ttls_from_the_file():
    assert config.resolve({}, {}, FILE).cache_ttl == {"analytics": 60.0}
    with pytest.raises(ConfigError):
        config.resolve({}, {}, {"cache": {"ttl": {"bogus": 1}}})


@pytest.mark.parametrize("env", [{"ZENOVAY_TIMEOUT": "soon"}, {"ZENOVAY_RETRIES": "-1"}, {"ZENOVAY_NO_CACHE": "maybe"}])
def test_bad_environment_values_are_usage_errors_naming_the_variable(env):
    with pytest.raises(UsageError) as info:
        config.resolve({}, env, {})
    assert list(env)[0] in info.value.message


def test_flags_from_environment():
    s = config.resolve({}, {"ZENOVAY_NO_CACHE": "1", "ZENOVAY_REFRESH": "false"}, {})
    assert s.no_cache is True and s.refresh is False


def test_invalid_toml_is_a_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[profiles.default\napi_key = ")
    with pytest.raises(ConfigError) as info:
        config.load_config(path)
    assert info.value.exit_code == 2 and str(path) in info.value.message


def test_saved_config_round_trips_with_private_permissions(tmp_path):
    path = tmp_path / "zenovay" / "config.toml"
    data = {"profiles": {"default": {"api_key": 'zv_"quoted"\\key', "timeout": 5.5, "retries": 2}, "odd name": {"website": "é.com"}}, "cache": {"ttl": {"pages": 30.0}}}
    config.save_config(data, path)
    assert config.load_config(path) == data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_config_dir_honours_xdg(isolated_dirs):
    assert str(config.config_path()).startswith(os.environ["XDG_CONFIG_HOME"])
    assert str(config.cache_dir()).startswith(os.environ["XDG_CACHE_HOME"])


def test_masked_key_never_shows_the_whole_key():
    key = "zv_0123456789abcdef0123"
    masked = config.mask_key(key)
    assert masked.startswith("zv_") and masked.endswith("0123") and "456789abcdef" not in masked
