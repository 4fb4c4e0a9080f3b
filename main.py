"""Fine-Tune Studio.

``python main.py`` opens the desktop app; ``python main.py <command>`` runs the
same engine headless (``python main.py --help`` lists the commands).  Nothing
heavy is imported here: TensorFlow loads only when a command or the window's
background loader needs it.
"""

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from core.tfenv import quiet_by_default

    quiet_by_default(argv)  # before anything can import TensorFlow
    if not argv:
        from gui.app import run_app

        return run_app()
    from core.cli import main as cli_main
    from core.cli.terminal import unbreakable_output

    unbreakable_output()
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
