"""Reading a page's links takes shortcuts for plain absolute URLs (a PEP 691 page's thousands of
file URLs): each must give what urllib gives, whatever the URL. Checked here on URLs made of
the pieces that make urllib differ (empty hosts, brackets, queries, fragments, parameters,
non-ASCII, upper-case schemes), and url_problem against the same rules applied whole."""

from __future__ import annotations

import random
from collections.abc import Callable
from urllib.parse import urljoin

import pytest

from vendorer._util.urls import WEB_SCHEMES, url_problem
from vendorer.index.pages import _link_url, _split_parsed, split_fragment

PIECES = ["https://", "http://", "HTTPS://", "file:", "ftp://", "", "a", "b.c", "[::1]", "[",
          "]", ":80", ":0", ":99999", "@", "u:p@", "${X}@", "/", "//", "?", "#", "#sha256=AB",
          ";", "x", "%20", " ", "..", ".", "é", "\uff0e", "xn--a", "a" * 64]  # fmt: skip
BASES = ["https://pypi.org/simple/x/", "http://host/simple/", "file:///tmp/links/"]


def _urls(count: int, seed: int) -> list[str]:
    chance = random.Random(seed)
    return ["".join(chance.choices(PIECES, k=chance.randint(1, 7))) for _ in range(count)]


def _or_error(call: Callable[..., object], *args: str) -> object:
    try:
        return call(*args)
    except ValueError:
        return "ValueError"


@pytest.mark.parametrize("seed", [1, 2])
def test_a_links_url_is_what_urllib_makes_of_it(seed: int) -> None:
    skipped: list[str] = []
    for href in _urls(5_000, seed):
        assert _or_error(split_fragment, href) == _or_error(_split_parsed, href), href
        for base in BASES:
            joined = _link_url(base, href, base, skipped.append)
            expected = str(_or_error(urljoin, base, href))
            expected = href if expected == "ValueError" else expected
            schemes = ("http", "https", "file") if base.startswith("file:") else WEB_SCHEMES
            if url_problem(expected, schemes) is None:
                assert joined == expected, (base, href)
            else:
                assert joined is None, (base, href)
