"""The one way vendorer shows what another program printed: its last lines behind a bar."""

from __future__ import annotations

from vendorer._util.tail import TAIL_LINES, output_line, output_tail


def test_the_last_lines_each_behind_a_bar() -> None:
    text = "\n".join(f"line {n}" for n in range(40)) + "\n\n"
    tail = output_tail(text)
    assert tail.splitlines() == [f"  | line {n}" for n in range(40 - TAIL_LINES, 40)]
    assert output_tail("one\ntwo\n", lines=1) == "  | two"


def test_nothing_printed_gives_nothing() -> None:
    assert output_tail("") == ""
    assert output_tail("\n  \n") == ""


def test_one_line_as_it_is_shown() -> None:
    assert output_line("error: x") == "  | error: x"
