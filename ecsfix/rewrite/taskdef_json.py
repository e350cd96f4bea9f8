"""Raw ECS task-definition JSON (`aws ecs register-task-definition --cli-input-json`, the
amazon-ecs-render-task-definition action): EF001 entries move from `environment` to `secrets`,
in place, in the file's own style.

One secret per task-definition file holds a JSON object; each moved entry becomes
`{"name": NAME, "valueFrom": "<secret ARN>:KEY::"}` (KEY: the entry's name, `NAME_2` when two
containers set one name to different values -- the keys the Terraform rewrite gives). The secret ARN
is `--secret-arn`, or built from `--secret-name` with the account and Region the file itself names
(executionRoleArn, an ECR image host, awslogs-region, ARNs already in `secrets`); whatever is not
known is written as a `<placeholder>` that EF103 flags until it is set.

Secrets Manager resolves a partial ARN (no `-AbCdEf` suffix) when it matches exactly one secret,
so an ARN built from a name works as `valueFrom`; the summary asks for the complete ARN
(`--secret-arn`) anyway, and grants the role `NAME-??????`.

Edits are copied from the file's own text: a new `secrets` item is an existing one (or the moved
entry itself) with its strings replaced, separators are the ones between the neighbouring items,
so indentation (spaces, tabs), one-line objects, CRLF and a missing final newline stay as they are.

A file some Terraform configuration reads (`file()`/`templatefile()`) belongs to that
configuration's rewrite and is left alone here. Nothing in this module reads a file or imports
the scan (`scan` asks `decisions` what would move).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model import (
    Container,
    EnvEntry,
    Expr,
    Finding,
    Lst,
    Null,
    Obj,
    ObjItem,
    SourceFile,
    Str,
    TaskDefinition,
)
from .containers import entry_refusal
from .edits import Edit, apply_edits, indent_of, newline_of, remove_json_items
from .plan import Moved, Options

PLACEHOLDER_REGION = "<region>"
PLACEHOLDER_ACCOUNT = "<account-id>"
PLACEHOLDER_NAME = "<secret-name>"

_SECRET_ARN = re.compile(r"^arn:(aws[a-z-]*):secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)$")
_PARAM_ARN = re.compile(r"^arn:(aws[a-z-]*):ssm:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):parameter(/[A-Za-z0-9/_.-]+)$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$")
_ECR = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?/")
_ANY_ARN = re.compile(r"^arn:(aws[a-z-]*):(?:secretsmanager|ssm|kms|logs|ecs):([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):")
# A value a render step fills in (envsubst, amazon-ecs-render-task-definition inputs, Jinja,
# Mustache, ERB, Octopus, %VAR% substitution): the secret is wherever that step takes it from.
_RENDERED = re.compile(r"\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*\b|\{\{.*?\}\}|<%.*?%>|#\{[^}]*\}|__[A-Z0-9_]+__"
                       r"|%[A-Za-z_][A-Za-z0-9_]*%")
# A valueFrom an earlier run wrote with placeholders; group 1: its JSON key
_PLACEHOLDER_VF = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[^:]+:[^:]+:secret:[^:]+:([^:]+)::$")
_COMPLETE = re.compile(r"-[A-Za-z0-9]{6}$")  # the random suffix Secrets Manager adds to a secret's ARN


def secret_arn_problem(arn: str) -> str | None:
    """Why `--secret-arn` is not a Secrets Manager secret ARN or an SSM parameter ARN, or None."""
    if _SECRET_ARN.match(arn) or _PARAM_ARN.match(arn):
        return None
    if ":secretsmanager:" in arn and arn.count(":") > 6:
        return ("--secret-arn takes the secret's ARN without a `:json-key::` suffix "
                "(ecsfix adds one key per entry): arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")
    return ("--secret-arn takes a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) "
            "or an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/PATH)")


def secret_name_problem(name: str) -> str | None:
    if not _SECRET_NAME.match(name):
        return "--secret-name takes a Secrets Manager secret name (letters, digits and /_+=.@-)"
    if name.startswith("arn:"):
        return "--secret-name takes a name; give an ARN with --secret-arn"
    return None


@dataclass
class SecretPlan:
    """The secret one task-definition file's entries moved to: what the summary tells the user."""

    file: str  # display path of the task-definition file
    family: str | None
    base: str  # the secret ARN (or SSM parameter path ARN) the entries' valueFrom start with
    name: str | None  # the secret name to create (None: --secret-arn names an existing one)
    ssm: bool = False
    keys: list[str] = field(default_factory=list)  # JSON keys (SSM: parameter names under the path)
    role: str | None = None  # executionRoleArn, when the file gives it literally
    missing: list[str] = field(default_factory=list)  # placeholders left in `base`

    @property
    def complete(self) -> bool:
        """The ARN carries Secrets Manager's random suffix (a partial ARN does not)."""
        return self.name is None and bool(_COMPLETE.search(self.base.rsplit(":", 1)[-1]))


@dataclass
class FilePlan:
    edits: list[Edit] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    secret: SecretPlan | None = None
    filled: int = 0  # placeholders of an earlier run replaced by the ARN given now


def _literal(expr: Expr | None) -> str | None:
    return expr.value if isinstance(expr, Str) and not expr.is_template else None


# --------------------------------------------------------------------------- the secret's ARN


def _found_parts(doc: Obj, td: TaskDefinition) -> tuple[str | None, str | None, str | None]:
    """(partition, account, Region) the file names: roles, images, log options, existing ARNs, the
    taskDefinitionArn of a saved `describe-task-definition` output."""
    partition = account = region = None
    accounts: list[str] = []
    regions: list[str] = []
    for key in ("executionRoleArn", "taskRoleArn"):
        m = _ROLE_ARN.match(_literal(doc.get(key)) or "")
        if m:
            partition = partition or m.group(1)
            accounts.append(m.group(2))
    ecr_accounts: list[str] = []
    for c in td.containers:
        if c.obj is None:
            continue
        log = c.obj.get("logConfiguration")
        options = log.get("options") if isinstance(log, Obj) else None
        logs_region = _literal(options.get("awslogs-region")) if isinstance(options, Obj) else None
        if logs_region and re.fullmatch(r"[a-z]{2}(?:-[a-z]+)+-\d", logs_region):
            regions.insert(0, logs_region)
        m = _ECR.match(_literal(c.obj.get("image")) or "")
        if m:
            ecr_accounts.append(m.group(1))
            regions.append(m.group(2))
        for s in c.secrets:
            m = _ANY_ARN.match(_literal(s.value_from) or "")
            if m:
                partition = partition or m.group(1)
                accounts.append(m.group(3))
                regions.append(m.group(2))
    m = _ANY_ARN.match(_literal(doc.get("taskDefinitionArn")) or "")  # describe-task-definition output
    if m:
        partition = partition or m.group(1)
        accounts.append(m.group(3))
        regions.append(m.group(2))
    accounts.extend(ecr_accounts)  # a shared registry account: the last resort
    account = accounts[0] if accounts else None
    region = regions[0] if regions else None
    return partition, account, region


def secret_base(doc: Obj, td: TaskDefinition, options: Options) -> tuple[str, str | None, bool, list[str]]:
    """(base ARN, secret name to create or None, SSM?, placeholders left) for one file."""
    if options.secret_arn:
        return options.secret_arn, None, options.secret_arn.split(":", 3)[2] == "ssm", []
    partition, account, region = _found_parts(doc, td)
    missing = [p for p, v in ((PLACEHOLDER_REGION, region), (PLACEHOLDER_ACCOUNT, account),
                              (PLACEHOLDER_NAME, options.secret_name)) if not v]
    name = options.secret_name or PLACEHOLDER_NAME
    base = f"arn:{partition or 'aws'}:secretsmanager:{region or PLACEHOLDER_REGION}:" \
           f"{account or PLACEHOLDER_ACCOUNT}:secret:{name}"
    return base, name, False, missing


def value_from(base: str, ssm: bool, key: str) -> str:
    return f"{base.rstrip('/')}/{key}" if ssm else f"{base}:{key}::"


# --------------------------------------------------------------------------- planning one file


_READ = re.compile(r"\b(file|templatefile)\(\s*\"((?:[^\"\\]|\\.)*)\"")


def terraform_reads(files: Iterable[SourceFile]) -> dict[str, str]:
    """JSON files Terraform files read with file()/templatefile() (absolute path -> `main.tf:3 file()`).
    `${path.module}`/`${path.root}`/`${path.cwd}` and relative paths resolve against the file's
    directory; a path built from anything else is matched by its last part."""
    out: dict[str, str] = {}
    for src in files:
        if "file(" not in src.text:
            continue
        base = os.path.dirname(os.path.abspath(src.path))
        for m in _READ.finditer(src.text):
            raw = m.group(2)
            if ".json" not in raw:
                continue
            where = f"{src.display}:{src.text.count(chr(10), 0, m.start()) + 1} {m.group(1)}()"
            path = re.sub(r"^\$\{path\.(?:module|root|cwd)\}/?", "", raw)
            if "${" in path:
                out["*/" + path.rsplit("/", 1)[-1]] = where
                continue
            out[os.path.normpath(os.path.join(base, path))] = where
    return out


def read_by(path: str, reads: dict[str, str]) -> str | None:
    """Where a Terraform file reads the JSON file at `path` (`terraform_reads`), or None."""
    full = os.path.abspath(path)
    return reads.get(full) or reads.get("*/" + os.path.basename(full))


def plan_file(src: SourceFile, doc: Obj, td: TaskDefinition, findings: list[Finding], options: Options,
              read_by: str | None = None) -> FilePlan:
    """The edits that move this file's fixable EF001 entries; notes for those left, with why.
    `read_by`: where a Terraform configuration reads this file (then it is that rewrite's)."""
    out = FilePlan()
    flagged = [f for f in findings if f.rule == "EF001" and f.manual is None and f.span.file is src]
    filling = bool(options.secret_arn or options.secret_name) and "<" in src.text
    if not flagged and not filling:
        return out
    at = f"{src.display}:{td.span.line}: {td.address}"
    if read_by:
        out.notes.append(f"{at}: not rewritten: it is read by Terraform ({read_by}), so it belongs to that "
                         "configuration's rewrite; move the entries there, by hand")
        return out
    cds = doc.get("containerDefinitions")
    if not isinstance(cds, Lst):
        out.notes.append(f"{at}: not rewritten: containerDefinitions is not a list; move the entries by hand")
        return out
    spans = {(f.span.start, f.span.end) for f in flagged}
    base, name, ssm, missing = secret_base(doc, td, options)
    secret = SecretPlan(src.display, _literal(doc.get("family")), base, name, ssm,
                        role=_literal(doc.get("executionRoleArn")), missing=missing)
    keys: dict[tuple[str, str], str] = {}
    if filling:  # a later run with the option: the placeholders an earlier run wrote get the ARN
        for container in td.containers:
            for s in container.secrets:
                old = _literal(s.value_from)
                m = _PLACEHOLDER_VF.match(old or "")
                if m is None or s.value_from is None or "<" not in m.group(0).rsplit(":", 3)[0]:
                    continue
                new = value_from(base, ssm, m.group(1))
                if new != old:
                    out.edits.append(Edit(s.value_from.span.start, s.value_from.span.end, json.dumps(new)))
                    keys[(m.group(1), "\0" + m.group(1))] = m.group(1)
                    secret.keys.append(m.group(1))
                    out.filled += 1
    for container in td.containers:
        entries = [e for e in container.environment if (e.span.start, e.span.end) in spans]
        if not entries:
            continue
        where = f"{at} container {container.display_name}"
        why = _container_refusal(container)
        if why:
            out.notes.append(f"{where}: not rewritten: {why}; move the entries by hand")
            continue
        movable = []
        for e in entries:
            why = _entry_refusal(container, e)
            if why:
                out.notes.append(f"{where}: not rewritten: {why}; move it by hand")
            else:
                movable.append(e)
        if not movable:
            continue
        froms: dict[int, str] = {}
        for e in movable:
            assert e.name is not None
            value = _literal(e.value.at_entry) if e.value is not None else None
            key = keys.get((e.name, value or ""))
            if key is None:
                key, n = e.name, 1
                while key in keys.values():
                    n += 1
                    key = f"{e.name}_{n}"
                keys[(e.name, value or "")] = key
                secret.keys.append(key)
            froms[id(e)] = value_from(base, ssm, key)
            out.moved.append(Moved(td.address, container.display_name, e.name, None,
                                       f"{e.span.file.display}:{e.span.line}", committed=True))
        out.edits.extend(_container_edits(src, container, movable, froms))
    if out.moved or out.filled:
        out.secret = secret
    return out


def _container_refusal(container: Container) -> str | None:
    if container.obj is None or not container.obj.items:
        return "the container is not a JSON object"
    if not isinstance(container.environment_expr, Lst) or container.obj.item("environment") is None \
            or container.obj.get("environment") is not container.environment_expr:
        return "environment is not a list"
    if container.secrets_expr is not None and not isinstance(container.secrets_expr, (Lst, Null)):
        return "secrets is not a list"
    return None


def _entry_refusal(container: Container, e: EnvEntry) -> str | None:
    why = entry_refusal(e)
    if why:
        return why
    value = _literal(e.value.at_entry) if e.value is not None else None
    if value is None:
        return f"the value of {e.name} is not a JSON string"
    m = _RENDERED.search(value)
    if m:
        shape = {"$": "${...}" if m.group(0).startswith("${") else "$VAR", "{": "{{ ... }}", "<": "<% ... %>",
                 "#": "#{...}", "_": "__TOKEN__", "%": "%VAR%"}[m.group(0)[0]]
        return (f"the value of {e.name} holds a placeholder ({shape}) that a render step fills in: the secret "
                "comes from that step; reference it from `secrets` there")
    if any(s.name == e.name for s in container.secrets):
        return f"the container has a secret named {e.name} already"
    if sum(1 for other in container.environment if other.name == e.name) > 1:
        return f"environment sets {e.name} more than once"
    return None


# --------------------------------------------------------------------------- the edits


def _container_edits(src: SourceFile, container: Container, entries: list[EnvEntry],
                     froms: dict[int, str]) -> list[Edit]:
    text = src.text
    obj = container.obj
    env = container.environment_expr
    assert obj is not None and isinstance(env, Lst)
    env_item = obj.item("environment")
    assert env_item is not None
    secrets = container.secrets_expr
    assert secrets is None or isinstance(secrets, (Lst, Null))
    entry_objs = {it.span.start: it for it in env.items}
    moved_idx = {i for i, it in enumerate(env.items) if any(e.span.start == it.span.start for e in entries)}
    template = _secret_template(secrets if isinstance(secrets, Lst) else None)
    new_items = []
    for e in entries:
        shape = template or entry_objs[e.span.start]
        assert isinstance(shape, Obj)
        new_items.append(_render_item(text, shape, e.name or "", froms[id(e)]))
    all_moved = len(moved_idx) == len(env.items)
    edits: list[Edit] = []

    if all_moved and secrets is None:
        # `"environment": [...]` becomes `"secrets": [...]`: each entry in its own place
        edits.append(Edit(env_item.key_span.start, env_item.key_span.end, '"secrets"'))
        for e, item in zip(entries, new_items, strict=True):
            edits.append(Edit(e.span.start, e.span.end, item))
        return edits
    if all_moved:
        idx = next(i for i, it in enumerate(obj.items) if it is env_item)
        edits.extend(remove_json_items([it.span for it in obj.items], {idx}))
    else:
        edits.extend(remove_json_items([it.span for it in env.items], moved_idx))

    if isinstance(secrets, Lst) and secrets.items:
        last = secrets.items[-1].span.end
        edits.append(Edit(last, last, "".join(_list_separator(text, secrets) + s for s in new_items)))
    elif secrets is not None:  # `"secrets": []` or `null` (as `describe-task-definition` prints it)
        edits.append(Edit(secrets.span.start, secrets.span.end, _new_list(text, env, new_items)))
    else:  # a new `"secrets"` right after `environment`
        kv = text[env_item.key_span.end : env_item.value.span.start]  # `": "` as the file writes it
        edits.append(Edit(env_item.span.end, env_item.span.end,
                          _item_separator(text, obj, env_item) + '"secrets"' + kv + _new_list(text, env, new_items)))
    return edits


def _secret_template(secrets: Lst | None) -> Obj | None:
    """An existing `secrets` item to copy (so that new items look like their neighbours)."""
    for it in secrets.items if secrets is not None else []:
        if isinstance(it, Obj) and {i.key for i in it.items} == {"name", "valueFrom"} \
                and all(isinstance(i.value, Str) for i in it.items):
            return it
    return None


def _render_item(text: str, template: Obj, name: str, vf: str) -> str:
    """`template`'s text with its name, and its value (or valueFrom), replaced."""
    start = template.span.start
    edits = []
    for item in template.items:
        if item.key == "name":
            edits.append(Edit(item.value.span.start - start, item.value.span.end - start, json.dumps(name)))
        elif item.key in ("value", "valueFrom"):
            edits.append(Edit(item.key_span.start - start, item.key_span.end - start, '"valueFrom"'))
            edits.append(Edit(item.value.span.start - start, item.value.span.end - start, json.dumps(vf)))
    return apply_edits(text[start : template.span.end], edits)


def _item_separator(text: str, obj: Obj, item: ObjItem) -> str:
    """What separates `item` from its neighbour in `obj` (`,\\n    `, `, `, `,`)."""
    i = next(k for k, it in enumerate(obj.items) if it is item)
    if i + 1 < len(obj.items):
        return text[item.span.end : obj.items[i + 1].span.start]
    if i > 0:
        return text[obj.items[i - 1].span.end : item.span.start]
    nl = newline_of(text)
    return "," + (nl + indent_of(text, item.span.start) if "\n" in obj.span.text else " ")


def _list_separator(text: str, lst: Lst) -> str:
    items = lst.items
    if len(items) > 1:
        return text[items[-2].span.end : items[-1].span.start]
    return "," + text[lst.span.start + 1 : items[0].span.start]


def _new_list(text: str, shape: Lst, items: list[str]) -> str:
    """A list of `items` laid out like `shape` (the environment list): one line, or one item a line."""
    if not shape.items:
        return "[" + ", ".join(items) + "]"
    lead = text[shape.span.start + 1 : shape.items[0].span.start]  # `\n        ` or `` or ` `
    tail = text[shape.items[-1].span.end : shape.span.end - 1]  # `\n      ` or `` or ` `
    return "[" + lead + _list_separator(text, shape).join(items) + tail + "]"


# --------------------------------------------------------------------------- what scan reports


def decisions(src: SourceFile, doc: Obj, td: TaskDefinition, findings: list[Finding],
              read_by: str | None = None) -> dict[tuple[str, str, str | None], str | None]:
    """Per EF001 finding (resource, container, name): None when `ecsfix rewrite` moves it, else why not."""
    plan = plan_file(src, doc, td, findings, Options(), read_by)
    moved = {(m.task_definition, m.container, m.name) for m in plan.moved}
    out: dict[tuple[str, str, str | None], str | None] = {}
    for f in findings:
        if f.rule != "EF001":
            continue
        key = (f.resource, f.container, f.name)
        if key in moved:
            out[key] = None
            continue
        why = next((n.split(": not rewritten: ", 1)[1] for n in plan.notes
                    if f" container {f.container}: " in n and f.name and f.name in n), None)
        why = why or next((n.split(": not rewritten: ", 1)[1] for n in plan.notes), "ecsfix rewrite leaves it in place")
        out[key] = why.split("; move ", 1)[0]
    return out
