"""Shell completion: the committed scripts, the <TAB> protocol, real bash/zsh/fish, and the cache-only websites."""

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from zenovay_cli.cache import CacheStore, make_key
from zenovay_cli.commands import completion_cmd
from zenovay_cli.completion_data import cached_websites
from zenovay_cli.config import DEFAULT_BASE_URL, cache_dir

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
# Read at import: the autouse fixture removes every ZENOVAY_* variable before a test runs.
REQUIRE_SHELLS = os.environ.get("ZENOVAY_REQUIRE_SHELLS", "") not in ("", "0")

SHOP = {"id": "11111111-2222-4333-8444-555555555555", "domain": "shop.example", "name": "Shop"}
BLOG = {"id": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", "domain": "blog.example", "name": "Blog"}
OTHER = {"id": "99999999-8888-4777-8666-555555555555", "domain": "other-account.example", "name": "Other"}
KEY = "zv_test_completion_key"


def zenovay_executable() -> str:
    candidate = Path(sys.executable).with_name("zenovay")
    found = str(candidate) if candidate.exists() else shutil.which("zenovay")
    if not found:
        pytest.fail("the `zenovay` command is not installed: run `pip install .` first")
    return found


def need(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        message = f"{shell} is not installed (apt-get install {shell})"
        if REQUIRE_SHELLS:
            pytest.fail(message + " and ZENOVAY_REQUIRE_SHELLS is set")
        pytest.skip(message)
    return path


def shell_env(**extra) -> dict:
    """The test's environment (isolated XDG dirs) with the installed zenovay first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_ZENOVAY")}
    env["PATH"] = str(Path(zenovay_executable()).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def warm_cache(websites: list, api_key: str = KEY, base_url: str = DEFAULT_BASE_URL, ttl: float = 600) -> None:
    """A /websites answer in the cache, written the way the client writes it."""
    store = CacheStore(cache_dir())
    key = make_key(base_url, "/websites", {}, api_key)
    assert store.set(key, {"websites": websites}, ttl, meta={"path": "/websites"})


class Listener:
    """A TCP port on 127.0.0.1 that counts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/external/v1"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/external/v1"


def tab(shell: str, line: str, **env) -> list:
    """The candidates `zenovay` prints for one <TAB> at the end of `line` (the scripts' protocol)."""
    variables = {"_ZENOVAY_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        words = line.split()
        if line.endswith(" "):
            words.append("")
        variables.update(COMP_WORDS="\n".join(words), COMP_CWORD=str(len(words) - 1))
    else:
        variables["_TYPER_COMPLETE_ARGS"] = line
    result = subprocess.run(
        [zenovay_executable()], capture_output=True, text=True, timeout=30, env=shell_env(**variables, **env)
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [c for c in result.stdout.split("\n") if c]


def values(candidates: list, sep: str) -> list:
    return [c.split(sep, 1)[0] for c in candidates]


# --- the committed files ---------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_committed_completion_file_is_what_the_code_generates(shell):
    committed = (COMPLETIONS / completion_cmd.FILES[shell]).read_text(encoding="utf-8")
    assert committed == completion_cmd.script(shell), (
        "completions/ is out of date: run python -m zenovay_cli.commands.completion_cmd --write completions/"
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_and_source_variable_print_the_committed_script(shell):
    committed = (COMPLETIONS / completion_cmd.FILES[shell]).read_text(encoding="utf-8")
    printed = subprocess.run(
        [zenovay_executable(), "completion", shell], capture_output=True, text=True, timeout=30, env=shell_env()
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == committed
    sourced = subprocess.run(
        [zenovay_executable()], capture_output=True, text=True, timeout=30,
        env=shell_env(_ZENOVAY_COMPLETE=f"source_{shell}"),
    )
    assert sourced.returncode == 0, sourced.stderr
    assert sourced.stdout.rstrip("\n") == committed.rstrip("\n")


def test_check_mode_reports_a_stale_completion_file(tmp_path):
    completion_cmd.write_files(tmp_path)
    assert completion_cmd._main(["--check", str(tmp_path)]) == 0
    (tmp_path / "_zenovay").write_text("#compdef zenovay\n", encoding="utf-8")
    assert completion_cmd._main(["--check", str(tmp_path)]) == 1


def test_completion_help_explains_how_to_install_for_each_shell():
    result = subprocess.run(
        [zenovay_executable(), "completion", "--help"], capture_output=True, text=True, timeout=30, env=shell_env()
    )
    assert result.returncode == 0, result.stderr
    for expected in ("~/.local/share/bash-completion/completions/zenovay", "~/.zfunc/_zenovay", "fpath=(~/.zfunc $fpath)", "~/.config/fish/completions/zenovay.fish"):
        assert expected in result.stdout


def test_completion_rejects_an_unknown_shell():
    result = subprocess.run(
        [zenovay_executable(), "completion", "tcsh"], capture_output=True, text=True, timeout=30, env=shell_env()
    )
    assert result.returncode == 2
    assert result.stdout == ""


# --- the <TAB> protocol (what the scripts call) ----------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_tab_completes_subcommands(shell):
    sep = ":" if shell == "zsh" else "\t"
    assert values(tab(shell, "zenovay ana"), sep) == ["analytics"]
    assert values(tab(shell, "zenovay c"), sep) == ["countries", "completion", "config", "cache"]
    assert values(tab(shell, "zenovay cache "), sep) == ["info", "clear", "prune"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_tab_completes_options_with_their_help(shell):
    got = tab(shell, "zenovay analytics --r")
    sep = ":" if shell == "zsh" else "\t"
    assert values(got, sep) == ["--range", "--retries", "--refresh", "--redis"]
    if shell != "bash":
        assert got[0] == f"--range{sep}Time range."


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize(
    "line, expected",
    [
        ("zenovay analytics --range ", ["24h", "7d", "30d", "90d", "1y"]),
        ("zenovay visitors -r 3", ["30d"]),
        ("zenovay errors --status ", ["unresolved", "resolved", "ignored"]),
        ("zenovay tech --format ", ["table", "json", "ndjson", "csv", "tsv"]),
        ("zenovay export --format c", ["csv"]),
        ("zenovay completion ", ["bash", "zsh", "fish"]),
    ],
)
def test_tab_completes_choice_values(shell, line, expected):
    assert tab(shell, line) == expected


def test_bash_completes_an_option_value_after_an_equals_sign():
    # bash hands over `--range=3` as the words `--range`, `=`, `3` and replaces only the last one.
    env = {"_ZENOVAY_COMPLETE": "complete_bash"}
    run = lambda words, cword: subprocess.run(  # noqa: E731
        [zenovay_executable()], capture_output=True, text=True, timeout=30,
        env=shell_env(**env, COMP_WORDS="\n".join(words), COMP_CWORD=str(cword)),
    ).stdout.split()
    assert run(["zenovay", "analytics", "--range", "=", "3"], 4) == ["30d"]
    assert run(["zenovay", "analytics", "--range", "="], 3) == ["=24h", "=7d", "=30d", "=90d", "=1y"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_complete_an_option_value_in_the_same_word(shell):
    assert tab(shell, "zenovay analytics --range=3") == ["--range=30d"]


def test_tab_offers_no_candidates_where_a_file_name_belongs():
    # The scripts then fall back to the shell's own file-name completion.
    assert tab("bash", "zenovay export --out ") == []
    assert tab("fish", "zenovay alert --rules ") == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_tab_completes_website_domains_and_ids_from_a_warm_cache_without_the_network(shell, listener):
    warm_cache([SHOP, BLOG], base_url=listener.base_url)
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": listener.base_url}
    sep = ":" if shell == "zsh" else "\t"
    got = tab(shell, "zenovay analytics ", **env)
    assert values(got, sep) == ["shop.example", "blog.example", SHOP["id"], BLOG["id"]]
    assert values(tab(shell, "zenovay pages sh", **env), sep) == ["shop.example"]
    assert values(tab(shell, "zenovay visitors --range 7d 1111", **env), sep) == [SHOP["id"]]
    if shell != "bash":
        assert f"shop.example{sep}Shop" in got
        assert f"{SHOP['id']}{sep}shop.example" in got
    assert listener.connections == 0


def test_tab_with_a_cold_cache_offers_no_websites_and_contacts_nobody(listener):
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": listener.base_url}
    assert tab("bash", "zenovay analytics ", **env) == []
    assert tab("fish", "zenovay websites ", **env) == []
    assert listener.connections == 0


def test_tab_with_a_warm_cache_and_an_unreachable_api_still_offers_websites():
    warm_cache([SHOP], base_url=DEFAULT_BASE_URL)
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": closed_port_url()}
    # No entry for this base URL: every cached /websites answer is offered.
    assert tab("bash", "zenovay analytics ", **env) == ["shop.example", SHOP["id"]]


def test_tab_completes_websites_the_client_cached_from_the_sandbox():
    from zenovay_cli.sandbox import SandboxConfig, SandboxServer

    server = SandboxServer(SandboxConfig(websites=3)).start()
    try:
        env = shell_env(ZENOVAY_API_KEY=server.api_key, ZENOVAY_BASE_URL=server.base_url)
        listed = subprocess.run(
            [zenovay_executable(), "websites", "--json"], capture_output=True, text=True, timeout=60, env=env
        )
        assert listed.returncode == 0, listed.stderr
        domains = [w["domain"] for w in json.loads(listed.stdout)["websites"]]
        assert len(domains) == 3
        base_url = server.base_url
    finally:
        server.stop()
    got = tab("bash", "zenovay analytics ", ZENOVAY_API_KEY=env["ZENOVAY_API_KEY"], ZENOVAY_BASE_URL=base_url)
    assert got[:3] == domains


# --- cached_websites: the cache, read only -------------------------------------------------------


def test_cached_websites_is_empty_without_a_cache():
    assert not cache_dir().exists()
    assert cached_websites() == []
    assert not cache_dir().exists()


def test_cached_websites_prefers_the_active_keys_answer(monkeypatch):
    warm_cache([OTHER], api_key="zv_someone_else")
    warm_cache([SHOP])
    env = {"ZENOVAY_API_KEY": KEY}
    assert [v for v, _ in cached_websites(env=env)] == ["shop.example", SHOP["id"]]
    # Without a key (or without an entry for it), every cached answer, newest first.
    assert [v for v, _ in cached_websites(env={})] == ["shop.example", "other-account.example", SHOP["id"], OTHER["id"]]


def test_cached_websites_uses_expired_answers_too():
    clock = [1000.0]
    store = CacheStore(cache_dir(), clock=lambda: clock[0])
    store.set(make_key(DEFAULT_BASE_URL, "/websites", {}, KEY), [BLOG], 1, meta={"path": "/websites"})
    assert [v for v, _ in cached_websites(env={"ZENOVAY_API_KEY": KEY})] == ["blog.example", BLOG["id"]]


def test_cached_websites_ignores_other_endpoints_and_foreign_files():
    store = CacheStore(cache_dir())
    store.set(make_key(DEFAULT_BASE_URL, "/websites/x", {}, KEY), {"website": SHOP}, 600, meta={"path": "/websites/x"})
    store.set(make_key(DEFAULT_BASE_URL, "/analytics/x", {}, KEY), {"websites": [SHOP]}, 600, meta={"path": "/analytics/x"})
    (cache_dir() / "notes.json").write_text(json.dumps({"websites": [SHOP]}))
    assert cached_websites(env={}) == []


def test_cached_websites_offers_only_safe_values_from_untrusted_data():
    hostile = [
        {"id": "x; rm -rf ~", "domain": "evil.example\n--all", "name": "Evil"},
        {"id": "$(reboot)", "domain": "`id`.example", "name": "Bad"},
        {"id": "-rf", "domain": "--all"},
        {"id": 42, "domain": ["a"], "name": None},
        {"id": "bbbbbbbb-0000-4000-8000-000000000000", "domain": "ok.example", "name": "Tab\there\x1b[31m\nnext"},
        "not a website",
    ]
    warm_cache(hostile)
    got = cached_websites(env={"ZENOVAY_API_KEY": KEY})
    assert got == [("ok.example", "Tab here [31m next"), ("bbbbbbbb-0000-4000-8000-000000000000", "ok.example")]


def test_cached_websites_never_changes_the_cache():
    warm_cache([SHOP])
    corrupt = cache_dir() / ("f" * 64 + ".json")
    corrupt.write_text('{"v":1,"meta":{"path":"/websites"},"value":')  # CacheStore.get would delete it
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache_dir().iterdir()}
    assert [v for v, _ in cached_websites(env={})] == ["shop.example", SHOP["id"]]
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cache_dir().iterdir()} == before


def test_cached_websites_survives_a_broken_config_file():
    from zenovay_cli.config import config_path

    warm_cache([SHOP])
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text("this is [not toml")
    assert [v for v, _ in cached_websites(env={})] == ["shop.example", SHOP["id"]]


# --- the real shells -----------------------------------------------------------------------------


def bash_complete(line: str, script: Path = COMPLETIONS / "zenovay.bash", **env) -> list:
    """Source the script in bash, set COMP_WORDS/COMP_CWORD like readline would, call the function."""
    bash = need("bash")
    program = r"""
source "$1"
read -ra COMP_WORDS <<< "$2"
[[ $2 == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE=$2
COMP_POINT=${#2}
spec=$(complete -p zenovay)
[[ $spec == *'-F _zenovay_completion'* ]] || { echo "not registered: $spec" >&2; exit 1; }
_zenovay_completion zenovay "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", program, "bash", str(script), line],
        capture_output=True, text=True, timeout=60, env=shell_env(**env),
    )
    assert result.returncode == 0, result.stderr
    return [c for c in result.stdout.split("\n") if c]


def fish_complete(line: str, **env) -> list:
    """Source the script in fish and ask `complete -C` what <TAB> would offer."""
    fish = need("fish")
    program = 'source $argv[1]; complete -C "$argv[2]"'
    result = subprocess.run(
        [fish, "--no-config", "-c", program, str(COMPLETIONS / "zenovay.fish"), line],
        capture_output=True, text=True, timeout=60, env=shell_env(**env),
    )
    assert result.returncode == 0, result.stderr
    return [c for c in result.stdout.split("\n") if c]


ZSH_HARNESS = r"""
PS1='%% '
unsetopt auto_list list_ambiguous beep
fpath=($ZV_FPATH $fpath)
autoload -Uz compinit && compinit -u -D
[[ -n $ZV_EVAL ]] && eval "$(zenovay completion zsh)"
# Record every candidate the completion system is given for the word at the cursor.
compadd() {
    if (( ${argv[(I)-[OAD]*]} )); then builtin compadd "$@"; return; fi
    local -a __hits
    builtin compadd -O __hits "$@"
    (( ${#__hits} )) && print -rl -- "${__hits[@]}" >> $ZV_CAPTURE
    builtin compadd "$@"
}
_zv_done() { print -r -- __ZV_DONE__ >> $ZV_CAPTURE }
_zv_tab() { comppostfuncs=(_zv_done); zle complete-word }
zle -N _zv_tab
bindkey '^I' _zv_tab
print -r -- __ZV_READY__
"""


def zsh_complete(line: str, tmp_path: Path, evaluated: bool = False, **env) -> list:
    """Type `line` and <TAB> into an interactive zsh (in a pty) with compinit and our script."""
    zsh = need("zsh")
    harness = tmp_path / "harness.zsh"
    harness.write_text(ZSH_HARNESS)
    capture = tmp_path / "capture.txt"
    capture.write_text("")
    fpath = tmp_path / "fpath"
    fpath.mkdir(exist_ok=True)
    if not evaluated:
        shutil.copy(COMPLETIONS / "_zenovay", fpath / "_zenovay")
    variables = dict(ZV_FPATH=str(fpath), ZV_CAPTURE=str(capture), ZV_EVAL="1" if evaluated else "", **env)
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [zsh, "-f", "-i"], stdin=slave, stdout=slave, stderr=slave, env=shell_env(**variables),
        cwd=tmp_path, start_new_session=True,
    )
    os.close(slave)
    seen = b""

    def wait_for(done, timeout=30.0) -> bool:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    return done()
        return True

    try:
        os.write(master, f"source {harness}\n".encode())
        assert wait_for(lambda: b"__ZV_READY__\r\n" in seen), seen.decode(errors="replace")
        os.write(master, line.encode() + b"\t")
        finished = wait_for(lambda: "__ZV_DONE__" in capture.read_text())
        assert finished, "zsh did not finish completing: " + seen.decode(errors="replace")
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    return [c for c in capture.read_text().split("\n") if c and c != "__ZV_DONE__"]


def test_bash_completes_commands_options_and_choices():
    assert bash_complete("zenovay ana") == ["analytics"]
    assert bash_complete("zenovay analytics --ra") == ["--range"]
    assert bash_complete("zenovay analytics --range ") == ["24h", "7d", "30d", "90d", "1y"]
    assert bash_complete("zenovay errors --status ") == ["unresolved", "resolved", "ignored"]
    assert bash_complete("zenovay visitors --format nd") == ["ndjson"]


def test_bash_completes_websites_from_the_cache(listener):
    warm_cache([SHOP, BLOG], base_url=listener.base_url)
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": listener.base_url}
    assert bash_complete("zenovay analytics b", **env) == ["blog.example"]
    assert listener.connections == 0


def test_bash_completion_loaded_by_eval_completes_too(tmp_path):
    script = tmp_path / "eval.bash"
    script.write_text('eval "$(zenovay completion bash)"\n')
    assert bash_complete("zenovay sandbox s", script=script) == ["serve"]


def test_fish_completes_commands_options_and_choices():
    assert fish_complete("zenovay ana") == ["analytics\tShow visitors, page views and unique..."]
    assert values(fish_complete("zenovay analytics --ran"), "\t") == ["--range"]
    assert values(fish_complete("zenovay analytics --range "), "\t") == ["24h", "7d", "30d", "90d", "1y"]
    assert values(fish_complete("zenovay errors --status "), "\t") == ["unresolved", "resolved", "ignored"]
    assert values(fish_complete("zenovay tech --format j"), "\t") == ["json"]


def test_fish_completes_websites_from_the_cache(listener):
    warm_cache([SHOP, BLOG], base_url=listener.base_url)
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": listener.base_url}
    assert fish_complete("zenovay countries sho", **env) == ["shop.example\tShop"]
    assert listener.connections == 0


def test_fish_falls_back_to_file_names_where_a_path_belongs(tmp_path):
    (tmp_path / "rules-file.toml").write_text("")
    got = fish_complete(f"zenovay alert --rules {tmp_path}/rules-")
    assert got == [f"{tmp_path}/rules-file.toml"]


def test_zsh_autoloads_the_script_from_fpath_and_completes(tmp_path):
    assert zsh_complete("zenovay ana", tmp_path) == ["analytics"]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("zenovay analytics --ra", ["--range"]),
        ("zenovay analytics --range ", ["24h", "7d", "30d", "90d", "1y"]),
        ("zenovay errors --status ", ["unresolved", "resolved", "ignored"]),
        ("zenovay pages --format ", ["table", "json", "ndjson", "csv", "tsv"]),
    ],
)
def test_zsh_completes_options_and_choices(tmp_path, line, expected):
    assert zsh_complete(line, tmp_path) == expected


def test_zsh_completes_websites_from_the_cache(tmp_path, listener):
    warm_cache([SHOP, BLOG], base_url=listener.base_url)
    env = {"ZENOVAY_API_KEY": KEY, "ZENOVAY_BASE_URL": listener.base_url}
    assert zsh_complete("zenovay tech ", tmp_path, **env) == ["shop.example", "blog.example", SHOP["id"], BLOG["id"]]
    assert listener.connections == 0


def test_zsh_falls_back_to_file_names_where_a_path_belongs(tmp_path):
    (tmp_path / "exports-here").mkdir()
    assert zsh_complete("zenovay export --out exports-h", tmp_path) == ["exports-here"]


def test_zsh_completion_loaded_by_eval_completes_too(tmp_path):
    assert zsh_complete("zenovay auth st", tmp_path, evaluated=True) == ["status"]
