"""Text for a terminal: file names made safe to print.

A file name may hold bytes that are not valid UTF-8 (Python keeps them as
"surrogate escapes") or control characters: a newline, or an escape sequence
that recolours or rewrites the user's terminal.  Printed raw, the first crashes
``print`` and the second lets a file name forge output.  :func:`printable`
shows both as visible escapes (``\\xff``, ``\\n``, ``\\x1b``) and leaves every
ordinary character, accented letters included, as it is.
"""

from __future__ import annotations

import codecs
import logging
import re
import sys

from core.shown import shown_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str, keep_newlines: bool = True) -> str:
    """``text`` with undecodable bytes and control characters shown as escapes."""
    text = shown_text(text)
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text


def message_lines(text: str) -> str:
    """A message for the terminal: escaped as :func:`printable`, its lines after the first
    indented.  A message may quote a path, and a path may hold a line break: "scanning
    DATA" split there printed a second line that could read as the command's own
    ("warning: ...").  Indented, the rest of the message cannot pass for a line of its own,
    and the runtime output an export quotes over several lines stays readable."""
    first, *rest = printable(text).split("\n")
    return "\n".join([first] + ["  " + line for line in rest])


class MessageFormatter(logging.Formatter):
    """Python log records as :func:`message_lines`, traceback included (for ``-v``)."""

    def format(self, record: logging.LogRecord) -> str:
        return message_lines(super().format(record))


def _json_escape(err: UnicodeEncodeError) -> tuple[str, int]:
    """``\\uXXXX`` (UTF-16, as JSON writes it) for the characters the encoding lacks."""
    units = err.object[err.start:err.end].encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i] << 8 | units[i + 1]:04x}"
                   for i in range(0, len(units), 2)), err.end


codecs.register_error("fts-json-escape", _json_escape)


def unbreakable_output() -> None:
    """Characters the terminal's encoding lacks print as escapes instead of ending the command.

    Windows writes a redirected stdout (``> out.txt``, a pipe) in its ANSI code page:
    a class named "łąka" or export's "max |Δp|" raised UnicodeEncodeError there, and the
    command exited 1 with an empty file.  The escapes are JSON's (``\\u0142``), so a
    ``--json`` answer stays valid JSON.  Called once, where the process starts.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="fts-json-escape")


def name(path: str) -> str:
    """One file name or path, on one line whatever it holds."""
    return printable(str(path), keep_newlines=False)


def warn_caution(predictor) -> None:
    """Say on stderr why the model may not answer as the app does (an export that failed
    its parity check, a run still training), before its answers are printed, served or
    scored."""
    note = getattr(predictor, "caution", "")
    if note:
        print(f"warning: {message_lines(note)}", file=sys.stderr, flush=True)
