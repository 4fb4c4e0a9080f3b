"""``python main.py report RUN --out FILE.html``: one self-contained HTML file to hand on."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="write a run's report as one self-contained HTML file",
        description="Write RUN's report (data, settings, training curves, scores, confusion "
        "matrix, most confident mistakes, calibration, exports) as one HTML file that needs no "
        "network and prints on A4.")
    p.add_argument("run", metavar="RUN", help="a run folder")
    p.add_argument("--out", "-o", metavar="FILE.html", required=True, help="the file to write")
    p.add_argument("--mistakes", type=int, default=12, metavar="N",
                   help="how many of the most confident mistakes to show (default 12)")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.cli.output_path import check_output_file
    from core.cli.terminal import name
    from core.errors import UserError
    from core.report.html import write_report

    if args.mistakes < 0:
        raise UserError(f"--mistakes {args.mistakes}: give 0 (none shown) or more")
    check_output_file(args.out, "the report", (".html", ".htm"),
                      hint="; the report is HTML: print it to PDF from a browser, or use "
                           "'Save report…' in the window")
    path = write_report(args.run, args.out, max_mistakes=args.mistakes,
                        listener=lambda ev: print(f"warning: {name(ev.message)}",
                                                  file=sys.stderr))
    print(f"wrote {name(str(path))}", file=sys.stderr)
    return 0
