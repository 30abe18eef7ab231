"""Issue #12 findings checked in-process, where the API must send what the sandbox never does."""

import csv
import io

import pytest
import responses

from tests.harness import BASE, envelope, invoker

KEY = "zv_unit_issue12_SECRET_0c1d2e"
WID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
HOSTILE = "evil\x1b[31m\\x1b\r\nname\x07"
SITE = {"id": WID, "domain": "mysite.com", "name": HOSTILE}


@pytest.fixture
def api(monkeypatch, sleeps):
    monkeypatch.setenv("ZENOVAY_API_KEY", KEY)
    monkeypatch.setenv("ZENOVAY_BASE_URL", BASE)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def zenovay(capsys):
    return invoker(capsys, [KEY])


# --- item 11: one csv rule for stdout and export ---------------------------------------------------


def test_csv_on_stdout_and_export_csv_carry_the_same_text(api, zenovay, tmp_path):
    api.get(BASE + "/websites", json=envelope({"websites": [SITE]}))
    api.get(BASE + f"/analytics/{WID}", json=envelope({"summary": {"total_visitors": 1}}))
    api.get(BASE + f"/analytics/{WID}/countries", json=envelope({"countries": []}))
    r = zenovay("websites", "--format", "csv")
    assert r.code == 0, r
    [row] = list(csv.DictReader(io.StringIO(r.out, newline="")))
    assert row["name"] == HOSTILE  # unchanged, the backslash included: nothing is lost
    r = zenovay("export", "--out", str(tmp_path), "--format", "csv", "--quiet")
    assert r.code == 0, r
    [path] = tmp_path.glob("zenovay_*.csv")
    with open(path, newline="", encoding="utf-8") as f:
        [exported] = list(csv.DictReader(f))
    assert exported["name"] == row["name"]


def test_a_bare_carriage_return_is_quoted_in_stdout_csv_and_in_export(api, zenovay, tmp_path):
    site = {"id": WID, "domain": "mysite.com", "name": "a\rb"}
    api.get(BASE + "/websites", json=envelope({"websites": [site]}))
    api.get(BASE + f"/analytics/{WID}", json=envelope({"summary": {"total_visitors": 1}}))
    api.get(BASE + f"/analytics/{WID}/countries", json=envelope({"countries": []}))
    r = zenovay("websites", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(r.out, newline="")))
    assert row["name"] == "a\rb"
    assert zenovay("export", "--out", str(tmp_path), "--format", "csv", "--quiet").code == 0
    [path] = tmp_path.glob("zenovay_*.csv")
    with open(path, newline="", encoding="utf-8") as f:
        assert [r["name"] for r in csv.DictReader(f)] == ["a\rb"]


# --- item 12: help text papercuts, emoji widths -----------------------------------------------------


def _help_texts():
    from typer import _click

    from zenovay_cli import docgen
    from zenovay_cli.main import build_command

    for path, command, _ in docgen.walk(build_command()):
        ctx = _click.Context(command, info_name=path)
        yield path, command, command.get_help(ctx)


def test_help_has_pasteable_examples_one_env_wording_and_named_metavars():
    from zenovay_cli import docgen

    for path, command, text in _help_texts():
        assert "[env var:" not in text, path
        assert "range>" not in text, (path, [line for line in text.splitlines() if "range>" in line])
        for example in docgen.examples(command):
            assert not example.startswith("crontab:"), (path, example)


def test_root_help_shows_whole_summaries_on_a_wide_terminal(monkeypatch, capsys):
    from zenovay_cli.main import build_command, run

    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        run(["--help"])
    out = capsys.readouterr().out
    for name in ("usage", "websites", "analytics"):
        summary = build_command().commands[name].help.strip().splitlines()[0]
        assert len(summary) > 60 and f"  {name}" in out and summary in out, (summary, out)


def test_emoji_sequences_keep_plain_tables_aligned():
    from zenovay_cli.output import Output

    out = io.StringIO()
    names = ["ab", "\u2764\ufe0f", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f44d\U0001f3fd"]
    Output(out, io.StringIO(), is_tty=False).emit(
        "pages", {"pages": [{"url": n, "views": 1} for n in names]}, "table")
    rows = out.getvalue().splitlines()[2:]
    # every name is 2 columns wide on a terminal, so the same padding follows each
    assert len({row[len(name):].index("1") for row, name in zip(rows, names)}) == 1, rows
