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
    if not argv or _project_alone(argv):
        from gui.app import run_app

        return run_app(project=argv[0] if argv else None)
    try:
        from core.cli import main as cli_main
        from core.cli.terminal import unbreakable_output

        unbreakable_output()
        return cli_main(argv)
    except KeyboardInterrupt:  # Ctrl+C while the commands load, before they handle it
        print("interrupted", file=sys.stderr)  # (it printed a traceback: a CLI review)
        return 130


def _project_alone(argv) -> bool:
    """A project file given alone (a double-click, "Open with", a desktop shortcut): the
    window opens it.  It was refused as "invalid choice" of a command; so was one moved or
    deleted since (or a folder named like one), which the window now names ("project file
    not found")."""
    if len(argv) != 1:
        return False
    from core.project import is_project_path

    return is_project_path(argv[0])


if __name__ == "__main__":
    sys.exit(main())
