"""The cheap block locator must agree with the parser on where every top-level block is."""

from __future__ import annotations

import pytest

from ecsfix import hclparse
from ecsfix.locate import top_level_blocks
from ecsfix.model import SourceFile

TRICKY = """\ufeff# comment with { brace
resource "aws_s3_bucket" "b" {
  bucket = "x-${var.env}-{literal}"
  policy = <<POLICY
{ "unbalanced": "{" }
POLICY
}

/* block comment } */
locals {
  a = { b = "}" } // trailing }
  c = "esc \\" }"
}

resource "aws_ecs_task_definition" "app" {
  container_definitions = <<-EOT
    [{"name": "x", "environment": [{"name": "A", "value": "${var.a}"}]}]
  EOT
}
data "aws_region" "current" {}
"""


@pytest.mark.parametrize("text", [TRICKY, "", "\n\n", 'terraform {\n  required_version = ">= 1.5"\n}\n'])
def test_locator_agrees_with_the_parser(text: str) -> None:
    src = SourceFile("m.tf", "m.tf", text)
    blocks = hclparse.parse_file(src)
    extents = top_level_blocks(text)
    assert extents is not None
    assert extents == [(b.type, b.span.start, b.span.end) for b in blocks]


@pytest.mark.parametrize("text", ["x = 1\n", 'resource "a" "b" {\n  x = "unterminated\n}\n', "locals {\n"])
def test_locator_gives_up_on_unusual_input(text: str) -> None:
    assert top_level_blocks(text) is None


def _dump_blocks(blocks: list) -> list:  # type: ignore[type-arg]
    return [(b.type, b.labels, b.span.start, b.span.end, sorted(b.attributes)) for b in blocks]


@pytest.mark.parametrize(("btype", "labels", "hint"), [
    ("resource", ["aws_ecs_task_definition"], "aws_ecs_task_definition"),
    ("resource", ["aws_s3_bucket", "b"], "aws_s3_bucket"),
    ("resource", [], "resource"),
    ("locals", [], "locals"),
    ("data", ["aws_region"], "aws_region"),
    ("variable", ["nope"], "variable"),
])
def test_module_lookup_converts_only_the_blocks_asked_for_and_agrees_with_a_whole_parse(
        btype: str, labels: list[str], hint: str) -> None:
    from ecsfix.module import Module

    src = SourceFile("m.tf", "m.tf", TRICKY)
    lazy = Module(".", [src])
    found = list(lazy.blocks(btype, *labels, hint=hint))
    whole = [b for b in hclparse.parse_file(src) if b.type == btype and b.labels[: len(labels)] == labels]
    assert _dump_blocks(found) == _dump_blocks(whole)
    tree = lazy._trees.get("m.tf")  # not even parsed when the hint is not in the file
    assert len(tree._done if tree else []) == len(found)  # nothing else was converted
    assert lazy.errors == []


def test_a_syntax_error_outside_the_blocks_ecsfix_needs_is_left_to_terraform() -> None:
    """tree-sitter rejects the file, so the needed blocks are located and parsed one by one."""
    from ecsfix.module import Module

    broken = TRICKY.replace('data "aws_region" "current" {}', 'variable "x" {\n  default = [1 2]\n}')
    src = SourceFile("m.tf", "m.tf", broken)
    module = Module(".", [src])
    (td,) = module.blocks("resource", "aws_ecs_task_definition", hint="aws_ecs_task_definition")
    assert td.labels == ["aws_ecs_task_definition", "app"] and "container_definitions" in td.attributes
    assert module._trees["m.tf"] is None and module.errors == []
    assert module.variable("x") is None and module.errors[0].line == 21  # the broken block itself: an error
