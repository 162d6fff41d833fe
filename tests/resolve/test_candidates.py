"""Pure rules of file choice: pip's binary options and how rejections are summarized."""

from __future__ import annotations

from packaging.version import Version

from vendorer.resolve.candidates import FilePolicy, Rejection, summarize


def test_binary_options_follow_pip() -> None:
    everything_binary = FilePolicy(only_binary=frozenset({":all:"}), no_binary=frozenset({"pure"}))
    assert not everything_binary.sdists_allowed("lxml")
    assert everything_binary.wheels_allowed("lxml")
    assert everything_binary.sdists_allowed("pure") and not everything_binary.wheels_allowed("pure")
    default = FilePolicy()
    assert default.wheels_allowed("x") and default.sdists_allowed("x")


def test_runs_of_the_same_reason_are_one_line() -> None:
    rejections = [
        Rejection(version=Version(v), reason=r)
        for v, r in [("3.1", "A"), ("3.0", "A"), ("2.5", "B"), ("2.0", "A")]
    ]
    assert summarize(rejections) == ["3.0 to 3.1 (2 versions): A", "2.5: B", "2.0: A"]
    assert summarize([]) == []
