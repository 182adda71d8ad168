"""``python -m lossviz lint PATH...`` (and the ``lossviz`` console script)."""
from __future__ import annotations

import argparse
import sys

from . import i18n, lint


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 clean, 1 findings, 2 usage or read errors)."""
    parser = argparse.ArgumentParser(prog="lossviz", description="lossviz command line tools")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "lint", help="find loss mistakes (double sigmoid/softmax, Sigmoid + BCELoss, log(softmax)) in "
                     ".py files and .ipynb notebooks",
        epilog="Silence a deliberate demonstration with a comment on its line: "
               "# lossviz: ignore[double-sigmoid] (or # lossviz: ignore for every code).")
    check.add_argument("paths", nargs="+", metavar="PATH", help="a .py file, a .ipynb notebook or a folder")
    check.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                       help="language of the messages (default: English)")
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit:  # argparse exits 2 on a usage error, 0 for --help
        return int(exit.code or 0)
    if arguments.lang:
        i18n.set_language(arguments.lang)
    return lint.main(arguments.paths)


if __name__ == "__main__":
    sys.exit(main())
