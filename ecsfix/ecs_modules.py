"""Calls of the common ECS modules (cloudposse ecs-container-definition, terraform-aws-modules ecs)."""

from __future__ import annotations

from .model import TaskDefinition
from .module import Module
from .resolve import Resolver


def task_definitions_from_module_calls(module: Module, resolver: Resolver) -> list[TaskDefinition]:
    return []
