"""The parse stage: spans into the original text, for HCL and JSON alike."""

from __future__ import annotations

import pytest

from ecsfix import hclparse
from ecsfix.jsonscan import TemplateDirective, decode_string, scan_json
from ecsfix.model import Bool, EcsfixError, Heredoc, Lst, Num, Obj, Ref, SourceFile, Str


def src(text: str, name: str = "main.tf") -> SourceFile:
    return SourceFile(name, name, text)


def test_hcl_spans_point_into_the_original_text_with_crlf_and_bom() -> None:
    text = '\ufeffresource "aws_ecs_task_definition" "app" {\r\n  family = "app" # c\r\n}\r\n'
    blocks = hclparse.parse_file(src(text))
    (block,) = blocks
    assert block.labels == ["aws_ecs_task_definition", "app"]
    attr = block.attributes["family"]
    assert attr.span.text == 'family = "app"'
    assert attr.span.line == 2 and attr.span.column == 3
    assert isinstance(attr.value, Str) and attr.value.value == "app"


@pytest.mark.parametrize(
    ("expr", "kind", "check"),
    [
        ('"a\\"b\\n"', Str, lambda e: e.value == 'a"b\n'),
        ('"$${x}"', Str, lambda e: e.value == "${x}"),
        ('"x${var.y}z"', Str, lambda e: e.is_template and e.parts[1].source == "var.y"),
        ("var.db_password", Ref, lambda e: e.source == "var.db_password"),
        ("local.env[0]", Ref, lambda e: e.source == "local.env[0]"),
        ("each.value.pw", Ref, lambda e: e.source == "each.value.pw"),
        ("256", Num, lambda e: e.source == "256"),
        ("true", Bool, lambda e: e.value is True),
        ('{ "name" = "v", k: 2 }', Obj, lambda e: [i.key for i in e.items] == ["name", "k"]),
        ("[1, 2,]", Lst, lambda e: len(e.items) == 2),
        ("<<-EOT\n  [1]\n  EOT\n", Heredoc, lambda e: e.body_span.text == "  [1]\n" and e.strip),
    ],
)
def test_hcl_expressions(expr: str, kind: type, check) -> None:  # type: ignore[no-untyped-def]
    text = f"locals {{\n  x = {expr}\n}}\n"
    (block,) = hclparse.parse_file(src(text))
    value = block.attributes["x"].value
    assert isinstance(value, kind)
    assert check(value)
    assert text[value.span.start : value.span.end].strip() == expr.strip()


def test_hcl_error_names_the_line() -> None:
    with pytest.raises(EcsfixError) as err:
        hclparse.parse_file(src('resource "a" "b" {\n  x = \n}\n'))
    assert err.value.line in (2, 3)
    assert "not valid HCL" in err.value.message


def test_hcl_unicode_identifiers_are_read_as_terraform_reads_them() -> None:
    (block,) = hclparse.parse_file(src('locals {\n  überall = 1\n  ok = "ß"\n}\n'))
    assert list(block.attributes) == ["überall", "ok"]
    assert block.attributes["überall"].name_span.text == "überall"


def test_hcl_spans_are_characters_not_bytes_after_non_ascii_text() -> None:
    """tree-sitter counts bytes; spans count characters, also after 2-, 3- and 4-byte characters."""
    text = ('# é ✓ 🔑 comment\nlocals {\n  a = "ü🔑"  # ✓\n  b = "${var.x}é"\n  c = <<EOF\n🔑\nEOF\n'
            '  d = { "k🔑" = [1, "€"] }\n}\n')
    (block,) = hclparse.parse_file(src(text))
    for name, source in [("a", '"ü🔑"'), ("b", '"${var.x}é"'), ("c", "<<EOF\n🔑\nEOF\n"), ("d", '{ "k🔑" = [1, "€"] }')]:
        attr = block.attributes[name]
        assert attr.value.span.text == source
        assert attr.name_span.text == name
    b = block.attributes["b"].value
    assert isinstance(b, Str) and b.parts[1] == "é" and b.parts[0].span.text == "${var.x}"  # type: ignore[union-attr]
    d = block.attributes["d"].value
    assert isinstance(d, Obj) and d.items[0].key == "k🔑"
    assert isinstance(d.items[0].value, Lst) and d.items[0].value.items[1].span.text == '"€"'
    assert block.attributes["c"].value.body_span.text == "🔑\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize("literal", ["1e5", "2E-3", "1e+10"])
def test_hcl_tree_sitter_grammar_holes_fall_back_to_python_hcl2(literal: str) -> None:
    """tree-sitter-hcl needs a decimal point before an exponent; Terraform does not: such a file is
    read by python-hcl2 instead of being reported as invalid."""
    text = f'locals {{\n  n = {literal}\n  s = "x"\n}}\n'
    (block,) = hclparse.parse_file(src(text))
    n = block.attributes["n"].value
    assert isinstance(n, Num) and n.span.text == literal
    assert block.attributes["s"].value.span.text == '"x"'


@pytest.mark.parametrize("text", [
    'locals {\n  x = "${}"\n}\n',
    'locals {\n  x = <<EOF\na\nEOF # c\n}\n',
    'locals {\n  x = "%{ if var.a }b"\n}\n',
    'locals {\n  x = [1 2]\n}\n',
    # a line break outside brackets ends the attribute in Terraform; tree-sitter-hcl reads a space
    'locals {\n  family\n  = "app"\n}\n',
    'locals {\n  x =\n  "app"\n}\n',
    'locals {\n  x = a\n  .b\n}\n',
    'locals {\n  x = { a = 1, b\n  = 2 }\n}\n',
])
def test_hcl_what_terraform_rejects_is_an_error(text: str) -> None:
    with pytest.raises(EcsfixError) as err:
        hclparse.parse_file(src(text))
    assert err.value.line == 2 and "not valid HCL" in err.value.message


def test_json_spans_and_interpolations() -> None:
    text = '[{"name": "DB_PASSWORD", "value": "${var.pw}", "cpu": ${var.cpu}, "x": "a${b}c"}]'
    doc = scan_json(src(text, "c.json"))
    assert isinstance(doc, Lst)
    obj = doc.items[0]
    assert isinstance(obj, Obj)
    value = obj.get("value")
    assert isinstance(value, Str) and value.sole_interp() is not None
    assert value.span.text == '"${var.pw}"'
    cpu = obj.get("cpu")
    assert isinstance(cpu, Str) and cpu.sole_interp() is not None and cpu.parts[0].source == "var.cpu"
    assert obj.items[0].span.text == '"name": "DB_PASSWORD"'


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[\n  {"a": 1},\n]', 3),
        ('{\n "a": 1\n "b": 2}', 3),
        ('{"a": "unterminated}', 1),
        ("[1, 2", 1),
    ],
)
def test_json_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(EcsfixError) as err:
        scan_json(src(text, "c.json"))
    assert err.value.line == line
    assert err.value.message.startswith("invalid JSON")


def test_json_template_directive_is_reported_as_such() -> None:
    with pytest.raises(TemplateDirective):
        scan_json(src('[%{ for x in y }1%{ endfor }]', "c.tpl"))


def test_json_inside_a_json_string_maps_offsets_back() -> None:
    inner = '[{\\"name\\":\\"A\\",\\"value\\":\\"hunter2\\"}]'
    text = '{"cd": "' + inner + '"}'
    outer = scan_json(src(text, "plan.json"), templates=False)
    assert isinstance(outer, Obj)
    s = outer.get("cd")
    assert isinstance(s, Str)
    decoded = decode_string(s)
    assert decoded is not None
    doc = scan_json(s.span.file, decoded[0], offsets=decoded[1], templates=False)
    assert isinstance(doc, Lst) and isinstance(doc.items[0], Obj)
    value = doc.items[0].get("value")
    assert value is not None and value.span.text == '\\"hunter2\\"'


@pytest.mark.parametrize(
    "text",
    [
        'resource "aws_s3_bucket" "b" {}\n',
        'data "aws_region" "current" {}\nlocals {}\n',
        "",
        "# only a comment\n",
    ],
)
def test_hcl_empty_blocks_and_files(text: str) -> None:
    blocks = hclparse.parse_file(src(text))
    for b in blocks:
        assert b.attributes == {}
        assert b.body_span.start <= b.span.end


@pytest.mark.parametrize("expr", [
    "[\n    1,\n    2,\n  ]", "f(\n    1,\n    2\n  )", "(1 +\n    2)", "{\n    a = [\n      1]\n  }",
    "[for a in b :\n    a]", "<<EOF\n  a\nEOF\n", '"a" # c', "1 /* c\n */", "{\n    a = 1 # c\n  }",
])
def test_hcl_line_breaks_inside_brackets_strings_and_heredocs_are_fine(expr: str) -> None:
    (block,) = hclparse.parse_file(src(f"locals {{\n  x = {expr}\n}}\n"))
    assert "x" in block.attributes


def test_byte_to_character_offsets_match_a_direct_decode_everywhere() -> None:
    """tree-sitter counts UTF-8 bytes; the converter maps them per run of non-ASCII characters.
    Every byte offset on a character boundary, in 300 random texts, maps as decoding would."""
    import random

    rng = random.Random(7)
    for _ in range(300):
        text = "".join(rng.choice('ab{}=\n"éü日本🔑 ') for _ in range(rng.randint(0, 60)))
        data = text.encode("utf-8")
        conv = hclparse._Converter(src(text), 0, text, data)
        for b in range(len(data) + 1):
            try:
                chars = len(data[:b].decode("utf-8"))
            except UnicodeDecodeError:
                continue  # inside a character: no node starts or ends there
            assert conv.off(b) == chars, (text, b)
