"""`python -m bot.nlu nlu train|evaluate` and `python -m bot.nlu assess` (same as `signpost`)."""

from __future__ import annotations

import argparse
import sys

from bot.nlu.commands import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="signpost")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
