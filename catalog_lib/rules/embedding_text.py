"""Build the text that represents a catalog item in embedding space, and its change hash."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Bump when the recipe below changes so every stored hash mismatches and items are re-embedded.
_RECIPE_VERSION = "catalog-etl/embedding-text/v1"

_SCALAR_FIELDS_HEAD = ("name", "description", "brand", "model")
_SCALAR_FIELDS_TAIL = ("color", "size", "material")


def build_embedding_text(item: Mapping[str, Any]) -> str:
    """Return the single-line embedding text of a mapped catalog item (domain-spec §4.5).

    Malformed shapes never raise: a piece that cannot be rendered is skipped, so neither
    ``None`` nor ``undefined`` ever appears in the text.

    Args:
        item: A mapped catalog item with snake_case keys.

    Returns:
        The parts joined by newlines, then newlines replaced by spaces and trimmed; this is
        exactly what gets embedded and hashed. Empty when nothing is renderable.
    """
    if not isinstance(item, Mapping):
        return ""
    parts: list[str | None] = [_render_scalar(item.get(key)) for key in _SCALAR_FIELDS_HEAD]
    parts.append(_join(_iter_list(item.get("categories"), _render_scalar), ", "))
    parts.append(_join(_iter_list(item.get("variants"), _render_variant), "; "))
    parts.append(_render_techs(item.get("techs")))
    parts.extend(_render_scalar(item.get(key)) for key in _SCALAR_FIELDS_TAIL)
    parts.append(_join(_iter_list(item.get("reviews"), _render_review), " "))
    parts.append(_join(_iter_list(item.get("qas"), _render_qa), " "))
    parts.append(_join(_iter_list(item.get("faqs"), _render_faq), " "))
    text = "\n".join(part for part in parts if part)
    # CR is flattened too: a stray "\r" from a CRLF cell must not change what gets embedded.
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()


def hash_embedding_text(text: str, *, model: str) -> str:
    """Return the sha256 hex digest of the embedding text bound to the embedding model identity.

    Args:
        text: The output of `build_embedding_text`.
        model: The provider identity (e.g. ``"openai:text-embedding-3-small"``); a different
            model yields a different hash, so switching models re-embeds every item.

    Returns:
        A 64-character lowercase hex digest.
    """
    digest = hashlib.sha256()
    # Length-prefixed fields keep (model, text) pairs unambiguous: ("a", "bc") != ("ab", "c").
    for field in (_RECIPE_VERSION, model, text):
        encoded = field.encode("utf-8", errors="surrogatepass")
        digest.update(f"{len(encoded)}:".encode("ascii"))
        digest.update(encoded)
    return digest.hexdigest()


def _render_scalar(value: object) -> str | None:
    """Render a JSON scalar as text; containers, None and non-finite floats yield None."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    # bool before int: bool is an int subclass; JSON-style spelling matches the upstream text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _iter_list(value: object, render: Callable[[object], str | None]) -> Iterable[str | None]:
    """Render each element of a list; a lone string or mapping counts as a one-element list."""
    if isinstance(value, list | tuple):
        return (render(element) for element in value)
    if isinstance(value, str | Mapping):
        return (render(value),)
    return ()


def _join(pieces: Iterable[str | None], separator: str) -> str | None:
    """Join the non-empty pieces; None when none are left."""
    kept = [piece for piece in pieces if piece]
    return separator.join(kept) if kept else None


def _render_variant(variant: object) -> str | None:
    """Render ``{attribute}: {values joined ', '}``, degrading to whichever half is present."""
    if not isinstance(variant, Mapping):
        return None
    attribute = _render_scalar(variant.get("attribute"))
    values = _join(_iter_values(variant.get("values")), ", ")
    if attribute and values:
        return f"{attribute}: {values}"
    return attribute or values


def _iter_values(value: object) -> Iterable[str | None]:
    """Render a list of scalars (a lone scalar counts as one value)."""
    if isinstance(value, list | tuple):
        return (_render_scalar(element) for element in value)
    return (_render_scalar(value),)


def _render_techs(techs: object) -> str | None:
    """Render ``{k}: {v}`` pairs joined by ", "; an entry without a usable value is skipped."""
    if not isinstance(techs, Mapping):
        return None
    pieces: list[str] = []
    for key, value in techs.items():
        rendered_key = _render_scalar(key)
        rendered_value = _render_scalar(value)
        if rendered_key and rendered_value:
            pieces.append(f"{rendered_key}: {rendered_value}")
    return ", ".join(pieces) if pieces else None


def _render_review(review: object) -> str | None:
    """Render ``{title} {text}`` from whichever of the two fields are present."""
    if not isinstance(review, Mapping):
        return None
    return _join((_render_scalar(review.get("title")), _render_scalar(review.get("text"))), " ")


def _render_qa(qa: object) -> str | None:
    """Render ``{question} {answers[].a joined ' '}``; a missing answers list keeps the question."""
    if not isinstance(qa, Mapping):
        return None
    answers = qa.get("answers")
    answer_list = answers if isinstance(answers, list | tuple) else ()
    return _join((_render_scalar(qa.get("question")), *map(_render_answer, answer_list)), " ")


def _render_answer(answer: object) -> str | None:
    """Render one answer: the ``a`` field of a mapping, or a bare string answer."""
    if isinstance(answer, Mapping):
        return _render_scalar(answer.get("a"))
    return _render_scalar(answer) if isinstance(answer, str) else None


def _render_faq(faq: object) -> str | None:
    """Render ``{question} {answer}`` from whichever of the two fields are present."""
    if not isinstance(faq, Mapping):
        return None
    return _join((_render_scalar(faq.get("question")), _render_scalar(faq.get("answer"))), " ")
