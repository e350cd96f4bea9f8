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


def test_hcl_unicode_identifier_is_an_error_not_a_crash() -> None:
    with pytest.raises(EcsfixError):
        hclparse.parse_file(src("locals {\n  ü = 1\n}\n"))


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
