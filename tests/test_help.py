"""Help stays true by construction: every command describes itself and shows an example, and the
command reference (docs/reference.md) is exactly what the command tree generates."""

import re
from pathlib import Path

import pytest

from zenovay_cli import docgen
from zenovay_cli.main import build_command

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / docgen.REFERENCE

TREE = list(docgen.walk(build_command()))
PATHS = [path for path, _, _ in TREE]
LEAVES = [(path, command) for path, command, _ in TREE if not getattr(command, "commands", None)]


def test_the_walk_sees_every_command():
    # A guard for the walk itself: a command it missed would escape every check below.
    for expected in ("zenovay", "zenovay analytics", "zenovay completion", "zenovay auth login", "zenovay config set", "zenovay cache prune", "zenovay sandbox serve"):
        assert expected in PATHS
    assert len(LEAVES) >= 20


@pytest.mark.parametrize("path, command", [(p, c) for p, c, _ in TREE], ids=PATHS)
def test_every_command_and_group_has_a_one_line_description(path, command):
    first = docgen.description(command)
    assert first, f"{path} has no help text"
    assert "\n" not in first, f"{path}: the first paragraph of its help must be one line: {first!r}"
    assert len(first) <= 120, f"{path}: one-line description too long ({len(first)} characters)"
    assert first.endswith((".", ")")), f"{path}: description should be a sentence: {first!r}"


@pytest.mark.parametrize("path, command", LEAVES, ids=[p for p, _ in LEAVES])
def test_every_command_shows_an_example_that_runs_zenovay(path, command):
    epilog = (command.epilog or "").replace("\b", "").strip()
    assert re.match(r"Examples?:", epilog), f"{path}: the epilog must start with 'Example:' or 'Examples:': {epilog!r}"
    found = docgen.examples(command)
    assert any(e.startswith(path + " ") or e == path for e in found), (
        f"{path}: no example starts with {path!r}: {found}"
    )


@pytest.mark.parametrize("path", PATHS)
def test_help_of_every_command_prints_its_description_and_examples(path, capsys):
    command = build_command()
    code = command.main(args=[*path.split()[1:], "--help"], prog_name="zenovay", standalone_mode=False)
    out = capsys.readouterr().out
    assert code == 0, out
    found = dict((p, c) for p, c, _ in docgen.walk(command))[path]
    assert " ".join(docgen.description(found).split()) in " ".join(out.split())
    for example in docgen.examples(found):
        assert "  " + example in out, f"{path}: example missing from --help: {example}"


def test_command_reference_matches_the_command_tree():
    section = docgen.section_of(REFERENCE.read_text(encoding="utf-8"))
    assert section is not None, f"{docgen.REFERENCE} has no {docgen.START} ... {docgen.END} markers"
    assert section == docgen.build(), f"{docgen.REFERENCE} is out of date: run {docgen.REGENERATE}"


def _section_of_command(reference: str, path: str) -> str:
    start = reference.index(f"\n### {path}\n")
    end = reference.find("\n### ", start + 1)
    return reference[start : end if end >= 0 else len(reference)]


def test_reference_names_every_command_option_and_example():
    reference = docgen.build()
    shared = {
        heading: _section_of_command(reference, heading)
        for heading, _names, _intro in docgen._shared_groups()
    }
    for path, command, ctx in docgen.walk(build_command()):
        text = _section_of_command(reference, path)
        assert f"\n{path} " in text or f"\n{path}\n" in text, f"{path}: no usage line"
        assert docgen.description(command) in text.replace("\\", "")
        linked = "".join(body for heading, body in shared.items() if f"]({docgen._anchor(heading)})" in text)
        for param in command.get_params(ctx):
            if "--help" in param.opts:
                continue
            names = param.opts if param.param_type_name == "option" else [param.human_readable_name]
            for name in names:
                assert re.search(rf"`[^`]*(?<![\w-]){re.escape(name)}(?![\w-])[^`]*`", text + linked), (
                    f"{path}: {name} is missing from the reference"
                )
        for example in docgen.examples(command):
            assert f"\n{example}\n" in text


def test_docgen_rewrites_only_the_section_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nBefore.\n\n{docgen.START}\nold text\n{docgen.END}\n\nAfter.\n", encoding="utf-8")
    assert docgen.main(["--check", str(readme)]) == 1
    assert docgen.main(["--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nBefore.\n\n" + docgen.START + "\n")
    assert text.endswith(docgen.END + "\n\nAfter.\n")
    assert "old text" not in text
    assert docgen.section_of(text) == docgen.build()
    assert docgen.main(["--check", str(readme)]) == 0
    assert docgen.main(["--write", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == text  # idempotent


def test_docgen_refuses_a_readme_without_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        docgen.main(["--write", str(readme)])
    assert readme.read_text(encoding="utf-8") == "# Title\n"
