"""The cheap text tests that decide which files are worth parsing at all (every file of a tree
goes through them, so each is a few substring searches; imported at start-up)."""

from __future__ import annotations

import re

# Substrings of every source form of the catalogue's modules (`catalogue.py`; a test checks that
# each row's registry address and git URL contain one): few and short, every file is checked.
HINTS = ("ecs-container-definition", "terraform-aws-modules/ecs", "terraform-aws-modules/terraform-aws-ecs",
         "ecs-fargate", "ecs-task-definition", "airship-ecs-service", "it-objects/terra", "infrablocks/",
         "ecs-alb-service-task")


def has_trigger(text: str) -> bool:
    """A task definition, container definitions or a call of a catalogued module may be in it."""
    return ("aws_ecs_task_definition" in text or "container_definitions" in text
            or "module" in text and any(h in text for h in HINTS))


# An input is environment-like when a word of its name is one of these (`environment`, `env_vars`,
# `map_environment`, `container_env`, `environment_variables`, `extra_env`, `container_envvars`, ...).
_ENV_WORDS = frozenset({"env", "envs", "environment", "environments", "envvars", "environ", "envvar"})
# (a literal `env` first keeps this fast on every file of a monorepo: inputs are snake_case)
ENV_INPUT_RE = re.compile(r"env\w*[ \t]*=[ \t]*(?:[\[{]|merge\(|concat\()")


def env_like(name: str) -> bool:
    return any(w in _ENV_WORDS for w in name.lower().split("_"))


def might_pass_an_environment(text: str) -> bool:
    """A `module` block and an environment-like input written as a list or map literal (or
    merge/concat), in one file: a call outside the catalogue that may pass a container environment."""
    return "module" in text and "source" in text and ENV_INPUT_RE.search(text) is not None
