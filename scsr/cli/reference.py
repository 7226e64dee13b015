"""``docs/cli.md``, the reference of every ``scsr`` command and option, generated from the
argparse parsers themselves so that it cannot drift from the code
(``tests/golden/test_cli_reference.py`` fails when the file is stale).

Regenerate with ``python -m scsr.cli.reference --write``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scsr.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
HEADER = """# `scsr` command reference

Generated from the argparse parsers by `python -m scsr.cli.reference --write`; a test fails
when this file and the code disagree. Each command also prints this with `--help`.
"""


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _section(name: str, parser: argparse.ArgumentParser, level: int) -> list[str]:
    # A fixed width so that the text does not depend on the terminal it was made in.
    parser.formatter_class = _fixed_width(parser.formatter_class)
    lines = [f"{'#' * level} `{name}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for sub_name, sub in _subparsers(parser).items():
        lines += _section(f"{name} {sub_name}", sub, level + 1)
    return lines


def _fixed_width(base: type) -> type:
    class Fixed(base):  # type: ignore[misc, valid-type]
        def __init__(self, prog: str, *args: object, **kwargs: object) -> None:
            kwargs["width"] = 100
            super().__init__(prog, *args, **kwargs)

    return Fixed


def markdown() -> str:
    parser = build_parser()
    parser.prog = "scsr"
    lines = [HEADER, *_section("scsr", parser, 2)]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {DOC} (default: print it)")
    args = ap.parse_args(argv)
    text = markdown()
    if args.write:
        from golden_model.atomic import atomic_file

        with atomic_file(DOC) as handle:
            handle.write(text.encode())
        print(f"wrote {DOC}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
