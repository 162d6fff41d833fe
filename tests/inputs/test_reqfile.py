"""Requirements files: pip's syntax as pip reads it, and a clear error for what cannot be deployed.

Every test writes real files to tmp_path (wheels and sdists included) and reads them back.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.dists import make_sdist, make_wheel
from vendorer.errors import ConfigError
from vendorer.inputs.requirements import RequirementsFileError, parse_requirements

SHA_A = "a" * 64
SHA_B = "b" * 64


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _texts(path: Path) -> list[str]:
    return [str(line.requirement) for line in parse_requirements(path).requirements]


def _problems(path: Path, environ: dict[str, str] | None = None) -> tuple[str, ...]:
    with pytest.raises(RequirementsFileError) as caught:
        parse_requirements(path, environ=environ or {})
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 2
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def _problem(path: Path, text: str) -> str:
    """The one problem of a requirements.txt holding `text`."""
    (problem,) = _problems(_write(path / "requirements.txt", text))
    return problem


# Syntax


def test_names_specifiers_extras_and_markers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        'flask[async,dotenv] >= 2.0, < 3 ; python_version >= "3.6"\n'
        "Django==3.2.*\n"
        "colorama; platform_system == 'Windows'\n",
    )
    first, second, third = parse_requirements(path).requirements
    assert first.requirement.name == "flask"
    assert first.requirement.extras == {"async", "dotenv"}
    assert str(first.requirement.specifier) == "<3,>=2.0"
    assert str(first.requirement.marker) == 'python_version >= "3.6"'
    assert str(second.requirement) == "Django==3.2.*" and second.path is None
    assert str(third.requirement.marker) == 'platform_system == "Windows"'
    assert [line.source for line in (first, second, third)] == [
        "requirements.txt:1",
        "requirements.txt:2",
        "requirements.txt:3",
    ]
    assert all(line.hashes == () for line in (first, second, third))


def test_comments_and_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "# a whole-line comment\n"
        "\n"
        "   \n"
        "    # an indented comment\n"
        "flask>=2.0  # after whitespace: a comment\n"
        "https://files.example/bare-2.0-py3-none-any.whl#sha256=" + SHA_A + "\n"
        "requests\t# after a tab too\n",
    )
    parsed = parse_requirements(path)
    assert [str(line.requirement) for line in parsed.requirements] == [
        "flask>=2.0",
        f"bare @ https://files.example/bare-2.0-py3-none-any.whl#sha256={SHA_A}",
        "requests",
    ]
    assert [line.source for line in parsed.requirements] == [
        "requirements.txt:5",
        "requirements.txt:6",
        "requirements.txt:7",
    ]


def test_line_continuations_join_as_pip_joins_them(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "fla\\\n"  # pip joins without adding a space
        "sk\n"
        "django \\\n"
        "    >=3.2,<4\n"
        "click \\\n"
        "# a comment line ends the continuation and is dropped\n"
        "requests \\\n",  # a continuation at the end of the file
    )
    parsed = parse_requirements(path)
    assert [str(line.requirement) for line in parsed.requirements] == [
        "flask",
        "django<4,>=3.2",
        "click",
        "requests",
    ]
    assert [line.source for line in parsed.requirements] == [
        "requirements.txt:1",
        "requirements.txt:3",
        "requirements.txt:5",
        "requirements.txt:7",
    ]


def test_environment_variables_expand_only_as_pip_expands_them(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "-i https://${INDEX_USER}:${INDEX_TOKEN}@host/simple/\n"
        "--extra-index-url https://extra/${UNSET}/ --extra-index-url https://more/${EMPTY}/\n"
        "-f https://$INDEX_USER/${lower}/\n"
        "flask==${FLASK_VERSION}\n",
    )
    environ = {
        "INDEX_USER": "me",
        "INDEX_TOKEN": "t0k",
        "EMPTY": "",
        "lower": "no",
        "FLASK_VERSION": "2.0.3",
    }
    parsed = parse_requirements(path, environ=environ)
    assert parsed.index_url == "https://me:t0k@host/simple/"
    # unset and empty variables stay as written, as pip leaves them (in credentials, they are
    # refused: tests/test_cli_lock.py)
    assert parsed.extra_index_urls == ("https://extra/${UNSET}/", "https://more/${EMPTY}/")
    # only the ${UPPER_CASE} form is expanded
    assert parsed.find_links == ("https://$INDEX_USER/${lower}/",)
    assert [str(line.requirement) for line in parsed.requirements] == ["flask==2.0.3"]


def test_environment_variables_come_from_the_process_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VENDORER_TEST_PIN", "1.2.3")
    path = _write(tmp_path / "requirements.txt", "pkg==${VENDORER_TEST_PIN}\n")
    assert _texts(path) == ["pkg==1.2.3"]


def test_an_expanded_secret_is_not_shown_in_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "private @ https://me:${INDEX_TOKEN}@host/files/private-1.0.tar.gz >= 1\n",
    )
    (problem,) = _problems(path, environ={"INDEX_TOKEN": "s3cr3t-t0ken"})
    assert problem.startswith("requirements.txt:1: ")
    assert "is not a valid requirement" in problem
    assert "s3cr3t-t0ken" not in problem and "${INDEX_TOKEN}" in problem


def test_nested_requirements_and_constraints_relative_to_their_file(tmp_path: Path) -> None:
    _write(
        tmp_path / "deploy" / "base.txt", "flask\n-c constraints.txt\n--requirement=../extra.txt\n"
    )
    _write(tmp_path / "deploy" / "constraints.txt", "click<8.1\n")
    _write(tmp_path / "extra.txt", "gunicorn\n")
    top = _write(tmp_path / "requirements.txt", "-r deploy/base.txt\nrequests\n")
    parsed = parse_requirements(top)
    assert [str(r.requirement) for r in parsed.requirements] == ["flask", "gunicorn", "requests"]
    assert [r.source for r in parsed.requirements] == [
        "deploy/base.txt:1",
        "extra.txt:1",
        "requirements.txt:2",
    ]
    assert [str(c.requirement) for c in parsed.constraints] == ["click<8.1"]
    assert parsed.constraints[0].source == "deploy/constraints.txt:1"
    assert parsed.files == (
        top,
        tmp_path / "deploy" / "base.txt",
        tmp_path / "deploy" / "constraints.txt",
        tmp_path / "extra.txt",
    )


def test_an_include_is_read_each_time_it_is_named_and_listed_once(tmp_path: Path) -> None:
    _write(tmp_path / "common.txt", "six\n")
    _write(tmp_path / "a.txt", "-r common.txt\n")
    _write(tmp_path / "b.txt", "-r common.txt\n")
    top = _write(tmp_path / "requirements.txt", "-r a.txt\n-r b.txt\n")
    parsed = parse_requirements(top)
    assert [line.source for line in parsed.requirements] == ["common.txt:1", "common.txt:1"]
    assert [path.name for path in parsed.files] == [
        "requirements.txt",
        "a.txt",
        "common.txt",
        "b.txt",
    ]


def test_a_chain_of_includes_deeper_than_python_recursion_is_read_in_order(
    tmp_path: Path,
) -> None:
    """pip sets no depth limit; neither does vendorer (it read 250 levels by recursion, then
    died with RecursionError)."""
    depth = 3000  # three times the interpreter's recursion limit
    for level in range(depth):
        _write(tmp_path / f"r{level}.txt", f"a{level}\n-r r{level + 1}.txt\n-i https://i{level}/\n")
    _write(tmp_path / f"r{depth}.txt", "last\n")
    parsed = parse_requirements(tmp_path / "r0.txt")
    names = [line.requirement.name for line in parsed.requirements]
    assert names == [f"a{level}" for level in range(depth)] + ["last"]
    assert parsed.requirements[-1].source == f"r{depth}.txt:1"
    assert parsed.index_url == "https://i0/"  # the includer's line after the include is the last
    assert len(parsed.files) == depth + 1


def test_a_cycle_at_the_end_of_a_deep_chain_is_caught(tmp_path: Path) -> None:
    depth = 1500
    for level in range(depth):
        _write(tmp_path / f"r{level}.txt", f"-r r{level + 1}.txt\n")
    _write(tmp_path / f"r{depth}.txt", "-r r0.txt\n")
    (problem,) = _problems(tmp_path / "r0.txt")
    assert problem.startswith(f"r{depth}.txt:1: -r r0.txt: the files include each other (r0.txt")
    assert problem.endswith(f"r{depth}.txt -> r0.txt); remove one of these includes")


def test_a_requirement_file_named_by_a_file_url(tmp_path: Path) -> None:
    base = _write(tmp_path / "elsewhere" / "base.txt", "flask\n")
    top = _write(tmp_path / "requirements.txt", f"-r {base.as_uri()}\n")
    assert _texts(top) == ["flask"]


def test_r_inside_a_constraints_file_adds_requirements_as_in_pip(tmp_path: Path) -> None:
    _write(tmp_path / "constraints.txt", "click<8.1\n-r more.txt\n")
    _write(tmp_path / "more.txt", "itsdangerous\n")
    top = _write(tmp_path / "requirements.txt", "flask\n-c constraints.txt\n")
    parsed = parse_requirements(top)
    assert [str(r.requirement) for r in parsed.requirements] == ["flask", "itsdangerous"]
    assert [str(c.requirement) for c in parsed.constraints] == ["click<8.1"]


def test_index_and_find_links_options(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    _write(tmp_path / "deploy" / "base.txt", "-f ../wheels\n--find-links=local\n")
    path = _write(
        tmp_path / "requirements.txt",
        "--index-url https://first.example/simple/\n"
        "-i https://index.example/simple/\n"  # the last one wins, as in pip
        "--extra-index-url=https://extra.example/simple/\n"
        "--extra-index-url https://extra.example/simple/\n"
        "--extra-index https://abbreviated.example/simple/\n"  # optparse prefixes, as pip
        "-f wheels\n"
        "--find-links https://links.example/\n"
        "-r deploy/base.txt\n"
        "--no-index\n"
        "requests\n",
    )
    parsed = parse_requirements(path)
    assert parsed.index_url == "https://index.example/simple/"
    assert parsed.extra_index_urls == (
        "https://extra.example/simple/",
        "https://abbreviated.example/simple/",
    )
    assert parsed.find_links == (
        str(tmp_path / "wheels"),
        "https://links.example/",
        str(tmp_path / "deploy" / "local"),
    )
    assert parsed.no_index
    assert not parsed.pre


def test_short_options_with_attached_values_and_the_pypi_url_alias(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.txt", "-ihttps://short.example/simple/\n")
    assert parse_requirements(path).index_url == "https://short.example/simple/"
    path.write_text("--pypi-url https://alias.example/simple/\n", encoding="utf-8")
    assert parse_requirements(path).index_url == "https://alias.example/simple/"


def test_several_options_on_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.txt", "--pre --no-index -i https://x.example/simple/\nflask\n")
    parsed = parse_requirements(path)
    assert parsed.pre and parsed.no_index and parsed.index_url == "https://x.example/simple/"


def test_accepted_but_irrelevant_options_are_listed(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "--pre\n"
        "--prefer-binary\n"
        "--trusted-host index.example\n"
        "--require-hashes\n"
        "--use-feature=truststore\n"
        "requests\n",
    )
    parsed = parse_requirements(path)
    assert parsed.pre
    assert parsed.ignored_options == (
        "requirements.txt:2: --prefer-binary",
        "requirements.txt:3: --trusted-host",
        "requirements.txt:4: --require-hashes",
        "requirements.txt:5: --use-feature",
    )


@pytest.mark.parametrize(
    ("lines", "only_binary", "no_binary"),
    [
        (["--only-binary :all:"], {":all:"}, set()),
        (["--only-binary=:all:", "--only-binary=:none:"], set(), set()),
        (["--no-binary Pure_Pkg,other"], set(), {"pure-pkg", "other"}),
        # named projects after :all: are the exceptions to it, as in pip
        (["--only-binary :all:", "--no-binary Pure_Pkg"], {":all:"}, {"pure-pkg"}),
        # a name moves from one set to the other
        (["--no-binary lxml", "--only-binary LXML"], {"lxml"}, set()),
        # :all: clears the other set; names after :all: on the same value add nothing
        (["--no-binary a", "--only-binary :all:,b"], {":all:"}, set()),
        # ... unless a :none: follows
        (["--only-binary :all:,:none:,b"], {"b"}, set()),
        (["--no-binary :all:", "--only-binary c"], {"c"}, {":all:"}),
    ],
)
def test_only_binary_and_no_binary_as_pip_combines_them(
    tmp_path: Path, lines: list[str], only_binary: set[str], no_binary: set[str]
) -> None:
    path = _write(tmp_path / "r.txt", "\n".join([*lines, "x"]) + "\n")
    parsed = parse_requirements(path)
    assert parsed.only_binary == only_binary
    assert parsed.no_binary == no_binary


def test_hashes_after_a_requirement(tmp_path: Path) -> None:
    sha512 = "C" * 128
    path = _write(
        tmp_path / "requirements.txt",
        f"click==8.0.4 --hash=sha256:{SHA_A} --hash sha256:{SHA_B.upper()}\n"
        f'colorama==0.4.6 ; os_name == "nt" --hash=sha512:{sha512}\n',
    )
    click, colorama = parse_requirements(path).requirements
    assert click.hashes == (f"sha256:{SHA_A}", f"sha256:{SHA_B}")  # in file order, lower case
    assert colorama.hashes == (f"sha512:{sha512.lower()}",)
    assert str(colorama.requirement) == 'colorama==0.4.6; os_name == "nt"'


def test_direct_references(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "filepkg", "1.0")
    path = _write(
        tmp_path / "requirements.txt",
        "remote @ https://files.example/remote-1.0-py3-none-any.whl\n"
        "other[extra] @ https://files.example/other-2.0.tar.gz ; python_version >= '3'\n"
        f"filepkg @ {wheel.as_uri()}\n"
        "FilePkg @ file:dist/filepkg-1.0-py3-none-any.whl\n",  # relative to this file
    )
    remote, other, local, relative = parse_requirements(path).requirements
    assert remote.requirement.url == "https://files.example/remote-1.0-py3-none-any.whl"
    assert remote.path is None
    assert other.requirement.extras == {"extra"} and other.requirement.marker is not None
    assert local.path == wheel and local.requirement.url == wheel.as_uri()
    assert relative.path == wheel and relative.requirement.url == wheel.as_uri()
    assert relative.requirement.name == "FilePkg"


def test_bare_local_wheel_and_sdist_paths_relative_to_their_file(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "Local_Pkg", "1.0")
    sdist = make_sdist(tmp_path / "dist", "localsdist", "2.0")
    path = _write(
        tmp_path / "deploy" / "requirements.txt",
        "../dist/local_pkg-1.0-py3-none-any.whl\n"
        "../dist/localsdist-2.0.tar.gz[fast] ; python_version >= '3'\n"
        "..\\dist\\localsdist-2.0.tar.gz\n"  # written on Windows
        f"{wheel}\n",  # absolute
    )
    lines = parse_requirements(path).requirements
    assert [line.path for line in lines] == [wheel, sdist, sdist, wheel]
    assert str(lines[0].requirement) == f"local-pkg @ {wheel.as_uri()}"
    assert lines[1].requirement.name == "localsdist"
    assert lines[1].requirement.extras == {"fast"}
    assert str(lines[1].requirement.marker) == 'python_version >= "3"'
    assert lines[1].requirement.url == sdist.as_uri()


def test_bare_urls_to_a_wheel_or_an_sdist(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "byurl", "3.0")
    path = _write(
        tmp_path / "requirements.txt",
        "https://files.example/pkg%2Dx/Bare_Name-2.0-cp36-cp36m-win_amd64.whl\n"
        "http://files.example/sdistpkg-1.5.tar.gz; sys_platform == 'win32'\n"
        f"{wheel.as_uri()}\n",
    )
    bare, sdist, local = parse_requirements(path).requirements
    assert bare.requirement.name == "bare-name" and bare.path is None
    assert bare.requirement.url == (
        "https://files.example/pkg%2Dx/Bare_Name-2.0-cp36-cp36m-win_amd64.whl"
    )
    assert sdist.requirement.name == "sdistpkg" and sdist.requirement.marker is not None
    assert local.requirement.name == "byurl" and local.path == wheel


def test_hashes_on_a_local_path(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "hashed", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    path = _write(tmp_path / "r.txt", f"./{wheel.name} --hash=sha256:{digest}\n")
    (line,) = parse_requirements(path).requirements
    assert line.path == wheel and line.hashes == (f"sha256:{digest}",)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-16", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-32", b"")],
    ids=["utf-16 from PowerShell", "utf-8 with a BOM", "utf-32"],
)
def test_files_with_a_byte_order_mark(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(prefix + "flask==2.0.3\r\nclick==8.0.4\r\n".encode(encoding))
    assert _texts(path) == ["flask==2.0.3", "click==8.0.4"]


def test_a_pep_263_coding_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes("# -*- coding: latin-1 -*-\n# Zürich\nflask\n".encode("latin-1"))
    assert _texts(path) == ["flask"]


def test_a_pip_compile_output(tmp_path: Path) -> None:
    """What `pip-compile --generate-hashes` writes, read whole."""

    def sha(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    path = _write(
        tmp_path / "requirements.txt",
        "#\n"
        "# This file is autogenerated by pip-compile with Python 3.11\n"
        "# by the following command:\n"
        "#\n"
        "#    pip-compile --generate-hashes --output-file=requirements.txt requirements.in\n"
        "#\n"
        "--index-url https://pypi.example/simple\n"
        "--extra-index-url https://mirror.example/simple\n"
        "--trusted-host pypi.example\n"
        "\n"
        "click==8.0.4 \\\n"
        f"    --hash=sha256:{sha('click-a')} \\\n"
        f"    --hash=sha256:{sha('click-b')}\n"
        "    # via flask\n"
        'colorama==0.4.6 ; platform_system == "Windows" \\\n'
        f"    --hash=sha256:{sha('colorama')}\n"
        "    # via click\n"
        "flask[async]==2.0.3 \\\n"
        f"    --hash=sha256:{sha('flask')}\n"
        "    # via -r requirements.in\n"
        "itsdangerous==2.0.1 \\\n"
        f"    --hash=sha256:{sha('itsdangerous')}\n"
        "    # via\n"
        "    #   -r requirements.in\n"
        "    #   flask\n"
        "\n"
        "# The following packages are considered to be unsafe in a requirements file:\n"
        "# setuptools\n",
    )
    parsed = parse_requirements(path)
    assert [str(line.requirement) for line in parsed.requirements] == [
        "click==8.0.4",
        'colorama==0.4.6; platform_system == "Windows"',
        "flask[async]==2.0.3",
        "itsdangerous==2.0.1",
    ]
    assert [line.source for line in parsed.requirements] == [
        "requirements.txt:11",
        "requirements.txt:15",
        "requirements.txt:18",
        "requirements.txt:21",
    ]
    assert parsed.requirements[0].hashes == (
        f"sha256:{sha('click-a')}",
        f"sha256:{sha('click-b')}",
    )
    assert [len(line.hashes) for line in parsed.requirements] == [2, 1, 1, 1]
    assert parsed.index_url == "https://pypi.example/simple"
    assert parsed.extra_index_urls == ("https://mirror.example/simple",)
    assert parsed.ignored_options == ("requirements.txt:9: --trusted-host",)
    assert parsed.files == (path,)


def test_a_pip_tools_requirements_in(tmp_path: Path) -> None:
    _write(tmp_path / "constraints.txt", "click<8.1\n")
    path = _write(
        tmp_path / "requirements.in",
        "-c constraints.txt\nflask[async]>=2.0\ngunicorn ; sys_platform != 'win32'\n",
    )
    parsed = parse_requirements(path)
    assert [str(line.requirement) for line in parsed.requirements] == [
        "flask[async]>=2.0",
        'gunicorn; sys_platform != "win32"',
    ]
    assert [line.source for line in parsed.constraints] == ["constraints.txt:1"]


# Errors: each names its file and line, and the next step


def test_editable_requirements_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "requirements.txt", "-e ./myproject\n--editable=git+https://g/x\n")
    first, second = _problems(path)
    assert first.startswith("requirements.txt:1: -e ./myproject: editable requirements cannot")
    assert "build a wheel" in first and "name its path" in first
    assert second.startswith("requirements.txt:2: -e git+https://g/x: editable")


@pytest.mark.parametrize(
    "line",
    [
        "git+https://github.com/x/y.git#egg=y",
        "y @ git+https://github.com/x/y.git@v1.0",
        "hg+https://hg.example/y#egg=y",
        "y @ svn+https://svn.example/y/trunk",
        "git://github.com/x/y.git#egg=y",
    ],
)
def test_version_control_urls_are_refused(tmp_path: Path, line: str) -> None:
    problem = _problem(tmp_path, f"{line}\n")
    assert problem.startswith(f"requirements.txt:1: {line!r}: version-control requirements")
    assert "pin a released version" in problem and "build a wheel" in problem


def test_unknown_options_are_refused(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "--frobnicate\n")
    assert problem.startswith("requirements.txt:1: unknown option --frobnicate; remove it")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-i\n", "requirements.txt:1: -i option requires 1 argument; fix the option"),
        ("--pre=yes\n", "requirements.txt:1: --pre option does not take a value"),
        ("--no https://x\n", "requirements.txt:1: ambiguous option: --no (--no-binary, --no-index"),
        ("-r a.txt b.txt\n", "requirements.txt:1: unexpected 'b.txt' among the options"),
        ("-f 'wheels\n", "requirements.txt:1: cannot split the options (No closing quotation)"),
        ("--only-binary --pre\n", "requirements.txt:1: --only-binary needs a value"),
    ],
)
def test_malformed_options(tmp_path: Path, text: str, message: str) -> None:
    assert _problem(tmp_path, text).startswith(message)


def test_a_malformed_requirement_shows_the_line_and_packaging_s_message(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "flask\ndjango >= = 3\n")
    lines = problem.splitlines()
    assert lines[0].startswith(
        "requirements.txt:2: 'django >= = 3' is not a valid requirement: Expected "
    )
    assert lines[1] == "    django >= = 3"  # packaging's own pointer to the fault
    assert lines[2].strip().endswith("^")
    assert "PEP 508" in lines[-1]


def test_a_missing_included_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "requirements.txt", "flask\n-r missing.txt\n-c nope/constraints.txt\n")
    first, second = _problems(path)
    assert first == (
        f"requirements.txt:2: -r missing.txt: no such file ({tmp_path / 'missing.txt'}); paths "
        "after -r and -c are relative to the file that names them"
    )
    assert second.startswith("requirements.txt:3: -c nope/constraints.txt: no such file")


def test_a_missing_top_file(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path / "requirements.txt")
    assert problem.startswith(f"{tmp_path / 'requirements.txt'}: no such requirements file")


def test_an_included_folder_or_undecodable_file(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfeflask\n\x00\xd8")  # UTF-16 BOM, then broken
    (tmp_path / "latin.txt").write_bytes("# Zürich\nflask\n".encode("latin-1"))
    path = _write(tmp_path / "requirements.txt", "-r folder\n-r latin.txt\n")
    folder, latin = _problems(path)
    assert folder.startswith("requirements.txt:1: ") and "is a folder, not a requirements" in folder
    assert latin.startswith("requirements.txt:2: cannot decode") and "save it as UTF-8" in latin


def test_included_urls_are_refused(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "-r https://example.com/req.txt\n")
    assert problem.startswith(
        "requirements.txt:1: -r https://example.com/req.txt: vendorer reads requirement files "
        "from disk only"
    )
    assert "download the file" in problem


def test_include_cycles_are_caught(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "flask\n-r b.txt\n")
    _write(tmp_path / "b.txt", "-r ./a.txt\n")
    (problem,) = _problems(tmp_path / "a.txt")
    assert problem == (
        "b.txt:1: -r ./a.txt: the files include each other (a.txt -> b.txt -> a.txt); remove one "
        "of these includes"
    )
    (itself,) = _problems(_write(tmp_path / "self.txt", "-c self.txt\n"))
    assert itself.startswith("self.txt:1: -c self.txt: the files include each other")


def test_options_after_a_requirement(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "flask --pre\n"
        "lxml --config-settings=--build-option=--static\n"
        "pkg --global-option=build_ext\n"
        "other --install-option=--prefix=/x\n",
    )
    pre, settings, global_option, install_option = _problems(path)
    assert pre == (
        "requirements.txt:1: --pre has no effect after a requirement (pip ignores it there); "
        "put it on a line of its own"
    )
    assert settings.startswith("requirements.txt:2: --config-settings: vendorer builds sdists")
    assert "build the wheel yourself" in settings
    assert global_option.startswith("requirements.txt:3: --global-option: vendorer builds")
    assert install_option.startswith("requirements.txt:4: --install-option: vendorer builds")


def test_a_hash_without_its_requirement(tmp_path: Path) -> None:
    problem = _problem(tmp_path, f"click==8.0.4\n    --hash=sha256:{SHA_A}\n")
    assert problem.startswith("requirements.txt:2: --hash without a requirement; end the")


@pytest.mark.parametrize("value", ["md5", f"md5:{'a' * 32}", "sha256:abc", f"sha256:{'g' * 64}"])
def test_bad_hashes(tmp_path: Path, value: str) -> None:
    problem = _problem(tmp_path, f"requests --hash={value}\n")
    assert problem == (
        f"requirements.txt:1: --hash {value!r} is not <algorithm>:<hex digest> with sha256, "
        "sha384 or sha512; copy it from `pip hash <file>`"
    )


def test_constraints_cannot_have_extras(tmp_path: Path) -> None:
    _write(tmp_path / "constraints.txt", "flask[async]<3\n")
    problem = _problem(tmp_path, "-c constraints.txt\nflask\n")
    assert problem.startswith(
        "constraints.txt:1: 'flask[async]<3': a constraint cannot have extras"
    )


def test_a_project_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "libs" / "mylib").mkdir(parents=True)
    problem = _problem(tmp_path, "./libs/mylib\n")
    assert problem.startswith("requirements.txt:1: './libs/mylib' is a project folder")
    assert "python -m build" in problem


def test_missing_local_files(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "./nowhere/pkg-1.0-py3-none-any.whl\n"
        "pkg-2.0.tar.gz\n"
        f"pkg @ {(tmp_path / 'pkg-3.0.tar.gz').as_uri()}\n",
    )
    wheel, sdist, url = _problems(path)
    assert wheel == (
        "requirements.txt:1: './nowhere/pkg-1.0-py3-none-any.whl': no such file "
        f"({tmp_path / 'nowhere' / 'pkg-1.0-py3-none-any.whl'}); paths are relative to the file "
        "that names them"
    )
    assert sdist.startswith("requirements.txt:2: 'pkg-2.0.tar.gz': no such file")
    assert url.startswith("requirements.txt:3: 'pkg @ file://") and "no such file" in url


def test_files_that_are_not_wheels_or_sdists(tmp_path: Path) -> None:
    (tmp_path / "pkg-1.0.tar.bz2").write_bytes(b"")
    (tmp_path / "not_a_wheel.whl").write_bytes(b"")
    path = _write(
        tmp_path / "requirements.txt",
        "./pkg-1.0.tar.bz2\n"
        "./not_a_wheel.whl\n"
        "https://files.example/download.zip\n"
        "urllib3 @ https://github.com/urllib3/urllib3/archive/refs/tags/1.26.8.zip\n",
    )
    bz2, bad_wheel, bare, archive = _problems(path)
    assert bz2.startswith("requirements.txt:1: './pkg-1.0.tar.bz2': 'pkg-1.0.tar.bz2' is not a ")
    assert "vendorer locks release files" in bz2
    assert bad_wheel.startswith("requirements.txt:2: './not_a_wheel.whl': Invalid wheel filename")
    assert "keep the file name the build gave it" in bad_wheel
    assert bare.startswith("requirements.txt:3: 'https://files.example/download.zip': ")
    assert archive.startswith("requirements.txt:4: 'urllib3 @ https://github.com/")


def test_a_direct_reference_to_another_project(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "flask @ https://files.example/django-3.2-py3-none-any.whl\n")
    assert problem == (
        "requirements.txt:1: 'flask @ https://files.example/django-3.2-py3-none-any.whl': the file "
        "is a distribution of django, not of flask; fix the name or the URL"
    )


def test_unsupported_urls(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "requirements.txt",
        "ftp://files.example/pkg-1.0.tar.gz\npkg @ ./dist/pkg-1.0.tar.gz\n",
    )
    ftp, relative = _problems(path)
    assert ftp.startswith("requirements.txt:1: 'ftp://files.example/pkg-1.0.tar.gz': ftp: URLs")
    assert relative.startswith(
        "requirements.txt:2: 'pkg @ ./dist/pkg-1.0.tar.gz': after @ write a URL"
    )


def test_release_control_options_of_newer_pips(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "--all-releases :all:\n")
    assert problem.startswith("requirements.txt:1: --all-releases is not supported")
    assert "use --pre" in problem


def test_every_bad_line_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    _write(tmp_path / "deploy" / "base.txt", "ok\nbad line here\n")
    path = _write(
        tmp_path / "requirements.txt",
        "flask\n-e ./myproject\n-r deploy/base.txt\n--frobnicate\ndjango >= = 3\n",
    )
    problems = _problems(path)
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "requirements.txt:2",
        "deploy/base.txt:2",
        "requirements.txt:4",
        "requirements.txt:5",
    ]
    with pytest.raises(ConfigError) as caught:
        parse_requirements(path)
    assert str(caught.value).startswith("requirements.txt:2: -e ./myproject: editable")


@pytest.mark.parametrize(
    "line",
    [
        "[",
        "pkg[",
        "pkg @",
        "pkg ; os_name ===",
        "@ https://x/y-1.0.tar.gz",
        "pkg==1 ; extra == 'x' --hash",
        "https://",
        "file:",
        "./",
        "..\\",
        "pkg @ file://host/share/pkg-1.0.tar.gz#frag ; !",
        "pkg @ https://x/pkg-1.0.whl;python_version>'3'",
        "-",
        "--hash",
        "-r",
        "-e",
        "a b c",
        "flask#not-a-comment",
        "\x00",
    ],
)
def test_odd_lines_give_a_config_error_and_nothing_else(tmp_path: Path, line: str) -> None:
    problem = _problem(tmp_path, line + "\n")
    assert problem.startswith("requirements.txt:1: ")


def test_paths_are_relative_to_a_linked_file_where_the_link_is_as_in_pip(tmp_path: Path) -> None:
    real = _write(tmp_path / "shared" / "requirements.txt", "-r base.txt\n")
    _write(tmp_path / "app" / "base.txt", "flask\n")
    link = tmp_path / "app" / "requirements.txt"
    link.symlink_to(real)
    parsed = parse_requirements(link)
    assert [line.source for line in parsed.requirements] == ["base.txt:1"]
    assert parsed.files == (link, tmp_path / "app" / "base.txt")
    (tmp_path / "app" / "again.txt").symlink_to(link)
    link.unlink()
    _write(link, "-r again.txt\n")
    (problem,) = _problems(link)
    assert problem.startswith("requirements.txt:1: -r again.txt: the files include each other")
