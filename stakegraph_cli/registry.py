"""The CLI's command registry: what a command module registers, apart from what loads it.

`stakegraph_cli.main` imports every `cmd_*.py` module; each registers its commands here with
`@command(name, help)` and its arguments in `ARGUMENTS[name]`. Command modules import only this
module, never `main`, so there is no import circle (datasette's hookspecs.py beside plugins.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["ARGUMENTS", "COMMANDS", "command"]

#: name -> (function(args, settings) -> exit status, one-line help)
COMMANDS: dict[str, tuple[Callable, str]] = {}
#: name -> function adding the command's arguments to its parser
ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {}


def command(name: str, help: str) -> Callable[[Callable], Callable]:
    def wrap(fn: Callable) -> Callable:
        COMMANDS[name] = (fn, help)
        return fn

    return wrap
