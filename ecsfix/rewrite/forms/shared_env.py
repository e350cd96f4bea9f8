"""Environment lists in a local shared by several containers: `environment = local.common_env`, or
`environment = concat(local.common_env, [ ... ])`, in containers of one or more task definitions.

The flagged entries move once, out of the local into a new local next to it
(`common_secrets = [{ name, valueFrom }]`), their values into one generated secret; every container
that read the old local reads the new one (`secrets = local.common_secrets`, or
`concat(local.common_secrets, [ ... ])` with its own moved entries, planned by `task_definition`),
and every distinct execution role of those task definitions gets one policy on the secret.
Refused with a note, entries left in place, when the uses disagree: the local is used elsewhere
too, a container is not HCL, an execution role differs per instance or cannot be named.
(A local used by one container only, as `environment = local.x`, is `Inline`'s: moved in place.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...model import Block, Call, Container, EnvEntry, Expr, Lst, Ref, TaskDefinition
from ..containers import add_shared_secrets, local_uses, unsupported, within
from ..edits import Edit, indent_of, line_end, newline_of, remove_item
from ..generate import SECRET_TYPES, SecretKeys, place_generated, render, write_only
from ..grants import DECRYPT, SECRET_READ
from ..hclgen import hcl_string
from ..plan import ModuleRewrite, Moved, Plan, where
from ..roles import RoleTarget, execution_role_target
from .base import Refuse, entry_at, hcl_expression, is_literal, moved_value

Spans = set[tuple[str, int, int]]


@dataclass
class SharedMoves:
    """What the shared-local planner did, for the per-task-definition planner."""

    plan: Plan = field(default_factory=Plan)
    spans: Spans = field(default_factory=set)  # flagged entries moved here (not to plan again)
    # id(container object) -> the new local's reference, for containers whose own entries move too
    prefix: dict[int, str] = field(default_factory=dict)


@dataclass
class _User:
    td: TaskDefinition
    container: Container
    own: bool  # the container has flagged entries of its own (outside the local) to move


def plan(mr: ModuleRewrite, flagged: Spans) -> SharedMoves:
    out = SharedMoves()
    shared = _shared_locals(mr)
    for name, users in shared.items():
        attr = mr.module.local(name)
        assert attr is not None
        in_local = [e for e in users[0].container.environment if within(e.span, attr.value.span) and _key(e) in flagged]
        # the literal list holding them: the local, or one list of `concat(var.extra, [ ... ])` in it
        lists = _literal_lists(attr.value)
        local_list = next((lst for lst in lists if all(within(e.span, lst.span) for e in in_local)), None)
        entries = [e for e in in_local if local_list is not None and within(e.span, local_list.span)]
        if not in_local:
            continue
        if local_list is None:
            out.plan.notes.append(f"{where(users[0].td)}: not rewritten: local.{name} builds its environment "
                                  "entries from several lists; move the entries by hand")
            continue
        if len(users) == 1 and isinstance(users[0].container.environment_expr, Ref) and local_list is attr.value:
            continue  # `environment = local.x` used once: moved in place by the task definition planner
        for u in users:
            u.own = any(_key(e) in flagged and not within(e.span, local_list.span) for e in u.container.environment)
        why = _refusal(mr, name, users, entries, out)
        if why is None:
            moved = _plan_local(mr, name, local_list, users, entries)
            if isinstance(moved, str):
                why = moved
            else:
                out.plan.extend(moved[0])
                out.spans |= {_key(e) for e in entries}
                for u in users:
                    if u.own:
                        out.prefix[id(u.container.obj)] = f"local.{moved[1]}"
                continue
        tds = sorted({u.td.address for u in users})
        out.plan.notes.append(f"{where(users[0].td)}: not rewritten: local.{name} (environment of "
                              f"{len(users)} containers in {', '.join(tds)}): {why}; move the entries by hand")
        out.spans |= {_key(e) for e in in_local}  # never moved by one of its users alone
    _guard_other_shared_locals(mr, flagged, out, set(shared))
    return out


def _guard_other_shared_locals(mr: ModuleRewrite, flagged: Spans, out: SharedMoves, lists: set[str]) -> None:
    """Entries written in any other local that several expressions read (a container object
    merged into several containers, `merge(local.common, {...})`): one task definition's plan
    would take them away from the others; left with a note per task definition."""
    for block in mr.module.blocks("locals"):
        guarded = {n for n in block.attributes if n not in lists and local_uses(mr, n) > 1}
        for name, attr in block.attributes.items():
            if name not in guarded:
                continue
            for td in mr.scan.task_definitions:
                entries = [e for c in td.containers for e in c.environment
                           if _key(e) in flagged and _key(e) not in out.spans and within(e.span, attr.value.span)]
                if entries:
                    out.plan.notes.append(
                        f"{where(td)}: not rewritten: {', '.join(sorted({e.name or '?' for e in entries}))} "
                        f"written in local.{name}, which other task definitions or containers read too; move them "
                        "to `secrets` there by hand (and grant every execution role that reads them)")
        for td in mr.scan.task_definitions:
            out.spans |= {_key(e) for c in td.containers for e in c.environment if _key(e) in flagged and any(
                within(e.span, a.value.span) for n, a in block.attributes.items() if n in guarded)}


def _key(e: EnvEntry) -> tuple[str, int, int]:
    return (e.span.file.path, e.span.start, e.span.end)


def _shared_locals(mr: ModuleRewrite) -> dict[str, list[_User]]:
    """Locals holding a literal environment list, with the containers reading them."""
    users: dict[str, list[_User]] = {}
    for td in mr.scan.task_definitions:
        if td.kind != "resource" or td.block is None:
            continue
        for c in td.containers:
            env = c.environment_expr
            args = env.args if isinstance(env, Call) and env.name == "concat" else [env]
            for arg in args:
                if isinstance(arg, Ref) and arg.root == "local" and arg.source.count(".") == 1:
                    name = arg.source.split(".", 1)[1]
                    attr = mr.module.local(name)
                    if attr is not None and _literal_lists(attr.value):
                        users.setdefault(name, []).append(_User(td, c, False))
    return users


def _literal_lists(value: Expr) -> list[Lst]:
    """A local's literal environment lists: itself, or the literal arguments of its concat()."""
    if isinstance(value, Lst):
        return [value]
    if isinstance(value, Call) and value.name == "concat":
        return [a for a in value.args if isinstance(a, Lst)]
    return []


def _refusal(mr: ModuleRewrite, name: str, users: list[_User], entries: list[EnvEntry],
             out: SharedMoves) -> str | None:
    if local_uses(mr, name) != len(users):
        return "it is also used outside container environments"
    if mr.options.backend == "ssm":
        return "--backend ssm does not rewrite shared locals yet"
    for u in users:
        if u.td.form not in ("jsonencode", "local"):
            return f"{u.td.address} writes its containers as {u.td.form}"
        if id(u.container.obj) in out.prefix:
            return f"container {u.container.display_name} also reads another shared local"
        why = unsupported(u.container, entries)
        if why:
            return why
    return None


def _secrets_local_name(mr: ModuleRewrite, name: str) -> str:
    """`common_env` -> `common_secrets`, `container_environment` -> `container_secrets`; a name the
    module's locals do not have yet."""
    base = re.sub(r"(^|_)(environment_variables|environment|env_vars|env)(_|$)", r"\1secrets\3", name)
    if base == name:
        base = f"{name}_secrets"
    candidate, n = base, 1
    while mr.module.local(candidate) is not None:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _plan_local(mr: ModuleRewrite, name: str, local_list: Lst, users: list[_User],
                entries: list[EnvEntry]) -> tuple[Plan, str] | str:
    """The plan and the new local's name, or why not."""
    plan = Plan()
    roles = grantees(mr, [u.td for u in users])
    if isinstance(roles, str):
        return roles
    locals_block = next(b for b in mr.module.blocks("locals") if name in b.attributes)
    secrets_local = _secrets_local_name(mr, name)
    secret = mr.names.free(secrets_local, SECRET_TYPES)
    arn = f"aws_secretsmanager_secret.{secret}.arn"
    keys = SecretKeys()
    variables: list[dict[str, str]] = []
    items: list[str] = []
    var_of: dict[str, str | None] = {}
    for e in entries:
        assert e.name is not None
        try:
            expr, var_name = moved_value(mr, users[0].td, e, name, variables, plan, hcl_expression)
        except Refuse as exc:
            return str(exc)
        assert expr is not None
        key = keys.key(e.name, expr)
        var_of[e.name] = var_name
        items.append(f'{{ name = {hcl_string(e.name)}, valueFrom = "${{{arn}}}:{key}::" }}')
    for u in users:
        plan.moved += [Moved(u.td.address, u.container.display_name, e.name or "", var_of[e.name or ""],
                             entry_at(e), is_literal(e)) for e in entries]
        if not u.own:
            why = add_shared_secrets(plan, u.container, f"local.{secrets_local}")
            if why:
                return why

    # the local loses the entries; the new local follows it
    src = local_list.span.file
    text = src.text
    nl = newline_of(text)
    if len(entries) == len(local_list.items):
        plan.add(src, Edit(local_list.span.start, local_list.span.end, "[]"))
    else:
        for e in entries:
            plan.add(src, remove_item(text, e.span.start, e.span.end))
    attr = mr.module.local(name)
    assert attr is not None
    indent = indent_of(text, attr.span.start)
    at = line_end(text, attr.span.end)
    body = "".join(f"{indent}  {item},{nl}" for item in items)
    plan.add(src, Edit(at, at, f"{nl}{indent}{secrets_local} = [{nl}{body}{indent}]{nl}"))

    generate_shared(mr, plan, locals_block, f"local.{name}", name.replace("_", "-"), secret, keys, variables, roles)
    return plan, secrets_local


Grantees = dict[str, tuple[RoleTarget, list[str]]]  # role expression -> (target, task definitions)


def grantees(mr: ModuleRewrite, tds: list[TaskDefinition]) -> Grantees | str:
    """The distinct execution roles of task definitions that read one shared secret, or why not."""
    roles: Grantees = {}
    for td in tds:
        target = execution_role_target(mr, td)
        if target.role is None:
            return target.note or f"{td.address} has no execution role to grant"
        if re.search(r"\b(each|count)\.", target.role):
            return f"the execution role of {td.address} differs per instance"
        _, addresses = roles.setdefault(target.role, (target, []))
        if td.address not in addresses:
            addresses.append(td.address)
    return roles


def generate_shared(mr: ModuleRewrite, plan: Plan, after: Block, what: str, prefix: str, secret: str,
                    keys: SecretKeys, variables: list[dict[str, str]], roles: Grantees) -> None:
    """The secret of entries moved out of `what` (shared by several task definitions) and its
    version, then one policy per distinct execution role, after the block `after`."""
    arn = f"aws_secretsmanager_secret.{secret}.arn"
    rendered = render(
        mr.options.templates, "module_secret.tf.j2", name=secret, index="", meta="", td_address=what,
        name_prefix=hcl_string(f"{prefix}-"), values=keys.values, variables=variables,
        write_only=write_only(mr), kms_key_id=mr.options.kms_key_id,
        grant=f"the execution roles of the task definitions using {what} read it (below).",
    )
    statements = [{"action": SECRET_READ, "resources": [arn]}]
    if mr.options.kms_key_id:
        statements.append({"action": DECRYPT, "resources": [mr.options.kms_key_id]})
    for i, (role, (target, tds)) in enumerate(roles.items()):
        plan.extend(target.plan)
        policy = secret if i == 0 else mr.names.free(f"{secret}_{i + 1}", ("aws_iam_role_policy",))
        rendered = rendered.rstrip("\n") + "\n\n" + render(
            mr.options.templates, "policy.tf.j2", form="resource", name=policy, meta="", td_address=", ".join(tds),
            policy_name=policy.replace("_", "-"), role=role, statements=statements).strip("\n") + "\n"
    place_generated(mr, plan, after, rendered)
