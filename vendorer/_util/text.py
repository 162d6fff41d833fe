"""The one rule for text vendorer writes into files and URLs: no control character."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["CONTROL_PROBLEM", "has_control"]

CONTROL_PROBLEM: Final = "holds a control character (a line break or tab?)"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


def has_control(text: str) -> bool:
    """Whether `text` holds a control character (C0 or DEL): no path, name, URL or marker value
    does, and web.config (XML 1.0) could not carry most of them."""
    return _CONTROL.search(text) is not None
