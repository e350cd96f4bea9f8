"""Edits inside one container definition: flagged `environment` entries out, `secrets` items in.

Shared by every EF001 planner whose containers are written as objects (HCL in `jsonencode()` or a
local, JSON in a heredoc or a template file, HCL in a module's `container_definitions` input): the
checks that an entry can move at all (`unsupported`), where its environment list is
(`environment_list`), and the edits that move it (`container_edits`).
"""

from __future__ import annotations

import re

from ..model import Call, Container, EnvEntry, Lst, Obj, ObjItem, Ref, Span, TaskDefinition
from .edits import (
    Edit,
    alone_on_lines,
    indent_of,
    line_end,
    line_start,
    newline_of,
    remove_item,
    remove_json_items,
)
from .hclgen import secret_item
from .plan import ModuleRewrite, Plan


def within(inner: Span, outer: Span) -> bool:
    return inner.file is outer.file and outer.start <= inner.start and inner.end <= outer.end


def local_uses(mr: ModuleRewrite, name: str) -> int:
    """How often `local.NAME` is referenced in the module's HCL files."""
    pattern = re.compile(r"\blocal\." + re.escape(name) + r"\b")
    return sum(len(pattern.findall(src.text)) for src in mr.module.hcl_files())


def flagged_entries(container: Container, flagged: set[tuple[str, int, int]]) -> list[EnvEntry]:
    """The container's environment entries among the fixable findings (keyed by file and span)."""
    return [e for e in container.environment if (e.span.file.path, e.span.start, e.span.end) in flagged]


def environment_list(
    mr: ModuleRewrite, td: TaskDefinition, container: Container, entries: list[EnvEntry], follow_local: bool
) -> tuple[Lst | None, str | None]:
    """The literal list holding `entries` (through `environment = local.X` when `follow_local`),
    or why there is none."""
    env = container.environment_expr
    if isinstance(env, Ref) and env.root == "local" and follow_local:
        name = env.source.split(".", 1)[1]
        attr = mr.module.local(name)
        if attr is None or not isinstance(attr.value, Lst):
            return None, f"environment is {env.source}, which is not a literal list"
        if local_uses(mr, name) != 1:
            return None, f"{env.source} is used more than once"
        env = attr.value
    if isinstance(env, Call) and env.name == "concat":
        # `concat(local.common_env, [ ... ])`: the literal list holding the entries (the entries of
        # a local list move inside it, see `forms.shared_env`)
        env = next((a for a in env.args if isinstance(a, Lst) and all(within(e.span, a.span) for e in entries)), env)
    if not isinstance(env, Lst):
        return None, "environment is not a literal list"
    if not all(within(e.span, env.span) for e in entries):
        return None, "environment entries are built from several lists"
    return env, None


def unsupported(container: Container, entries: list[EnvEntry]) -> str | None:
    """Why these entries cannot move out of this container, or None when they can."""
    return container_refusal(container) or next(filter(None, map(entry_refusal, entries)), None)


def container_refusal(container: Container) -> str | None:
    """Why no entry can move out of this container, or None."""
    obj = container.obj
    if obj is None:
        return "container is not a literal object"
    if not obj.items:
        return "empty container object"
    if container.secrets_expr is not None and not isinstance(container.secrets_expr, Lst):
        return "secrets that is not a literal list"
    return None


def entry_refusal(e: EnvEntry) -> str | None:
    """Why this one entry cannot move (its container's other entries still can), or None."""
    if e.name is None:
        return "an entry name is not a literal"
    keys = set(re.findall(r'"([^"\\]+)"\s*:', e.span.text) if json_syntax_of(e) else
               re.findall(r'(?:^|[{,\s])"?([A-Za-z_][\w-]*)"?\s*=(?!=)', _without_strings(e.span.text)))
    if keys - {"name", "value"}:
        return f"the entry {e.name} has keys other than name and value"
    if e.value is None:
        return f"{e.name} has no value"
    if "\n" in e.value.at_entry.span.text:
        return f"{e.name} has a multi-line value"
    return None


def json_syntax_of(e: EnvEntry) -> bool:
    return e.span.text.lstrip("{ \t\r\n").startswith('"')


def _without_strings(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


# --------------------------------------------------------------------------- the edits


def container_edits(
    plan: Plan, container: Container, env_list: Lst, entries: list[EnvEntry], json_syntax: bool,
    value_from: dict[str, str], shared: str | None = None,
) -> None:
    """Remove `entries` from `env_list` and add one `secrets` item per entry (`value_from` by name);
    `shared`: the list of secrets moved out of a shared local, read first (`concat(shared, [...])`)."""
    obj = container.obj
    assert obj is not None
    src = obj.span.file
    text = src.text
    env_src = env_list.span.file
    nl = newline_of(text)
    first = env_list.items[0].span.text if env_list.items else ""
    spaced = first.startswith("{ ") or not json_syntax
    new_items = [secret_item(json_syntax, e.name or "", value_from[e.name or ""], spaced) for e in entries]
    env_item = obj.item("environment")
    inline = env_item is not None and env_item.value is env_list
    all_moved = len(entries) == len(env_list.items)
    secrets = container.secrets_expr
    assert secrets is None or isinstance(secrets, Lst)
    key = '"secrets"' if json_syntax else "secrets"
    sep = ": " if json_syntax else " = "

    concat = env_item.value if env_item is not None and isinstance(env_item.value, Call) \
        and env_item.value.name == "concat" and env_list in env_item.value.args else None

    if shared is None and all_moved and inline and env_item is not None and secrets is None \
            and "\n" in env_item.span.text \
            and alone_on_lines(text, env_item.span.start, env_item.span.end):
        # `secrets = [...]` takes the place of `environment = [...]`: same multi-line shape
        indent = indent_of(text, env_item.span.start)
        comma = "," if json_syntax and text[env_item.span.end : line_end(text, env_item.span.end)].strip() == "," else ""
        body = ("," + nl).join(indent + "  " + s for s in new_items) if json_syntax else \
            "".join(indent + "  " + s + "," + nl for s in new_items)
        if json_syntax:
            body += nl
        plan.add(src, Edit(line_start(text, env_item.span.start), line_end(text, env_item.span.end),
                           indent + key + sep + "[" + nl + body + indent + "]" + comma + nl))
        return
    if all_moved and concat is not None and len(concat.args) == 2:
        # `concat(local.common_env, [ ... ])` loses its last literal entry: `local.common_env` alone
        other = next(a for a in concat.args if a is not env_list)
        plan.add(src, Edit(concat.span.start, concat.span.end, other.span.text))
    elif all_moved and inline and env_item is not None and secrets is not None:
        _remove_object_item(plan, obj, env_item, json_syntax)
    elif all_moved:
        plan.add(env_src, Edit(env_list.span.start, env_list.span.end, "[]"))
    elif json_syntax:
        removed = {i for i, it in enumerate(env_list.items) if any(it.span.start == e.span.start for e in entries)}
        for edit in remove_json_items([it.span for it in env_list.items], removed):
            plan.add(env_src, edit)
    else:
        for e in entries:
            plan.add(env_src, remove_item(env_src.text, e.span.start, e.span.end))

    if isinstance(secrets, Lst):
        _extend_secrets(plan, obj, secrets, new_items, json_syntax, shared)
    else:
        _add_secrets(plan, obj, new_items, json_syntax, key, sep, shared)


def add_shared_secrets(plan: Plan, container: Container, shared: str) -> str | None:
    """The container reads the secrets moved out of a shared local (`shared`, an HCL list
    expression) and has none of its own moving: `secrets = shared`, or its literal `secrets`
    wrapped in `concat(shared, [...])`. Why not, or None."""
    obj = container.obj
    if obj is None or not obj.items:
        return "container is not a literal object"
    if container.secrets_expr is not None and not isinstance(container.secrets_expr, Lst):
        return "secrets that is not a literal list"
    if isinstance(container.secrets_expr, Lst):
        _extend_secrets(plan, obj, container.secrets_expr, [], False, shared)
    else:
        _add_secrets(plan, obj, [], False, "secrets", " = ", shared)
    return None


def _extend_secrets(plan: Plan, obj: Obj, secrets: Lst, new_items: list[str], json_syntax: bool,
                    shared: str | None = None) -> None:
    """The container has a `secrets` list: the new items join it (after `shared`'s, when given)."""
    src = obj.span.file
    text = src.text
    nl = newline_of(text)
    pre, post = (f"concat({shared}, ", ")") if shared is not None else ("", "")
    close = secrets.span.end - 1
    close_line = line_start(text, close)
    if shared is not None and (not new_items or secrets.items and not text[close_line:close].strip()):
        plan.add(src, Edit(secrets.span.start, secrets.span.start, pre))
        plan.add(src, Edit(secrets.span.end, secrets.span.end, post))
        if not new_items:
            return
    if secrets.items and text[close_line:close].strip() == "":
        item_indent = indent_of(text, secrets.items[0].span.start)
        last = secrets.items[-1].span.end
        if json_syntax:
            plan.add(src, Edit(last, last, "".join("," + nl + item_indent + s for s in new_items)))
            return
        if not text[last:close].strip().startswith(","):
            plan.add(src, Edit(last, last, ","))
        plan.add(src, Edit(close_line, close_line, "".join(item_indent + s + "," + nl for s in new_items)))
        return
    if "\n" not in obj.span.text:  # a one-line container keeps a one-line list
        plan.add(src, Edit(secrets.span.start, secrets.span.end,
                           pre + "[" + ", ".join([it.span.text for it in secrets.items] + new_items) + "]" + post))
        return
    # `secrets = []` or a one-line list: a multi-line list with the old and new items
    indent = indent_of(text, secrets.span.start)
    old = [it.span.text for it in secrets.items]
    if json_syntax:
        body = ("," + nl).join(indent + "  " + s for s in old + new_items) + nl
    else:
        body = "".join(indent + "  " + s + "," + nl for s in old + new_items)
    plan.add(src, Edit(secrets.span.start, secrets.span.end, pre + "[" + nl + body + indent + "]" + post))


def _add_secrets(plan: Plan, obj: Obj, new_items: list[str], json_syntax: bool, key: str, sep: str,
                 shared: str | None = None) -> None:
    """The container has no `secrets` yet: a new one after its last item (`shared`: see above)."""
    src = obj.span.file
    text = src.text
    nl = newline_of(text)
    close = obj.span.end - 1
    open_, close_ = ("[", "]") if shared is None else (f"concat({shared}, [", "])")
    if text[line_start(text, close) : close].strip():
        # the closing brace shares its line (a one-line container): `, secrets = [...]` before it
        last = obj.items[-1].span.end
        value = shared if shared is not None and not new_items else open_ + ", ".join(new_items) + close_
        plan.add(src, Edit(last, last, ", " + key + sep + value))
        return
    indent = indent_of(text, obj.items[0].span.start) if obj.items else indent_of(text, close) + "  "
    if json_syntax:
        last = obj.items[-1].span.end
        items = ("," + nl).join(indent + "  " + s for s in new_items)
        plan.add(src, Edit(last, last, "," + nl + indent + key + sep + "[" + nl + items + nl + indent + "]"))
        return
    close_line = line_start(text, close)
    if shared is not None and not new_items:
        block_text = indent + "secrets = " + shared + nl
    else:
        block_text = indent + "secrets = " + open_ + nl + "".join(indent + "  " + s + "," + nl for s in new_items) \
            + indent + close_ + nl
    plan.add(src, Edit(close_line, close_line, block_text))


def _remove_object_item(plan: Plan, obj: Obj, item: ObjItem, json_syntax: bool) -> None:
    src = obj.span.file
    if json_syntax:
        idx = next(i for i, it in enumerate(obj.items) if it is item)
        for edit in remove_json_items([it.span for it in obj.items], {idx}):
            plan.add(src, edit)
    else:
        plan.add(src, remove_item(src.text, item.span.start, item.span.end))
