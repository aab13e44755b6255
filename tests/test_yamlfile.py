"""roundup's YAML: YAML 1.2 meanings, refusals with one clear line, lines, and the writer."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from roundup.yamlfile import (
    BLOCK,
    FLOW,
    TEXT,
    Place,
    YamlError,
    YamlList,
    YamlMapping,
    indented,
    load,
    plain_value,
    reads_back_as_text,
    write_scalars,
)

# --- reading: what a plain scalar means ----------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        # YAML 1.1 booleans are text in 1.2
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("N", "N"),
        ("Yes", "Yes"),
        # the 1.2 booleans
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        ("tRUE", "tRUE"),
        # null
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("~", None),
        ("", None),
        ("nULL", "nULL"),
        # integers: decimal, 0o octal, 0x hexadecimal; a leading 0 is still decimal
        ("12", 12),
        ("-12", -12),
        ("+12", 12),
        ("0", 0),
        ("017", 17),
        ("0o17", 15),
        ("0x1F", 31),
        ("0x1f", 31),
        ("0X1F", "0X1F"),
        ("0o8", "0o8"),
        ("0b101", "0b101"),  # binary is 1.1 only
        ("1_000", "1_000"),  # so are underscores
        ("1:20", "1:20"),  # and sexagesimal numbers
        ("190:20:30", "190:20:30"),
        # floats
        ("1.5", 1.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("+12.5e+2", 1250.0),
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        ("+.INF", math.inf),
        ("1.2.3", "1.2.3"),
        ("e3", "e3"),
        (".", "."),
        # no dates, no merge or value keys
        ("2015-08-12", "2015-08-12"),
        ("2015-08-12T09:30:00-04:00", "2015-08-12T09:30:00-04:00"),
        ("<<", "<<"),
        ("=", "="),
        ("no problem", "no problem"),
        ("12 monkeys", "12 monkeys"),
    ],
)
def test_plain_scalars_mean_what_yaml_1_2_says(written: str, value: Any) -> None:
    """The core schema of YAML 1.2, in the value read and in its type."""
    got = load(f"k: {written}\n")["k"]
    assert got == value and type(got) is type(value)
    assert plain_value(written) == value if written else plain_value(written) is None


def test_not_a_number_is_a_float() -> None:
    assert all(math.isnan(load(f"k: {nan}\n")["k"]) for nan in (".nan", ".NaN", ".NAN"))


@pytest.mark.parametrize("written", ["'yes'", '"0o17"', "'null'", "'12'", "|\n  true\n", '""'])
def test_quoted_and_block_scalars_are_text(written: str) -> None:
    assert isinstance(load(f"k: {written}\n")["k"], str)


def test_keys_are_resolved_as_well() -> None:
    """A key is a scalar like any other (roundup's checks then call it unknown)."""
    assert list(load("12: a\nyes: b\n")) == [12, "yes"]


# --- reading: refusals ------------------------------------------------------------------------

ALIASES = "roundup's files have no anchors or aliases"
TAGS = "roundup's files have no tags (remove it; quotes make a value text)"
KEY = "a list or mapping as a key: roundup's keys are names (write the key as text)"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        pytest.param(
            "a: &x 1\nb: *x\n",
            1,
            f"anchor &x: {ALIASES} (remove it, and write out in full every value that refers "
            "to it)",
            id="anchor on a scalar",
        ),
        pytest.param(
            "a:\n  - 1\nb: &list\n  - 2\n",
            3,
            f"anchor &list: {ALIASES} (remove it, and write out in full every value that "
            "refers to it)",
            id="anchor on a list",
        ),
        pytest.param(
            "base: &b {x: 1}\n",
            1,
            f"anchor &b: {ALIASES} (remove it, and write out in full every value that refers "
            "to it)",
            id="anchor on a mapping",
        ),
        pytest.param(
            "a: 1\nb: *nowhere\n",
            2,
            f"alias *nowhere: {ALIASES} (write the value out in full)",
            id="alias",
        ),
        pytest.param(
            "a: 1\nb:\n  <<: *base\n",
            3,
            f"alias *base: {ALIASES} (write the value out in full)",
            id="merge key",
        ),
        pytest.param("a: !!str 12\n", 1, f"tag !!str: {TAGS}", id="core tag"),
        pytest.param("a: !!binary aGk=\n", 1, f"tag !!binary: {TAGS}", id="binary tag"),
        pytest.param("a: !mine x\n", 1, f"tag !mine: {TAGS}", id="local tag"),
        pytest.param("a: ! x\n", 1, f"tag !: {TAGS}", id="non-specific tag"),
        pytest.param("a: !!map {}\n", 1, f"tag !!map: {TAGS}", id="tag on a mapping"),
        pytest.param("a:\n- !!seq []\n", 2, f"tag !!seq: {TAGS}", id="tag on a list"),
        pytest.param(
            "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
            3,
            f"tag tag:example.com,2000:x: {TAGS}",
            id="declared tag",
        ),
        pytest.param("[a, b]: 1\n", 1, KEY, id="list as a key"),
        pytest.param("a: 1\n{b: 1}: 2\n", 2, KEY, id="mapping as a key"),
        pytest.param("a: 1\n? - b\n: 2\n", 2, KEY, id="explicit complex key"),
        pytest.param("a:\n  b: [{[c]: 1}]\n", 2, KEY, id="nested flow key"),
        pytest.param(
            "a: 1\nb: 2\na: 3\n",
            3,
            "a: given twice in one mapping (keep one; the other is on line 1)",
            id="duplicate key",
        ),
        pytest.param(
            "a: 1\n---\nb: 2\n",
            2,
            "a second YAML document: the file holds one (remove this '---' and what follows "
            "it, or merge the two)",
            id="second document",
        ),
        pytest.param(
            "%YAML 1.1\n---\na: yes\n",
            1,
            "%YAML 1.1: roundup reads YAML 1.2 (remove the %YAML line)",
            id="YAML 1.1",
        ),
    ],
)
def test_refused_with_one_line(text: str, line: int, problem: str) -> None:
    """What roundup does not read is refused at its line, saying what to do."""
    with pytest.raises(YamlError) as caught:
        load(text)
    assert (caught.value.line, caught.value.problem) == (line, problem)
    assert caught.value.message(Path("f.yaml")) == f"f.yaml:{line}: {problem}"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Each level lists the previous one ``width`` times: width**levels leaves if expanded."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_its_first_anchor() -> None:
    """9**9 (387 million) strings if expanded; refused at line 1 before anything is built."""
    with pytest.raises(YamlError) as caught:
        load(alias_bomb())
    assert str(caught.value) == (
        f"<text>:1: anchor &a0: {ALIASES} (remove it, and write out in full every value "
        "that refers to it)"
    )


def test_syntax_errors_say_where() -> None:
    with pytest.raises(YamlError) as caught:
        load("a: [1, 2\nb: 3\n")
    assert (caught.value.line, caught.value.problem) == (
        2,
        "not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence "
        "started on line 1)",
    )


def test_control_characters_say_where() -> None:
    with pytest.raises(YamlError) as caught:
        load("a: é\nb: \x07\n")
    assert (caught.value.line, caught.value.problem) == (
        2,
        "not valid YAML: unacceptable character #x0007: control characters are not allowed",
    )


@pytest.mark.parametrize(
    ("text", "value"), [("", None), ("# only a comment\n", None), ("x\n", "x")]
)
def test_documents_without_a_mapping(text: str, value: Any) -> None:
    assert load(text) == value


# --- reading: lines ---------------------------------------------------------------------------


def test_every_key_value_and_item_knows_its_line() -> None:
    data = load(
        "# comment\n"
        "top:\n"
        "  name: x\n"
        "  list:\n"
        "    - a\n"
        "    - {b: 1}\n"
        "  note: |\n"
        "    two\n"
        "    lines\n"
        "  after:\n"
        "    1\n"
    )
    top = data["top"]
    assert isinstance(data, YamlMapping) and isinstance(top, YamlMapping)
    assert (data.line, data.key_line("top"), data.value_line("top")) == (2, 2, 3)
    assert [top.key_line(k) for k in top] == [3, 4, 7, 10]
    assert (top.value_line("list"), top.value_line("note"), top.value_line("after")) == (5, 7, 11)
    items = top["list"]
    assert isinstance(items, YamlList)
    assert (items.line, items.item_line(0), items.item_line(1), items.item_line(5)) == (5, 5, 6, 5)
    assert top.key_line("absent") == top.line == 3


# --- writing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("plain words", True),
        ("2015-W33", True),
        ("https://example.org/a?b=c", True),
        ("", False),
        ("yes", False),  # text in 1.2, a boolean in 1.1
        ("Off", False),
        ("n", False),
        ("null", False),
        ("true", False),
        ("12", False),
        ("0o17", False),
        ("017", False),
        ("1_000", False),
        ("0b1", False),
        ("1:20", False),
        ("1.5", False),
        ("1.2.3", False),
        (".inf", False),
        ("2015-08-12", False),
        ("2015-08-12T09:30:00-04:00", False),
        ("2015-8-1 9:30:00", False),
        ("<<", False),
        ("=", False),
        ("no problem", True),
        ("12 monkeys", True),
        ("yesterday", True),
    ],
)
def test_plain_only_when_every_yaml_reads_text(text: str, plain: bool) -> None:
    """Written plain only when YAML 1.2 and YAML 1.1 both read it back as this text."""
    assert reads_back_as_text(text) is plain


@pytest.mark.parametrize(
    ("text", "place", "written"),
    [
        ("plain words", BLOCK, "plain words"),
        ("yes", BLOCK, "'yes'"),
        ("", BLOCK, "''"),
        ("2015-08-12T09:30:00-04:00", FLOW, "'2015-08-12T09:30:00-04:00'"),
        ("Title: with a colon", BLOCK, "'Title: with a colon'"),
        ("Title: with a colon", FLOW, "'Title: with a colon'"),
        ("a, b", BLOCK, "a, b"),
        ("a, b", FLOW, "'a, b'"),
        ("it's", BLOCK, "it's"),
        ("it's: here", BLOCK, '"it\'s: here"'),
        ("- dash", BLOCK, "'- dash'"),
        ("# hash", BLOCK, "'# hash'"),
        ("emoji 🎉 stays", BLOCK, "emoji 🎉 stays"),
        ("🎉: emoji first", BLOCK, "'🎉: emoji first'"),
        ("tab\there", BLOCK, '"tab\\there"'),
        ("bell \x07", BLOCK, '"bell \\a"'),
        ("two\nlines", TEXT, "|-\n  two\n  lines"),
        ("ends with a break\n", TEXT, "|\n  ends with a break"),
        ("two breaks\n\n", TEXT, "|+\n  two breaks\n"),
        ("  indented\nblock", TEXT, "|2-\n    indented\n  block"),
        ("🎉\nparty", TEXT, "|-\n  🎉\n  party"),
        ("two\nlines", BLOCK, "'two\n\n  lines'"),
    ],
)
def test_libyaml_writes_each_string(text: str, place: Place, written: str) -> None:
    assert write_scalars([(text, place)]) == [written]


def test_indented_moves_continuation_lines_only() -> None:
    assert indented("|-\n  a\n\n  b", 8) == "|-\n          a\n\n          b"
    assert indented("plain", 8) == "plain"


ATOMS = [
    "a", "Z", " ", "  ", ":", ": ", " :", "#", " #", "-", "- ", "?", ",", "[", "]", "{", "}",
    "&", "*", "!", "|", ">", "'", '"', "%", "@", "`", "\\", "\n", "\n\n", "\t", "\x85",
    "\xa0", "\u2028", "\ufeff", "é", "…", "—", "😀", "🎉", "\ue000", "true", "no", "yes",
    "null", "~", "1", "0", "12", "-1", "1.5", "1e3", "0x1F", "0o7", ".inf", "2015-08-12",
    "2015-08-12T09:30:00-04:00", "=", "<<", "---", "...", "http://x.org/a?b=c#d", "1_000",
    "1:20", " \n", "\n ", "x\n", "\u200b", "\x07", "\r", "\r\n",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_what_is_written_reads_back(seed: int) -> None:
    """Random awkward strings, in every place and at several indentations, read back."""
    rnd = random.Random(seed)
    texts = ["".join(rnd.choice(ATOMS) for _ in range(rnd.randint(0, 6))) for _ in range(300)]
    places: list[Place] = [BLOCK, TEXT, FLOW]
    requests = [(text, rnd.choice(places)) for text in texts]
    for (text, place), piece in zip(requests, write_scalars(requests), strict=True):
        indent = rnd.choice([0, 2, 8])
        pad = " " * indent
        if place == FLOW:
            document = f"{pad}k: [{indented(piece, indent)}, x]\n"
            assert load(document)["k"] == [text, "x"], (text, document)
        else:
            document = f"{pad}k: {indented(piece, indent)}\n{pad}after: 1\n"
            assert load(document) == {"k": text, "after": 1}, (text, document)
