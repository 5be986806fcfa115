"""Help and usage errors: no Typer placeholders in `--help`; usage errors honour `--json`.

Typer renders a required argument as `{name}` in the usage line and every flag with a `<bool>`
type; both read like template placeholders left in (`install` patches that once, when the app
is built). `JsonUsageGroup` reports a usage error as one JSON document when `--json` is given.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

# Typer vendors click; its usage errors are this package's classes, not click's.
from typer._click.exceptions import UsageError
from typer.core import TyperArgument, TyperGroup, TyperOption

USAGE_EXIT_CODE = 2

_option_type = TyperOption.display_type_rich


def _usage_name(self: TyperArgument) -> str:
    """`NAME` when required, `[NAME]` when optional, `...` when it repeats."""
    name = (self.metavar or self.name or "").upper()
    shown = name if self.required else f"[{name}]"
    return shown + ("..." if self.nargs != 1 else "")


def _argument_name(self: TyperArgument) -> str:
    name = (self.metavar or self.name or "").upper()
    return name + ("..." if self.nargs != 1 else "")


def _option_type_without_flags(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag and self.metavar is None:
        return None
    return _option_type(self, ctx)


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:  # noqa: ARG001 (Typer's signature)
    return None  # the name column already names the argument


def install() -> None:
    """Patch Typer's parameter rendering (idempotent)."""
    TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
    TyperArgument._rich_display_name = _argument_name  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]
    TyperOption.display_type_rich = _option_type_without_flags  # type: ignore[method-assign]


class JsonUsageGroup(TyperGroup):
    """The root command group: with `--json`, a usage error is `{"error": "usage", …}` on stdout."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; report usage errors as JSON when `--json` is among the arguments."""
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(argv, prog_name, complete_var, False, **extra)
        except UsageError as exc:
            document = {"error": "usage", "message": exc.format_message()}
            sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
            if not standalone_mode:
                return USAGE_EXIT_CODE
            sys.exit(USAGE_EXIT_CODE)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)
