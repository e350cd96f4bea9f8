"""EF001 for `aws_ecs_task_definition` resources: flagged entries move to `secrets`, their values
into one generated Secrets Manager secret (or SSM parameters) that the execution role may read.

`plan` walks the task definitions, leaves a note for those no planner here can rewrite, and runs
`plan_task_definition` on the rest with the `ResourceForm` of their `container_definitions`
(`FORMS`, keyed by the scan's `TaskDefinition.form`). The steps every form shares:

1. the form's own refusal (e.g. a local used twice);
2. per container: the literal environment list holding the flagged entries, or a note;
3. the secret: the one an earlier run generated, or a new name; the execution role to grant it to;
4. per entry: its value (`base.moved_value`, written by the form), its key, its `valueFrom`;
   the container edits (`containers.container_edits`);
5. the form's `finish` (e.g. `file()` becomes `templatefile()`);
6. the generated Terraform (secret, version, policy or SSM parameters), after the task definition.
"""

from __future__ import annotations

import functools
import os

from ...model import Block, Container, EnvEntry, Finding, Lst, Ref, Str, TaskDefinition
from ..containers import (
    add_shared_secrets,
    container_edits,
    container_refusal,
    entry_refusal,
    environment_list,
    flagged_entries,
)
from ..generate import (
    SECRET_TYPES,
    Secret,
    existing_secret,
    extend_existing,
    place_generated,
    render,
    secret_keys,
    write_only,
)
from ..grants import DECRYPT, SECRET_READ, Grants, emit_policy
from ..hclgen import hcl_string, instance_suffix, meta_of
from ..plan import ModuleRewrite, Moved, Plan, Unit, unit, where
from ..roles import RoleTarget, execution_role_target, role_of
from . import shared_env, shared_template
from .base import Refuse, ResourceForm, entry_at, is_literal, moved_value
from .file import File
from .heredoc import Heredoc
from .indirect import underlying_form
from .inline import Inline
from .local import Local
from .template_file import TemplateFile
from .templatefile import Templatefile

FORMS: dict[str, type[ResourceForm]] = {
    "jsonencode": Inline,
    "local": Local,
    "heredoc": Heredoc,
    "file": File,
    "templatefile": Templatefile,
    "template_file": TemplateFile,
}


def plan(mr: ModuleRewrite) -> list[Unit]:
    """EF001: move flagged entries to `secrets` and generate the Secrets Manager wiring (one unit
    per task definition, run by the engine; entries of an environment local that several
    containers read move once, in a unit of their own, first: `shared_env`; so do those of a
    template file several task definitions read: `shared_template`)."""
    flagged = _planned(mr)
    spans_flagged = {(f.span.file.path, f.span.start, f.span.end) for f in flagged}
    shared_locals = shared_env.plan(mr, spans_flagged)
    users: dict[str, set[str]] = {}  # JSON file -> task definitions built from it
    for td in mr.scan.task_definitions:
        for c in td.containers:
            if c.obj is not None and td.block is not None and c.obj.span.file is not td.block.file:
                users.setdefault(c.obj.span.file.path, set()).add(td.address)
    templates = shared_template.handled(mr, spans_flagged, users)
    by_template = {td.address for tds in templates.values() for td in tds}
    notes = Plan()
    _note_unfixable(mr, notes)
    units = [Unit("EF001 notes", "", "", "", lambda: notes),
             Unit("EF001 shared locals", "", "", "", lambda: shared_locals.plan),
             *(Unit(f"EF001 shared template {path}", "", tds[0].span.file.display, where(tds[0]),
                    functools.partial(shared_template.plan, mr, spans_flagged, path, tds))
               for path, tds in templates.items())]
    for td in mr.scan.task_definitions:
        if td.kind == "module":
            continue  # the module planner (`module_inputs`) rewrites module inputs
        spans = {(f.span.file.path, f.span.start, f.span.end) for f in flagged if f.resource == td.address}
        spans -= shared_locals.spans
        if not spans or td.address in by_template:
            continue
        shared = sorted({p for p, tds in users.items() if td.address in tds and len(tds) > 1})
        if shared:
            note = (f"{where(td)}: not rewritten: {os.path.basename(shared[0])} is shared by "
                    f"{len(users[shared[0]])} task definitions; move the entries by hand")
            units.append(unit("EF001", td, functools.partial(Plan, notes=[note])))
            continue
        units.append(unit("EF001", td, functools.partial(_with_shared, mr, td, spans, shared_locals.prefix)))
    return units


def _with_shared(mr: ModuleRewrite, td: TaskDefinition, spans: set[tuple[str, int, int]],
                 prefix: dict[int, str]) -> Plan:
    """`plan_task_definition`, and `secrets = local.<shared>` for the containers with entries of
    their own next to a shared local's, when none of their own could move."""
    td_plan = plan_task_definition(mr, td, spans, prefix)
    for c in td.containers:
        shared = prefix.get(id(c.obj))
        if shared and not any(m.container == c.display_name for m in td_plan.moved):
            add_shared_secrets(td_plan, c, shared)
    return td_plan


def _rewritten(td: TaskDefinition) -> bool:
    """A task definition this planner rewrites: a resource in one of `FORMS`, or a Terraform 0.11
    `"${...}"` string that leads to one (`underlying_form`)."""
    return td.kind == "resource" and (td.form in FORMS or td.form == "string")


def _tf_json(td: TaskDefinition) -> bool:
    """A `.tf.json` resource: `forms.tf_json` rewrites it (this planner only notes its entries that
    the rule itself leaves to a person)."""
    return td.kind == "resource" and td.form == "tf.json"


def _planned(mr: ModuleRewrite) -> list[Finding]:
    """The EF001 findings this planner tries to move: those in task definitions it rewrites, less
    the ones the rule itself leaves to a person (`Finding.manual`: a conditional branch, invalid
    JSON, no name, a value that comes through a module call)."""
    rewritten = {td.address for td in mr.scan.task_definitions if _rewritten(td)}
    return [f for f in mr.findings if f.rule == "EF001" and f.resource in rewritten and f.manual is None]


def _note_unfixable(mr: ModuleRewrite, out: Plan) -> None:
    """Findings in task definitions no planner rewrites: one note per task definition, naming the
    entries (plans: the finding itself says to fix the configuration that produces it); and
    findings the rule itself leaves to a person, one note each with its reason."""
    by_hand = [f for f in mr.findings if f.rule == "EF001"]
    # per entry, with the rule's own reason: in the task definitions this planner rewrites, and in
    # module calls (catalogue modules ecsfix does not edit, values passed through a local module);
    # your own wrapper modules get the one note below, plans the finding itself
    per_entry = {td.address for td in mr.scan.task_definitions
                 if _rewritten(td) or _tf_json(td) or td.kind == "module" and td.form != "wrapper"}
    for f in by_hand:
        if f.manual is not None and f.resource in per_entry:
            todo = "" if "by hand" in f.manual else "; move it to `secrets` by hand"
            out.notes.append(f"{f.file}:{f.line}: {f.resource} container {f.container}: not rewritten: "
                             f"{f.name or 'an entry without a name'}: {f.manual}{todo}")
    for td in mr.scan.task_definitions:
        if _rewritten(td) or _tf_json(td) or td.kind == "module" and td.form != "wrapper":
            continue
        # (entries written in a wrapper's call arguments get wrapper_calls.py's notes instead)
        names = sorted({f.name or "?" for f in by_hand
                        if f.resource == td.address and (td.form != "wrapper" or f.manual is not None)})
        if names and td.form == "wrapper":
            out.notes.append(f"{where(td)}: not rewritten: an input of your "
                             f"own module; move {', '.join(names)} to the secrets that module takes, by hand")
        elif names and td.kind not in ("plan", "module"):
            out.notes.append(f"{where(td)}: not rewritten: container "
                             f"definitions written as {td.form}; move {', '.join(names)} to `secrets` by hand")


def plan_task_definition(mr: ModuleRewrite, td: TaskDefinition, flagged: set[tuple[str, int, int]],
                         shared: dict[int, str] | None = None) -> Plan:
    """The EF001 plan for one task definition resource (`flagged`: the entries' file and span;
    `shared`: containers that also read the secrets moved out of a shared local, see `shared_env`)."""
    plan = Plan()
    block = td.block
    at = where(td)
    cd_attr = block.attributes.get("container_definitions") if block is not None else None
    if block is None or td.kind != "resource" or cd_attr is None:
        plan.notes.append(f"{at}: not rewritten: container definitions written as {td.form}; move the entries by hand")
        return plan
    form = underlying_form(mr, td, cd_attr.value, FORMS)  # `local.x`, `"${...}"`: the form they lead to
    why = form if isinstance(form, str) else form.refusal(mr)
    if why:
        plan.notes.append(f"{at}: not rewritten: {why}")
        return plan
    assert not isinstance(form, str)

    existing = existing_secret(mr, td)
    label = block.labels[1]
    _, index = meta_of(block)
    secret = Secret(existing or "", index, existing is not None)
    pending = _movable(mr, td, form, flagged, plan)
    if not pending:
        return plan

    ssm = mr.options.backend == "ssm"
    if ssm:
        secret.existing = False  # SSM: every run adds its own parameters and policy
    role = None
    if not secret.existing:
        role = _grantee(mr, td, ssm)
        if role.role is None:
            plan.notes.append(role.note or f"{at}: not rewritten: no execution role to grant the secret to")
            return plan
        if not ssm:
            secret.name = mr.names.free(f"{label}_secrets", SECRET_TYPES)

    keys = secret_keys(mr, secret)
    variables: list[dict[str, str]] = []
    parameters: list[dict[str, str]] = []
    template_vars: list[tuple[str, str]] = []  # (name, arn expression) passed to the template
    moving = 0
    for container, env_list, entries in pending:
        value_from: dict[str, str] = {}
        movable: list[EnvEntry] = []
        for e in entries:
            assert e.name is not None
            try:
                expr, var_name = moved_value(mr, td, e, label, variables, plan, form.expression)
            except Refuse as exc:
                plan.notes.append(f"{at} container {container.display_name}: not rewritten: {exc}")
                continue
            if expr is None:
                plan.notes.append(
                    f"{at} container {container.display_name}: not rewritten: the value of {e.name} "
                    "cannot be expressed outside the template; move it by hand"
                )
                continue
            movable.append(e)
            key = keys.key(e.name, expr)
            plan.moved.append(Moved(td.address, container.display_name, e.name, var_name, entry_at(e), is_literal(e)))
            if ssm:
                pname = mr.names.free(f"{label}_{e.name.lower()}", ("aws_ssm_parameter",))
                parameters.append({"name": pname, "key": e.name, "value": expr})
                arn = f"aws_ssm_parameter.{pname}{secret.index}.arn"
                if form.templated:
                    template_vars.append((f"{pname}_arn", arn))
                    value_from[e.name] = "${" + f"{pname}_arn" + "}"
                else:
                    value_from[e.name] = "${" + arn + "}"
            elif form.templated:
                value_from[e.name] = "${" + f"{secret.name}_arn" + "}:" + key + "::"
            else:
                value_from[e.name] = "${" + secret.arn + "}:" + key + "::"
        if movable:
            moving += len(movable)
            container_edits(plan, container, env_list, movable, form.json_syntax, value_from,
                            (shared or {}).get(id(container.obj)))
    if not moving:
        return Plan(notes=plan.notes)
    if form.templated and not ssm:
        template_vars.append((f"{secret.name}_arn", secret.arn))

    why = form.finish(mr, plan, template_vars)
    if why:
        plan.notes.append(f"{at}: not rewritten: {why}")
        return Plan(notes=plan.notes)

    if secret.existing:
        extend_existing(mr, plan, td, secret, keys.values, variables)
        return plan
    assert role is not None and role.role is not None
    plan.extend(role.plan)
    _generate(mr, plan, td, block, secret, role, keys.values, variables, parameters)
    return plan


def _movable(
    mr: ModuleRewrite, td: TaskDefinition, form: ResourceForm, flagged: set[tuple[str, int, int]], plan: Plan
) -> list[tuple[Container, Lst, list[EnvEntry]]]:
    """Per container with flagged entries: its environment list and the entries, or a note."""
    pending: list[tuple[Container, Lst, list[EnvEntry]]] = []
    for container in td.containers:
        entries = flagged_entries(container, flagged)
        if not entries:
            continue
        env_list, why = environment_list(mr, td, container, entries, form.follow_local)
        if why is None:
            assert env_list is not None
            why = container_refusal(container)
        if why:
            plan.notes.append(
                f"{where(td)} container {container.display_name}: not rewritten: {why}; move the entries by hand"
            )
            continue
        assert env_list is not None
        odd = [(e, entry_refusal(e)) for e in entries]
        for _, why in odd:
            if why:  # one odd entry stays; the others still move
                plan.notes.append(f"{where(td)} container {container.display_name}: not rewritten: {why}; "
                                  "move it by hand")
        entries = [e for e, why in odd if why is None]
        if entries:
            pending.append((container, env_list, entries))
    return pending


def _grantee(mr: ModuleRewrite, td: TaskDefinition, ssm: bool) -> RoleTarget:
    """The execution role the generated secret is granted to (a role managing its inline policies
    exclusively is kept for Secrets Manager: the grant then goes where the role manages them)."""
    role = execution_role_target(mr, td)
    if role.role is None and not ssm:
        exclusive = role_of(mr, td)
        if exclusive.exclusive and exclusive.role is not None:
            role = exclusive
    return role


def _generate(
    mr: ModuleRewrite, plan: Plan, td: TaskDefinition, block: Block, secret: Secret, role: RoleTarget,
    values: list[tuple[str, str]], variables: list[dict[str, str]], parameters: list[dict[str, str]],
) -> None:
    """The secret and its version (or the SSM parameters), the variables, and the grant."""
    ssm = mr.options.backend == "ssm"
    label = block.labels[1]
    meta, _ = meta_of(block)
    suffix = instance_suffix(secret.index)
    common = dict(
        index=secret.index,
        meta=meta,
        td_address=td.address,
        role=role.role,
        variables=variables,
        write_only=mr.options.write_only is True if ssm else write_only(mr),
        kms_key_id=mr.options.kms_key_id,
    )
    if role.exclusive and not ssm:
        rendered = render(
            mr.options.templates, "module_secret.tf.j2", name=secret.name, name_prefix=_name_prefix(block, label),
            values=values, grant=f"{role.resource_address()} reads it through its own policies (below)", **common,
        )
        place_generated(mr, plan, block, rendered)
        grants = Grants()
        grants.add(SECRET_READ, secret.arn)
        if mr.options.kms_key_id:
            grants.add(DECRYPT, mr.options.kms_key_id)
        emit_policy(mr, plan, td, role, grants, base=f"{label}-secrets")
        return
    if ssm:
        policy = mr.names.free(f"{label}_parameters", ("aws_iam_role_policy",))
        rendered = render(
            mr.options.templates, "ssm.tf.j2", parameters=parameters, policy=policy,
            policy_name=policy.replace("_", "-") + suffix, path_prefix=_parameter_prefix(block, label), **common,
        )
    else:
        rendered = render(
            mr.options.templates, "secret.tf.j2", name=secret.name, name_prefix=_name_prefix(block, label),
            policy_name=secret.name.replace("_", "-") + suffix, values=values, **common,
        )
    place_generated(mr, plan, block, rendered)


def _parameter_prefix(block: Block, label: str) -> str:
    family = block.attributes.get("family")
    if family is not None and isinstance(family.value, Str) and "\n" not in family.value.span.text:
        text = family.value.span.text
        if text.startswith('"') and len(text) > 2:
            return text[1:-1]
    if family is not None and isinstance(family.value, Ref):
        return "${" + family.value.source + "}"
    return label.replace("_", "-")


def _name_prefix(block: Block, label: str) -> str:
    family = block.attributes.get("family")
    if family is not None and isinstance(family.value, Str) and "\n" not in family.value.span.text:
        text = family.value.span.text
        if text.startswith('"') and text.endswith('"') and len(text) > 2:
            return text[:-1] + '-"'
    if family is not None and isinstance(family.value, Ref):
        return '"${' + family.value.source + '}-"'
    return hcl_string(f"{label}-")
