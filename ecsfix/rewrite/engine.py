"""`ecsfix rewrite`: move EF001 entries from `environment` to `secrets` by splicing edits.

The user's file is never re-printed: every change is an `Edit(start, end, text)` on the
original text, applied back to front; `=` chains the edits touch are re-aligned the way
`terraform fmt` aligns them, and the result is re-parsed before anyone may write it.
Planners (this file for EF001; `deploy` for EF101-EF104; `modules` for ECS module inputs) add
edits to a `Plan`; the driver merges them per file.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..discover import discover
from ..model import (
    Block,
    Bool,
    Call,
    Container,
    EcsfixError,
    EnvEntry,
    Lst,
    Num,
    Obj,
    ObjItem,
    Ref,
    SourceFile,
    Span,
    Str,
    TaskDefinition,
)
from ..rules.base import RuleContext
from ..scan import load_module, run_rules, scan_module
from .common import (
    MARKER,
    Edit,
    ModuleRewrite,
    Moved,
    Names,
    Options,
    Plan,
    alone_on_lines,
    apply_edits,
    block_end_insert,
    indent_of,
    line_end,
    line_start,
    newline_of,
    remove_item,
    render,
)
from .safewrite import write_change  # noqa: F401  (re-exported; new files too)

__all__ = ["Edit", "FileChange", "Moved", "Options", "RewriteResult", "apply_edits", "rewrite", "write_change"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class FileChange:
    path: str
    display: str
    original: str
    new: str
    created: bool = False  # a new file (--output-file)
    hidden: frozenset[str] = frozenset()  # literal secrets copied on request (--literal-values keep)

    def diff(self) -> str:
        a = self.original.splitlines(keepends=True)
        b = self.new.splitlines(keepends=True)
        rel = not os.path.isabs(self.display)
        old, new = (f"a/{self.display}", f"b/{self.display}") if rel else (self.display, self.display)
        lines = difflib.unified_diff(a, b, old, new)
        # A literal value the rewrite removes from the file must not reach a terminal or CI log:
        # show its preview. Values still in the new text (a re-aligned line) are shown as they are.
        out = []
        for line in lines:
            if line.startswith("-") and not line.startswith("---"):
                line = _redact_values(line, self.new)
            if self.hidden and line[:1] in "+-" and not line.startswith(("+++", "---")):
                line = _redact_hidden(line, self.hidden)
            out.append(line)
        return "".join(out)


_VALUE_LITERAL = re.compile(r'(\bvalue"?\s*[=:]\s*")((?:[^"\\]|\\.)*)(")')
# `KEY = "literal"` map items (cloudposse `map_environment`), but never `name =`/`valueFrom =`
_MAP_ITEM_LITERAL = re.compile(r'^(-[ \t]*(?!name\b|valueFrom\b)(?:[A-Za-z_][\w-]*|"[^"]*")[ \t]*=[ \t]*")((?:[^"\\]|\\.)*)(")')


def _redact_hidden(line: str, hidden: frozenset[str]) -> str:
    from ..secrets import redact

    for value in sorted(hidden, key=len, reverse=True):
        for form in {value, _hcl_string(value)[1:-1], json.dumps(value)[1:-1]}:
            if len(form) >= 4 and form in line:
                line = line.replace(form, redact(value))
    return line


def _redact_values(line: str, kept: str = "") -> str:
    from ..secrets import redact

    def sub(m: re.Match[str]) -> str:
        body = m.group(2)
        if body.startswith("${") and body.endswith("}") and body.count("${") == 1:
            return m.group(0)  # a bare reference names where the value comes from
        if body and f'"{body}"' in kept:
            return m.group(0)  # still in the file (the line only moved or was re-aligned)
        return m.group(1) + redact(body) + m.group(3)

    return _MAP_ITEM_LITERAL.sub(sub, _VALUE_LITERAL.sub(sub, line))


@dataclass
class RewriteResult:
    changes: list[FileChange] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # left in place, with why
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # EF101-EF104 fixes, one line each


# --------------------------------------------------------------------------- planning (EF001)

_JSON_FORMS = frozenset({"heredoc", "file", "templatefile"})
_HCL_FORMS = frozenset({"jsonencode", "local"})
_SM_TYPES = ("aws_secretsmanager_secret", "aws_secretsmanager_secret_version", "aws_iam_role_policy")


@dataclass
class _Secret:
    """The generated (or, on a later run, the existing) secret a task definition's entries move to."""

    name: str
    index: str  # "", "[each.key]" or "[count.index]"
    existing: bool

    @property
    def arn(self) -> str:
        return f"aws_secretsmanager_secret.{self.name}{self.index}.arn"


class SecretKeys:
    """The JSON keys of one generated secret: one per distinct (name, value expression); the same
    name with another value (another container) gets NAME_2, NAME_3, ... so no value is lost."""

    def __init__(self, taken: set[str] | None = None):
        self.taken = set(taken or ())
        self.by_value: dict[tuple[str, str], str] = {}
        self.values: list[tuple[str, str]] = []  # (HCL key, expression) for the secret version

    def key(self, name: str, expr: str) -> str:
        key = self.by_value.get((name, expr))
        if key is None:
            key, n = name, 1
            while key in self.taken:
                n += 1
                key = f"{name}_{n}"
            self.taken.add(key)
            self.by_value[(name, expr)] = key
            self.values.append((_hcl_key(key), expr))
        return key


def _is_literal(entry: EnvEntry) -> bool:
    if entry.value is None:
        return True
    at = entry.value.at_entry
    return (isinstance(at, Str) and at.value is not None) or isinstance(at, (Num, Bool))


def _hcl_key(name: str) -> str:
    return name if _IDENT.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hcl_string(value: str) -> str:
    """An HCL quoted string with exactly this value (no interpolation)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("\t", "\\t").replace("${", "$${").replace("%{", "%%{")
    return '"' + out + '"'


def _secret_item(json_syntax: bool, name: str, value_from: str, spaced: bool) -> str:
    if json_syntax:
        n, v = json.dumps(name), json.dumps(value_from)
        return f'{{ "name": {n}, "valueFrom": {v} }}' if spaced else f'{{"name": {n}, "valueFrom": {v}}}'
    return f'{{ name = {_hcl_string(name)}, valueFrom = "{value_from}" }}'


def _existing_secret(mr: ModuleRewrite, td: TaskDefinition) -> str | None:
    """The secret an earlier run generated for this task definition (found by its marker comment)."""
    pattern = re.compile(
        re.escape(MARKER) + r": secrets moved out of " + re.escape(td.address)
        + r' container environment\.\r?\n(?:[ \t]*#[^\n]*\n)*[ \t]*resource[ \t]+"aws_secretsmanager_secret"[ \t]+"([^"]+)"'
    )
    for src in mr.module.hcl_files():
        if MARKER in src.text:
            m = pattern.search(src.text)
            if m:
                return m.group(1)
    return None


def _local_uses(mr: ModuleRewrite, name: str) -> int:
    pattern = re.compile(r"\blocal\." + re.escape(name) + r"\b")
    return sum(len(pattern.findall(src.text)) for src in mr.module.hcl_files())


def _within(inner: Span, outer: Span) -> bool:
    return inner.file is outer.file and outer.start <= inner.start and inner.end <= outer.end


def plan_secrets(mr: ModuleRewrite) -> Plan:
    """EF001: move flagged entries to `secrets` and generate the Secrets Manager wiring."""
    plan = Plan()
    flagged = [f for f in mr.findings if f.rule == "EF001" and f.fixable]
    users: dict[str, set[str]] = {}  # JSON file -> task definitions built from it
    for td in mr.scan.task_definitions:
        for c in td.containers:
            if c.obj is not None and td.block is not None and c.obj.span.file is not td.block.file:
                users.setdefault(c.obj.span.file.path, set()).add(td.address)
    by_hand = [f for f in mr.findings if f.rule == "EF001" and not f.fixable]
    for td in mr.scan.task_definitions:
        names = sorted({f.name or "?" for f in by_hand if f.resource == td.address})
        if names and td.form == "wrapper":
            plan.notes.append(f"{td.span.file.display}:{td.span.line}: {td.address}: not rewritten: an input of your "
                              f"own module; move {', '.join(names)} to the secrets that module takes, by hand")
        elif names and td.kind not in ("plan", "module"):
            plan.notes.append(f"{td.span.file.display}:{td.span.line}: {td.address}: not rewritten: container "
                              f"definitions written as {td.form}; move {', '.join(names)} to `secrets` by hand")
    for td in mr.scan.task_definitions:
        if td.kind == "module":
            continue  # the module planner (`modules.py`) rewrites module inputs
        spans = {(f.span.file.path, f.span.start, f.span.end) for f in flagged if f.resource == td.address}
        if not spans:
            continue
        shared = sorted({p for p, tds in users.items() if td.address in tds and len(tds) > 1})
        if shared:
            plan.notes.append(
                f"{td.span.file.display}:{td.span.line}: {td.address}: not rewritten: "
                f"{os.path.basename(shared[0])} is shared by {len(users[shared[0]])} task definitions; move the entries by hand"
            )
            continue
        plan.extend(_plan_task_definition(mr, td, spans))
    return plan


def _existing_keys(mr: ModuleRewrite, name: str) -> set[str]:
    version = mr.module.resource("aws_secretsmanager_secret_version", name)
    value = (version.attr("secret_string") or version.attr("secret_string_wo")) if version is not None else None
    if isinstance(value, Call) and value.args and isinstance(value.args[0], Obj):
        return {it.key for it in value.args[0].items if it.key}
    return set()


def _plan_task_definition(mr: ModuleRewrite, td: TaskDefinition, flagged: set[tuple[str, int, int]]) -> Plan:
    plan = Plan()
    block = td.block
    where = f"{td.span.file.display}:{td.span.line}: {td.address}"
    if block is None or td.kind != "resource" or (td.form not in _HCL_FORMS and td.form not in _JSON_FORMS):
        plan.notes.append(f"{where}: not rewritten: container definitions written as {td.form}; move the entries by hand")
        return plan
    cd_attr = block.attributes.get("container_definitions")
    assert cd_attr is not None
    cd = cd_attr.value
    if td.form == "local":
        assert isinstance(cd, Call) and cd.args and isinstance(cd.args[0], Ref)
        local_name = cd.args[0].source.split(".", 1)[1].split("[", 1)[0].split(".", 1)[0]
        if _local_uses(mr, local_name) != 1:
            plan.notes.append(f"{where}: not rewritten: local.{local_name} is used more than once; move the entries by hand")
            return plan
    tplvars: Obj | None = None
    if td.form == "templatefile":
        if not (isinstance(cd, Call) and len(cd.args) == 2 and isinstance(cd.args[1], Obj)):
            plan.notes.append(f"{where}: not rewritten: templatefile() variables are not a literal map")
            return plan
        tplvars = cd.args[1]
    if td.form == "file" and not (isinstance(cd, Call) and len(cd.args) == 1):
        plan.notes.append(f"{where}: not rewritten: unexpected file() call")
        return plan

    existing = _existing_secret(mr, td)
    label = block.labels[1]
    index = "[each.key]" if "for_each" in block.attributes else "[count.index]" if "count" in block.attributes else ""
    secret = _Secret(existing or "", index, existing is not None)
    pending: list[tuple[Container, Lst, list[EnvEntry]]] = []
    for container in td.containers:
        entries = [e for e in container.environment if (e.span.file.path, e.span.start, e.span.end) in flagged]
        if not entries:
            continue
        env_list, why = _environment_list(mr, td, container, entries)
        if why is None:
            assert env_list is not None
            why = _unsupported(container, entries, td.form)
        if why:
            plan.notes.append(
                f"{where} container {container.display_name}: not rewritten: {why}; move the entries by hand"
            )
            continue
        assert env_list is not None
        pending.append((container, env_list, entries))
    if not pending:
        return plan

    ssm = mr.options.backend == "ssm"
    if ssm:
        secret.existing = False  # SSM: every run adds its own parameters and policy
    role = None
    if not secret.existing:
        from .roles import execution_role_target

        role = execution_role_target(mr, td)
        if role.role is None and not ssm:
            from .roles import role_of

            exclusive = role_of(mr, td)
            if exclusive.exclusive and exclusive.role is not None:
                role = exclusive  # the grant goes where the role manages its policies (below)
        if role.role is None:
            plan.notes.append(role.note or f"{where}: not rewritten: no execution role to grant the secret to")
            return plan
        if not ssm:
            secret.name = mr.names.free(f"{label}_secrets", _SM_TYPES)
    json_syntax = td.form in _JSON_FORMS
    templated = td.form in ("file", "templatefile")

    keys = SecretKeys(_existing_keys(mr, secret.name) if secret.existing else None)
    values = keys.values
    variables: list[dict[str, str]] = []
    parameters: list[dict[str, str]] = []
    template_vars: list[tuple[str, str]] = []  # (name, arn expression) passed to templatefile()
    for container, env_list, entries in pending:
        value_from: dict[str, str] = {}
        for e in entries:
            assert e.name is not None
            try:
                expr, var_name = _value_expression(mr, td, e, tplvars, label, variables, plan)
            except Refuse as exc:
                plan.notes.append(f"{where} container {container.display_name}: not rewritten: {exc}")
                return Plan(notes=plan.notes)
            if expr is None:
                plan.notes.append(
                    f"{where} container {container.display_name}: not rewritten: the value of {e.name} "
                    "cannot be expressed outside the template; move it by hand"
                )
                return Plan(notes=plan.notes)
            key = keys.key(e.name, expr)
            plan.moved.append(Moved(td.address, container.display_name, e.name, var_name))
            if ssm:
                pname = mr.names.free(f"{label}_{e.name.lower()}", ("aws_ssm_parameter",))
                parameters.append({"name": pname, "key": e.name, "value": expr})
                arn = f"aws_ssm_parameter.{pname}{secret.index}.arn"
                if templated:
                    template_vars.append((f"{pname}_arn", arn))
                    value_from[e.name] = "${" + f"{pname}_arn" + "}"
                else:
                    value_from[e.name] = "${" + arn + "}"
            elif templated:
                value_from[e.name] = "${" + f"{secret.name}_arn" + "}:" + key + "::"
            else:
                value_from[e.name] = "${" + secret.arn + "}:" + key + "::"
        _container_edits(plan, container, env_list, entries, json_syntax, value_from)
    if templated and not ssm:
        template_vars.append((f"{secret.name}_arn", secret.arn))

    if td.form == "file":
        assert isinstance(cd, Call)
        path_text = cd.args[0].span.text
        if _template_unsafe(mr, td):
            plan.notes.append(f"{where}: not rewritten: the JSON file contains `${{` or `%{{`, which templatefile() would evaluate")
            return Plan(notes=plan.notes)
        items = ", ".join(f"{k} = {v}" for k, v in template_vars)
        plan.add(block.file, Edit(cd.span.start, cd.span.end, f"templatefile({path_text}, {{ {items} }})"))
    elif td.form == "templatefile" and tplvars is not None:
        for k, v in template_vars:
            if not re.search(r"\b" + re.escape(k) + r"\b", tplvars.span.text):
                _add_map_item(plan, tplvars, k, v)

    if secret.existing:
        _extend_existing(mr, plan, td, secret, values, variables)
        return plan
    assert role is not None and role.role is not None
    plan.extend(role.plan)
    meta = ""
    for arg in ("for_each", "count"):
        if arg in block.attributes:
            meta = block.attributes[arg].span.text
    suffix = {"[each.key]": "-${each.key}", "[count.index]": "-${count.index}"}.get(secret.index, "")
    common = dict(
        index=secret.index,
        meta=meta,
        td_address=td.address,
        role=role.role,
        variables=variables,
        write_only=mr.options.write_only is True if ssm else _write_only(mr),
        kms_key_id=mr.options.kms_key_id,
    )
    if role.exclusive and not ssm:
        from . import deploy

        rendered = render(
            mr.options.templates, "module_secret.tf.j2", name=secret.name, name_prefix=_name_prefix(block, label),
            values=values, grant=f"{role.resource_address()} reads it through its own policies (below)", **common,
        )
        _place_generated(mr, plan, block, rendered)
        grants = deploy._Grants()
        grants.add(deploy.SECRET_READ, secret.arn)
        if mr.options.kms_key_id:
            grants.add(deploy.DECRYPT, mr.options.kms_key_id)
        deploy._emit_policy(mr, plan, td, role, grants, base=f"{label}-secrets")
        return plan
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
    _place_generated(mr, plan, block, rendered)
    return plan


def _place_generated(mr: ModuleRewrite, plan: Plan, block: Block, rendered: str) -> None:
    """Right after the task definition (one hunk to review), or at the end of --output-file."""
    name = mr.options.output_file
    if not name:
        plan.add(block.file, block_end_insert(block.file.text, block.span.end, rendered))
        return
    path = os.path.join(mr.module.dir, name)
    src = next((f for f in mr.module.files if os.path.abspath(f.path) == os.path.abspath(path)), None)
    if src is None:
        src = plan.files[path][0] if path in plan.files else None
    if src is None:
        display = os.path.join(os.path.dirname(block.file.display), name)
        src = SourceFile(path=path, display=display, text="")
    # every block starts with a blank line; the driver strips it at the top of a new file
    plan.add(src, Edit(len(src.text), len(src.text), "\n" + rendered.strip("\n") + "\n"))


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
    return _hcl_string(f"{label}-")


def _environment_list(
    mr: ModuleRewrite, td: TaskDefinition, container: Container, entries: list[EnvEntry]
) -> tuple[Lst | None, str | None]:
    env = container.environment_expr
    if isinstance(env, Ref) and env.root == "local" and td.form in _HCL_FORMS:
        name = env.source.split(".", 1)[1]
        attr = mr.module.local(name)
        if attr is None or not isinstance(attr.value, Lst):
            return None, f"environment is {env.source}, which is not a literal list"
        if _local_uses(mr, name) != 1:
            return None, f"{env.source} is used more than once"
        env = attr.value
    if not isinstance(env, Lst):
        return None, "environment is not a literal list"
    if not all(_within(e.span, env.span) for e in entries):
        return None, "environment entries are built from several lists"
    return env, None


def _unsupported(container: Container, entries: list[EnvEntry], form: str) -> str | None:
    obj = container.obj
    if obj is None:
        return "container is not a literal object"
    if not obj.items:
        return "empty container object"
    if container.secrets_expr is not None and not isinstance(container.secrets_expr, Lst):
        return "secrets that is not a literal list"
    for e in entries:
        if e.name is None:
            return "an entry name is not a literal"
        keys = set(re.findall(r'"([^"\\]+)"\s*:', e.span.text) if json_syntax_of(e) else
                   re.findall(r'(?:^|[{,\s])"?([A-Za-z_][\w-]*)"?\s*=(?!=)', _without_strings(e.span.text)))
        if keys - {"name", "value"}:
            return f"the entry {e.name} has keys other than name and value"
        if e.value is None:
            return f"{e.name} has no value"
        if "\n" in e.value.at_entry.span.text:
            return "multi-line environment value"
    return None


def json_syntax_of(e: EnvEntry) -> bool:
    return e.span.text.lstrip("{ \t\r\n").startswith('"')


def _without_strings(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def _template_unsafe(mr: ModuleRewrite, td: TaskDefinition) -> bool:
    files = {c.obj.span.file.path: c.obj.span.file for c in td.containers if c.obj is not None}
    return any("${" in f.text or "%{" in f.text for f in files.values())


class Refuse(Exception):
    """This entry cannot be moved safely; the message says why (never a value)."""


def _value_expression(
    mr: ModuleRewrite, td: TaskDefinition, e: EnvEntry, tplvars: Obj | None, label: str,
    variables: list[dict[str, str]], plan: Plan,
) -> tuple[str | None, str | None]:
    """The HCL expression that gives the secret its value, and the new variable's name, if any."""
    assert e.value is not None and e.name is not None
    at = e.value.at_entry
    if isinstance(at, Str) and at.is_template and mr.options.literal_values != "keep":
        from ..rules.values import view_expr
        from ..secrets import classify

        verdict = classify(None, view_expr(at).text, config=None)
        if verdict is not None and "interpolated from" not in verdict.why:
            raise Refuse(f"the value of {e.name} mixes a committed secret with references ({verdict.why}): "
                          "replace the secret part with a variable, then run ecsfix rewrite again")
    if _is_literal(e):
        if mr.options.literal_values == "keep":
            plan.warnings.append(
                f"{td.address}: {e.name}: --literal-values keep copies a committed secret into the secret "
                "version; rotate it anyway"
            )
            if isinstance(at, Str) and at.value is not None:
                plan.hidden.add(at.value)
                return _hcl_string(at.value), None
            plan.hidden.add(at.span.text)
            return at.span.text, None
        base = f"{label}_{re.sub(r'[^a-z0-9_]', '_', e.name.lower())}"
        var_name = mr.names.free(base, ("var",))
        description = _hcl_string(f"{e.name} for {td.address} (set outside git)")[1:-1]
        variables.append({"name": var_name, "description": description})
        return f"var.{var_name}", var_name
    if td.form in _HCL_FORMS or td.kind == "module":
        if isinstance(at, Str) and at.sole_interp() is not None:
            interp = at.sole_interp()
            assert interp is not None
            return interp.source.strip(), None  # fmt would turn a lone "${x}" into x
        return at.span.text, None
    if not isinstance(at, Str):
        return None, None
    if not at.span.text.startswith('"'):
        # an unquoted `${...}` in the JSON: its text *is* JSON; only `${jsonencode(x)}` is safe to undo
        interp = at.sole_interp()
        m = re.fullmatch(r"\s*jsonencode\((.*)\)\s*", interp.source, re.S) if interp is not None else None
        if m is None or td.form != "heredoc":
            return None, None
        return m.group(1).strip(), None
    # JSON string in a heredoc (an HCL template) or in a templatefile() template
    pieces: list[str] = []
    for part in at.parts:
        if isinstance(part, str):
            pieces.append(_hcl_string(part)[1:-1])
            continue
        source = part.source.strip()
        if td.form == "templatefile":
            item = tplvars.item(source) if tplvars is not None and _IDENT.match(source) else None
            if item is None:
                return None, None
            source = item.value.span.text
            if "\n" in source:
                return None, None
        pieces.append("${" + source + "}")
    if len(at.parts) == 1 and not isinstance(at.parts[0], str):
        return pieces[0][2:-1], None
    return '"' + "".join(pieces) + '"', None


def _container_edits(
    plan: Plan, container: Container, env_list: Lst, entries: list[EnvEntry], json_syntax: bool,
    value_from: dict[str, str],
) -> None:
    obj = container.obj
    assert obj is not None
    src = obj.span.file
    text = src.text
    env_src = env_list.span.file
    nl = newline_of(text)
    first = env_list.items[0].span.text if env_list.items else ""
    spaced = first.startswith("{ ") or not json_syntax
    new_items = [_secret_item(json_syntax, e.name or "", value_from[e.name or ""], spaced) for e in entries]
    env_item = obj.item("environment")
    inline = env_item is not None and env_item.value is env_list
    all_moved = len(entries) == len(env_list.items)
    secrets = container.secrets_expr
    assert secrets is None or isinstance(secrets, Lst)
    key = '"secrets"' if json_syntax else "secrets"
    sep = ": " if json_syntax else " = "

    if all_moved and inline and env_item is not None and secrets is None and "\n" in env_item.span.text \
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
    if all_moved and inline and env_item is not None and secrets is not None:
        _remove_object_item(plan, obj, env_item, json_syntax)
    elif all_moved:
        plan.add(env_src, Edit(env_list.span.start, env_list.span.end, "[]"))
    elif json_syntax:
        _json_remove(plan, env_src, [it.span for it in env_list.items],
                     {i for i, it in enumerate(env_list.items) if any(it.span.start == e.span.start for e in entries)})
    else:
        for e in entries:
            plan.add(env_src, remove_item(env_src.text, e.span.start, e.span.end))

    if isinstance(secrets, Lst):
        close = secrets.span.end - 1
        close_line = line_start(text, close)
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
                               "[" + ", ".join([it.span.text for it in secrets.items] + new_items) + "]"))
            return
        # `secrets = []` or a one-line list: a multi-line list with the old and new items
        indent = indent_of(text, secrets.span.start)
        old = [it.span.text for it in secrets.items]
        if json_syntax:
            body = ("," + nl).join(indent + "  " + s for s in old + new_items) + nl
        else:
            body = "".join(indent + "  " + s + "," + nl for s in old + new_items)
        plan.add(src, Edit(secrets.span.start, secrets.span.end, "[" + nl + body + indent + "]"))
        return
    close = obj.span.end - 1
    if text[line_start(text, close) : close].strip():
        # the closing brace shares its line (a one-line container): `, secrets = [...]` before it
        last = obj.items[-1].span.end
        plan.add(src, Edit(last, last, ", " + key + sep + "[" + ", ".join(new_items) + "]"))
        return
    indent = indent_of(text, obj.items[0].span.start) if obj.items else indent_of(text, close) + "  "
    if json_syntax:
        last = obj.items[-1].span.end
        items = ("," + nl).join(indent + "  " + s for s in new_items)
        plan.add(src, Edit(last, last, "," + nl + indent + key + sep + "[" + nl + items + nl + indent + "]"))
        return
    close_line = line_start(text, close)
    block_text = indent + "secrets = [" + nl + "".join(indent + "  " + s + "," + nl for s in new_items) + indent + "]" + nl
    plan.add(src, Edit(close_line, close_line, block_text))


def _json_remove(plan: Plan, src: SourceFile, items: list[Span], remove: set[int]) -> None:
    """Remove JSON list/object items with their commas (JSON has no trailing comma)."""
    n = len(items)
    i = 0
    while i < n:
        if i not in remove:
            i += 1
            continue
        j = i
        while j + 1 < n and j + 1 in remove:
            j += 1
        if j + 1 < n:
            plan.add(src, Edit(items[i].start, items[j + 1].start, ""))
        elif i > 0:
            plan.add(src, Edit(items[i - 1].end, items[j].end, ""))
        i = j + 1


def _remove_object_item(plan: Plan, obj: Obj, item: ObjItem, json_syntax: bool) -> None:
    src = obj.span.file
    if json_syntax:
        idx = next(i for i, it in enumerate(obj.items) if it is item)
        _json_remove(plan, src, [it.span for it in obj.items], {idx})
    else:
        plan.add(src, remove_item(src.text, item.span.start, item.span.end))


def _add_map_item(plan: Plan, obj: Obj, key: str, expr: str) -> None:
    """Add `key = expr` to an HCL object constructor (multi-line: its own line; else after the last item)."""
    src = obj.span.file
    text = src.text
    close = obj.span.end - 1
    if obj.items and text[line_start(text, close) : close].strip() == "":
        indent = indent_of(text, obj.items[0].span.start)
        at = line_start(text, close)
        plan.add(src, Edit(at, at, f"{indent}{key} = {expr}{newline_of(text)}"))
    elif obj.items:
        last = obj.items[-1].span.end
        plan.add(src, Edit(last, last, f", {key} = {expr}"))
    else:
        plan.add(src, Edit(obj.span.start, obj.span.end, f"{{ {key} = {expr} }}"))


def _extend_existing(
    mr: ModuleRewrite, plan: Plan, td: TaskDefinition, secret: _Secret,
    values: list[tuple[str, str]], variables: list[dict[str, str]],
) -> None:
    """A later run: new keys join the secret an earlier run generated; its policy already covers them."""
    version = mr.module.resource("aws_secretsmanager_secret_version", secret.name)
    where = f"{td.span.file.display}:{td.span.line}: {td.address}"
    value = None
    if version is not None:
        value = version.attr("secret_string") or version.attr("secret_string_wo")
    if not (isinstance(value, Call) and value.name == "jsonencode" and value.args and isinstance(value.args[0], Obj)):
        plan.notes.append(f"{where}: not rewritten: aws_secretsmanager_secret_version.{secret.name} "
                          "no longer has the generated jsonencode({...}) value")
        plan.files.clear()
        plan.moved.clear()
        return
    assert version is not None
    for key, expr in values:
        _add_map_item(plan, value.args[0], key, expr)
    wo = version.attributes.get("secret_string_wo_version")
    if wo is not None and isinstance(wo.value, Num) and wo.value.source.isdigit():
        plan.add(version.file, Edit(wo.value.span.start, wo.value.span.end, str(int(wo.value.source) + 1)))
    if variables:
        rendered = render(mr.options.templates, "variables.tf.j2", variables=variables)
        plan.add(version.file, block_end_insert(version.file.text, version.span.end, rendered))


# --------------------------------------------------------------------------- write-only values

_CONSTRAINT = re.compile(r"^\s*(>=|>|~>|=|!=|<=|<)?\s*v?(\d+(?:\.\d+){0,2})")


def _min_version(constraint: str) -> tuple[int, ...] | None:
    best: tuple[int, ...] | None = None
    for term in constraint.split(","):
        m = _CONSTRAINT.match(term)
        if not m:
            return None
        op = m.group(1) or "="
        if op in (">=", ">", "~>", "="):
            v = tuple(int(x) for x in m.group(2).split("."))
            v = v + (0,) * (3 - len(v))
            best = v if best is None or v > best else best
    return best


def _write_only(mr: ModuleRewrite) -> bool:
    """SPEC §5: write-only values when the constraints guarantee Terraform >= 1.11 and AWS provider >= 5.88."""
    if mr.options.write_only is not None:
        return mr.options.write_only
    tf_ok = aws_ok = False
    for b in mr.module.blocks("terraform"):
        rv = b.attr("required_version")
        if isinstance(rv, Str) and rv.value:
            v = _min_version(rv.value)
            tf_ok = tf_ok or (v is not None and v >= (1, 11, 0))
        for rp in b.blocks:
            if rp.type != "required_providers":
                continue
            aws = rp.attr("aws")
            version = aws.get("version") if isinstance(aws, Obj) else None
            if isinstance(version, Str) and version.value:
                v = _min_version(version.value)
                aws_ok = aws_ok or (v is not None and v >= (5, 88, 0))
    return tf_ok and aws_ok


# --------------------------------------------------------------------------- re-alignment


def _line_has_assign(line: str) -> int | None:
    """Offset of a top-level `=` on a line whose brackets balance, else None (terraform fmt chains)."""
    depth = 0
    in_str = False
    eq: int | None = None
    i = 0
    n = len(line)
    stripped = line.lstrip()
    if not stripped or stripped.startswith(("#", "//", "/*", "}", "]", ")")):
        return None
    while i < n:
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "#" or line.startswith("//", i):
            break
        elif c == "=" and depth == 0 and eq is None:
            prev = line[i - 1] if i else ""
            nxt = line[i + 1] if i + 1 < n else ""
            if prev not in "=!<>" and nxt not in "=>":
                eq = i
        i += 1
    if in_str or depth != 0:
        return None
    if eq is not None and line[eq + 1 :].strip().startswith("<<"):
        return eq  # a heredoc attribute belongs to the chain
    return eq


def realign(text: str, touched: Sequence[tuple[int, int]]) -> str:
    """Re-align the `=` of the chains that contain touched lines, as `terraform fmt` does."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    masked = [False] * len(lines)
    i = 0
    while i < len(lines):
        m = re.search(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)\s*$", lines[i].rstrip("\r"))
        if m:
            marker = m.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip() != marker:
                masked[j] = True
                j += 1
            if j < len(lines):
                masked[j] = True
            i = j + 1
            continue
        i += 1
    import bisect

    hot: set[int] = set()
    for start, end in touched:
        a = bisect.bisect_right(starts, start) - 1
        b = bisect.bisect_right(starts, max(start, end - 1)) - 1
        hot.update(range(max(a - 1, 0), min(b + 2, len(lines))))
    out = list(lines)
    i = 0
    while i < len(lines):
        if masked[i] or _line_has_assign(lines[i].rstrip("\r")) is None:
            i += 1
            continue
        chain: list[int] = []
        j = i
        while j < len(lines):
            if masked[j]:
                j += 1
                continue
            if _line_has_assign(lines[j].rstrip("\r")) is None:
                break
            chain.append(j)
            j += 1
        if hot.intersection(chain) and len(chain) > 0:
            parts = []
            for k in chain:
                line = lines[k]
                cr = "\r" if line.endswith("\r") else ""
                body = line[: len(line) - len(cr)]
                eq = _line_has_assign(body)
                assert eq is not None
                parts.append((k, body[:eq].rstrip(), body[eq + 1 :].strip(), cr))
            width = max(len(lead) for _, lead, _, _ in parts)
            for k, lead, rest, cr in parts:
                out[k] = f"{lead.ljust(width)} = {rest}{cr}" if rest else f"{lead.ljust(width)} ={cr}"
        i = j if j > i else i + 1
    return "\n".join(out)


def apply_and_realign(src: SourceFile, edits: Sequence[Edit]) -> str:
    nl = newline_of(src.text)
    fixed = sorted((Edit(e.start, e.end, e.text.replace("\r\n", "\n").replace("\n", nl)) for e in edits),
                   key=lambda e: (e.start, e.end))
    new = apply_edits(src.text, fixed)
    if src.path.endswith((".json", ".tpl")) or not src.path.endswith(".tf"):
        return new
    touched: list[tuple[int, int]] = []
    delta = 0
    for e in fixed:
        start = e.start + delta
        touched.append((start, start + len(e.text)))
        delta += len(e.text) - (e.end - e.start)
    return realign(new, touched)


# --------------------------------------------------------------------------- driver


def _planners() -> list[Callable[[ModuleRewrite], Plan]]:
    from . import deploy, modules

    return [plan_secrets, deploy.plan, modules.plan]


def rewrite(
    paths: Sequence[str] = (".",), *, templates: str | None = None, root: str | None = None,
    options: Options | None = None,
) -> RewriteResult:
    """Plan the rewrite of every fixable finding under `paths`; nothing is written here."""
    options = options or Options()
    if templates is not None:
        options.templates = templates
    result = RewriteResult()
    found = discover(list(paths), (), root)
    for directory, files in found.modules.items():
        errors: list = []
        module = load_module(directory, files, root, errors)
        result.errors.extend(e.render() for e in errors)
        if module is None:
            continue
        ms = scan_module(module, root, found.focus.get(directory))
        ctx = RuleContext(module=module, resolver=ms.resolver)
        findings = list(run_rules(ms.task_definitions, ctx))
        mr = ModuleRewrite(module, ms, findings, Names(module.files), options)
        plan = Plan()
        for planner in _planners():
            plan.extend(planner(mr))
        result.notes.extend(plan.notes)
        result.warnings.extend(plan.warnings)
        result.fixed.extend(plan.fixed)
        changes: list[FileChange] = []
        broken = False
        for src, edits in plan.files.values():
            if not edits:
                continue
            try:
                new = apply_and_realign(src, edits)
                if not src.text:
                    new = new.lstrip("\r\n")  # a new file (--output-file) starts with its first block
            except EcsfixError as exc:
                result.errors.append(f"{src.display}: error: {exc.message}; nothing written")
                broken = True
                continue
            why = _check_parses(src, new)
            if why:
                result.errors.append(f"{src.display}: error: rewrite result does not parse ({why}); nothing written")
                broken = True
                continue
            if new != src.text:
                created = not src.text and not os.path.exists(src.path)
                changes.append(FileChange(src.path, src.display, src.text, new, created, frozenset(plan.hidden)))
        if broken:
            continue  # a module is rewritten whole or not at all
        result.changes.extend(changes)
        result.moved.extend(plan.moved)
    return result


def _check_parses(src: SourceFile, new: str) -> str | None:
    check = SourceFile(path=src.path, display=src.display, text=new)
    try:
        if src.path.endswith(".tf"):
            from ..hclparse import parse_file

            parse_file(check)
        else:
            from ..jsonscan import scan_json

            scan_json(check, templates=True)
    except EcsfixError as exc:
        return exc.message
    return None


def summary_markdown(result: RewriteResult, backend: str = "secretsmanager") -> str:
    """The pull request description: what moved (never a value), what to set, what to rotate."""
    lines = ["## ecsfix rewrite", ""]
    if not result.moved and not result.fixed:
        lines.append("Nothing to move.")
    if result.moved:
        where = "SSM Parameter Store" if backend == "ssm" else "AWS Secrets Manager"
        lines += [f"Moved from `environment` to `secrets` ({where}):", ""]
        lines += [f"* `{m.task_definition}` container `{m.container}`: `{m.name}`" for m in result.moved]
    if result.fixed:
        lines += ["", "Deploy-readiness fixes (tasks would otherwise fail with `ResourceInitializationError`):", ""]
        lines += [f"* {line}" for line in result.fixed]
    new_vars = [m for m in result.moved if m.variable]
    if new_vars:
        lines += ["", "Set these new sensitive variables (outside git, e.g. `TF_VAR_<name>` in CI), then **rotate** "
                  "the old values: they were committed and stay in git history:", ""]
        lines += [f"* `var.{m.variable}` (was the literal value of `{m.name}`)" for m in new_vars]
    if result.warnings:
        lines += ["", "Warnings:", ""] + [f"* {w}" for w in result.warnings]
    if result.notes:
        lines += ["", "Left for a manual change:", ""] + [f"* {n}" for n in result.notes]
    if result.moved or result.fixed:
        lines += ["", "Deploy effect: `container_definitions` changes force a new task-definition revision; "
                  "services roll their tasks onto it."]
    lines.append("")
    return "\n".join(lines)
