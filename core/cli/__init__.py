"""The command line: ``python main.py <command> ...``.

Each command lives in ``core/commands/<name>.py`` and provides
``register(subparsers)`` (adds its parser, sets ``func``) plus a ``run(args)``
returning the exit status.  Modules are listed in :data:`COMMANDS`; they import
TensorFlow only inside ``run`` so ``--help`` stays instant.

Exit status: 0 done, 2 a user mistake (one line on stderr, no traceback),
1 anything else, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Optional, Sequence

from core import APP_NAME, __version__
from core.cli.console import below_the_bar
from core.cli.interrupt import interrupt_kept, termination_as_interrupt
from core.cli.terminal import MessageFormatter, message_lines, printable
from core.errors import UserError
from core.tfenv import missing_tensorflow
from core.write_errors import path_refusal

# Module names under core.cli.commands, in the order --help lists them.
COMMANDS: list[str] = [
    "inspect",
    "audit",
    "train",
    "evaluate",
    "predict",
    "export",
    "inspect_model",
    "backbones",
    "runs",
    "calibrate",
    "serve",
    "report",
    "suggest",
    "label",
]

#: Commands that run TensorFlow; it is started for them quietly (core.tfenv) before they run.
TENSORFLOW_COMMANDS = frozenset({"calibrate", "train", "evaluate", "predict", "export", "inspect-model",
                                 "serve", "suggest"})

log = logging.getLogger("finetune_studio")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description=f"{APP_NAME}: fine-tune a pretrained image classifier on folders of your "
        "images. Without a command the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (and tracebacks)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"core.cli.commands.{name}")
        module.register(sub)
    for command in sub.choices.values():  # `train DATA -v` as well as `-v train DATA`
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="log details (and tracebacks)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()  # stderr, each record's lines kept apart from ours
    handler.setFormatter(MessageFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        handlers=[handler])
    logging.getLogger("PIL").setLevel(logging.INFO)  # -v: a DEBUG line per image decoded
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with termination_as_interrupt():  # SIGTERM/SIGHUP clean up as Ctrl+C does
            if args.command in TENSORFLOW_COMMANDS:
                from core.tfenv import start_tensorflow, verbose_requested

                with interrupt_kept():  # a Ctrl+C is no broken install
                    # FTS_VERBOSE=1 shows TensorFlow's start-up lines too, as README says
                    start_tensorflow(verbose=args.verbose or verbose_requested())
            return int(args.func(args) or 0)
    except UserError as exc:
        below_the_bar()
        print(f"error: {printable(str(exc), keep_newlines=False)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        below_the_bar()
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; files were written before output
        try:
            sys.stdout = open(os.devnull, "w")  # Python's flush at exit must not fail again
        except OSError:
            pass
        return 141
    except OSError as exc:  # a path the system refuses (a name over 255 bytes, ...), unchecked
        if not path_refusal(exc) or args.verbose:
            return _unexpected(exc, args)
        below_the_bar()
        print(f"error: {printable(path_refusal(exc), keep_newlines=False)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so plainly, keep the traceback for -v
        if missing_tensorflow(exc) and not args.verbose:  # not a bug: an install to mend
            print(f"error: {missing_tensorflow(exc)}", file=sys.stderr)
            return 2
        return _unexpected(exc, args)


def _unexpected(exc: BaseException, args) -> int:
    """A bug: say so plainly, keep the traceback for -v (called while ``exc`` is handled)."""
    below_the_bar()
    log.debug("unhandled error", exc_info=True)
    if args.verbose:
        raise exc
    print(f"error: {type(exc).__name__}: {message_lines(str(exc))} (run with -v for details)",
          file=sys.stderr)
    return 1
