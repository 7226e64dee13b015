"""docs/cli.md is the argparse parsers' own help: this fails when a command or option
changes and the reference was not regenerated (``python -m scsr.cli.reference --write``)."""

from __future__ import annotations

from scsr.cli.reference import DOC, markdown


def test_cli_reference_is_current() -> None:
    assert DOC.read_text() == markdown(), (
        "docs/cli.md is stale: run 'python -m scsr.cli.reference --write'")


def test_cli_reference_covers_every_command_and_option() -> None:
    from scsr.cli import COMMANDS, build_parser

    text = markdown()
    for name in COMMANDS:
        assert f"## `scsr {name}`" in text
    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices
               and "flow" in a.choices).choices
    for option in sub["flow"]._option_string_actions:
        assert option in text
