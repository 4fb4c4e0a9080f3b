"""README's table of commands and each command's ``--help`` name a flag's value alike.

A README review found ``predict --top-k TOP_K`` in the help where README writes
``--top-k K``, and three more such pairs: a user reading one and typing from the
other should meet the same words.
"""

import re
from pathlib import Path

from core.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def _commands():
    parser = build_parser()
    return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices


def test_every_flag_value_in_readme_s_command_table_is_named_as_help_names_it():
    commands = _commands()
    rows = re.findall(r"^\| `([a-z-]+)((?: [^`]*)?)` \|", README.read_text(encoding="utf-8"),
                      re.M)
    checked, differ = 0, []
    for command, synopsis in rows:
        if command not in commands:
            continue
        usage = " ".join(commands[command].format_usage().split())
        for flag, value in re.findall(r"(--[a-z-]+) ([A-Z][A-Za-z_.]*)", synopsis):
            checked += 1
            if f"{flag} {value}" not in usage and f"{flag} [{value}]" not in usage:
                differ.append(f"{command} {flag} {value}: help says {usage}")
    assert checked >= 15 and len(rows) >= 12  # the table is still there to read
    assert not differ, "\n".join(differ)
