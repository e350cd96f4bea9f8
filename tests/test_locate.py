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
