"""Help text without Typer's type placeholders: `JOB_ID`, not `{job_id}`; flags show no `<bool>`.

Typer renders a required argument as `{name}` in the usage line and every flag with a `<bool>`
type; both read like template placeholders left in. Applied once when the app is built.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

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
