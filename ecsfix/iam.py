"""IAM as the deploy-readiness rules (EF102-EF105) need it, answered statically inside one module.

* Which secret or parameter a `valueFrom` names (`parse_value_from`): the ARN that IAM authorizes,
  the `:json-key:version-stage:version-id` suffix apart, and what is wrong with the syntax.
* Which statements a role gets in this module (`IamModel.role_policies`): `aws_iam_role_policy`,
  `aws_iam_role_policy_attachment` + `aws_iam_policy`, `aws_iam_policy_attachment`,
  `inline_policy` blocks, `managed_policy_arns`, `aws_iam_role_policy_attachments_exclusive`, and
  well-known AWS managed policies; documents written as `jsonencode({...})`, heredoc/file/template
  JSON or `data "aws_iam_policy_document"`.
* Whether those statements allow an action on a resource (`IamModel.decide`): IAM wildcards on the
  policy side, Terraform references compared *symbolically* (`aws_secretsmanager_secret.db.arn` in
  a policy grants exactly the secret whose `valueFrom` interpolates it), Deny overriding Allow.

Some values only Terraform knows: a secret's Region, account id and random 6-character suffix. A
match that depends on those is *likely* and counts as granted (no false alarm because the Region
is a variable). A match that depends on an expression we cannot follow (a variable without
default, a `for` expression, a module output) is *opaque*: the rules then say "cannot verify"
instead of guessing.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .model import (
    Block,
    Bool,
    Call,
    Container,
    EcsfixError,
    Expr,
    Lst,
    Null,
    Num,
    Obj,
    Other,
    Ref,
    Span,
    Str,
    TaskDefinition,
)

if TYPE_CHECKING:
    from .module import Module
    from .resolve import Resolver, Scope

# --------------------------------------------------------------------------- IAM strings


@dataclass(frozen=True)
class Sym:
    """A value only Terraform knows, named by its expression: `aws_secretsmanager_secret.db.arn`."""

    source: str


@dataclass(frozen=True)
class Hole:
    """An unknown part of an ARN that cannot contain `:` (a Region, an account id, a suffix)."""

    what: str = "?"


Piece = str | Sym | Hole
Text = tuple[Piece, ...]  # an IAM string: literal text (policies: with `*`/`?` wildcards) and unknowns

REGION, ACCOUNT, PARTITION, SUFFIX, ANY = Hole("region"), Hole("account"), Hole("partition"), Hole("suffix"), Hole()


def show(text: Text) -> str:
    """How a user would write the text in Terraform: references as `${...}`."""
    out = []
    for p in text:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, Sym):
            out.append("${" + p.source + "}")
        else:
            out.append(f"<{p.what}>")
    return "".join(out)


def show_ref(text: Text) -> str:
    """`aws_secretsmanager_secret.db.arn` for a lone reference, else `show(text)` in quotes."""
    if len(text) == 1 and isinstance(text[0], Sym):
        return text[0].source
    return f'"{show(text)}"'


def literal(text: Text) -> str | None:
    if all(isinstance(p, str) for p in text):
        return "".join(p for p in text if isinstance(p, str))
    return None


def _join(texts: list[Text], sep: str) -> Text:
    out: list[Piece] = []
    for i, t in enumerate(texts):
        if i:
            out.append(sep)
        out.extend(t)
    return _merge(out)


def _merge(pieces: list[Piece] | Text) -> Text:
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + p
                continue
        out.append(p)
    return tuple(out)


def _starts(text: Text, prefix: str) -> bool:
    return bool(text) and isinstance(text[0], str) and text[0].startswith(prefix)


def split_colons(text: Text) -> list[Text]:
    """Split on the `:` of literal pieces (references stay whole)."""
    parts: list[list[Piece]] = [[]]
    for p in text:
        if isinstance(p, str):
            chunks = p.split(":")
            parts[-1].append(chunks[0])
            for c in chunks[1:]:
                parts.append([c])
        else:
            parts[-1].append(p)
    return [_merge(p) for p in parts]


# --------------------------------------------------------------------------- references

NOT_RESOURCES = frozenset({"var", "local", "module", "each", "count", "path", "terraform", "self"})
_IDENT_RE = re.compile(
    r"^(?P<addr>(?:data\.)?(?P<type>[a-z][a-z0-9]*_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*))"
    r"(?P<index>\[[^\[\]]*\])?(?P<path>(?:\.[\w-]+|\[[^\[\]]*\])*)$"
)
# Attributes that hold the same value under another name: a secret's `id` is its ARN, a role's
# `id` is its name, a parameter's `id` is its name, a key's `id` is its key id.
_ALIASES = {
    ("aws_secretsmanager_secret", ".id"): ".arn",
    ("aws_ssm_parameter", ".id"): ".name",
    ("aws_kms_key", ".id"): ".key_id",
    ("aws_kms_alias", ".id"): ".name",
    ("aws_iam_role", ".id"): ".name",
    ("aws_iam_policy", ".id"): ".arn",
}
_SPLAT_RE = re.compile(r"^(?:values\()?(?P<addr>(?:data\.)?[a-z][\w]*\.[A-Za-z_][\w-]*)\)?\[\*\](?P<path>(?:\.[\w-]+)+)$")
_FOR_RE = re.compile(
    r"^\[\s*for\s+(?:\w+\s*,\s*)?(?P<v>\w+)\s+in\s+(?:values\()?(?P<addr>(?:data\.)?[a-z][\w]*\.[A-Za-z_][\w-]*)\)?\s*:"
    r"\s*(?P=v)(?P<path>(?:\.[\w-]+)+)\s*\]$"
)


@dataclass(frozen=True)
class Identity:
    """A resource (or data source) attribute: `aws_secretsmanager_secret.db[0].arn`."""

    address: str  # aws_secretsmanager_secret.db, data.aws_iam_role.exec
    type: str
    name: str
    index: str | None  # None, a literal index, "*" (splat), "?" (count.index, each.key)
    path: str  # normalized attribute path: ".arn", ".name", ".master_user_secret[0].secret_arn"

    @property
    def is_data(self) -> bool:
        return self.address.startswith("data.")

    @property
    def arn_like(self) -> bool:
        return self.path.endswith("arn")


def identity(source: str) -> Identity | None:
    m = _IDENT_RE.match(re.sub(r"\s+", "", source))
    if not m or m.group("type") in NOT_RESOURCES:
        return None
    rtype, path = m.group("type"), m.group("path")
    path = _ALIASES.get((rtype, path), path)
    raw = m.group("index")
    index: str | None = None
    if raw is not None:
        inner = raw[1:-1].strip()
        index = "*" if inner == "*" else inner if re.fullmatch(r'\d+|"[^"]*"', inner) else "?"
    return Identity(m.group("addr"), rtype, m.group("name"), index, path)


def same_object(a: Identity, b: Identity) -> bool:
    if a.address != b.address or a.path != b.path:
        return False
    return a.index == b.index or "*" in (a.index, b.index) or "?" in (a.index, b.index) or None in (a.index, b.index)


def _normalize(source: str) -> str:
    return re.sub(r"\s+", "", source)


def _json_template(text: str) -> list[Piece]:
    """Strings in `.tf.json` files are templates: `"${aws_iam_role.exec.arn}"` is a reference."""
    out: list[Piece] = []
    pos = 0
    for m in re.finditer(r"\$\{([^{}]+)\}", text):
        out.append(text[pos : m.start()])
        out.append(Sym(_normalize(m.group(1))))
        pos = m.end()
    out.append(text[pos:])
    return out


def sym_of_other(expr: Other) -> Sym:
    """Splats (`aws_x.y[*].arn`, `values(aws_x.y)[*].arn`, `[for s in aws_x.y : s.arn]`) name every
    instance of a resource; anything else is an opaque expression."""
    text = _normalize(expr.span.text)
    m = _SPLAT_RE.match(text) or _FOR_RE.match(expr.span.text.strip())
    if m:
        return Sym(f"{m.group('addr')}[*]{m.group('path')}")
    return Sym(text)


# --------------------------------------------------------------------------- valueFrom

SECRET_TYPES = frozenset({"aws_secretsmanager_secret", "aws_secretsmanager_secret_version"})
_SUFFIX_RE = re.compile(r"-[A-Za-z0-9]{6}$")


@dataclass
class ValueFrom:
    """A `valueFrom` understood: which service, the resource IAM authorizes, and any syntax error."""

    written: Text
    service: str | None  # "secretsmanager", "ssm", or None when it cannot be told
    resource: Text  # the secret ARN (suffix removed) / parameter ARN or name; `written` if unknown
    fields: list[Text] = field(default_factory=list)  # json-key, version-stage, version-id as written
    problem: str | None = None  # EF103: what is malformed
    fix: str | None = None  # EF103: how to write it instead, a phrase with the value(s) in backticks

    @property
    def resolvable(self) -> bool:
        """The secret it names is known even if the syntax is wrong (EF103 reports the syntax)."""
        return self.problem is None or self.resource is not self.written

    @property
    def action(self) -> str:
        return "ssm:GetParameters" if self.service == "ssm" else "secretsmanager:GetSecretValue"

    @property
    def shown(self) -> str:
        return show_ref(self.resource)

    def iam_resource(self) -> Text:
        """The resource as IAM sees it: SSM names become parameter ARNs, partial secret ARNs get the
        random suffix Secrets Manager appends."""
        res = self.resource
        lit = literal(res)
        if self.service == "ssm" and len(res) == 1 and isinstance(res[0], Sym):
            ident = identity(res[0].source)
            if ident is not None and ident.type == "aws_ssm_parameter" and ident.path == ".name":
                return (Sym(re.sub(r"\.(name|id)$", ".arn", res[0].source)),)
        if self.service == "ssm" and lit is not None and not lit.startswith("arn:"):
            return ("arn:", PARTITION, ":ssm:", REGION, ":", ACCOUNT, ":parameter" + ("" if lit.startswith("/") else "/") + lit)
        if self.service == "secretsmanager" and res and isinstance(res[-1], str):
            name = res[-1].rsplit(":", 1)[-1]
            if ":secret:" in "".join(p for p in res if isinstance(p, str)) and not _SUFFIX_RE.search(name):
                return res + ("-", SUFFIX)
        return res



def _sm_fields(vf: ValueFrom, base: Text, fields: list[Text]) -> ValueFrom:
    vf.resource, vf.fields = base, fields
    n = len(fields)
    written = show(vf.written)
    if n in (1, 2):
        padded = fields + [()] * (3 - n)
        fixed = f"`{show(_join([base, *padded], ':'))}`"
        what = "a JSON key without both trailing colons" if n == 1 else "a JSON key and version stage without the trailing colon"
        vf.problem = (f"`{written}` selects {what} (ECS reads `<secret-arn>:<json-key>:<version-stage>:<version-id>` "
                      "and fails at task start with `InvalidParameter ... GetSecretValueInput.VersionId`)")
        vf.fix = fixed
    elif n == 3:
        stage, version = literal(fields[1]), literal(fields[2])
        if stage != "" and version != "" and fields[1] and fields[2]:
            vf.problem = f"`{written}` sets both a version stage and a version id, which are mutually exclusive"
            vf.fix = (f"`{show(_join([base, fields[0], fields[1], ()], ':'))}` (version stage) or "
                      f"`{show(_join([base, fields[0], (), fields[2]], ':'))}` (version id)")
    elif n > 3:
        vf.problem = (f"`{written}` has {n} `:` fields after the secret ARN; the format is "
                      "`<secret-arn>:<json-key>:<version-stage>:<version-id>`")
        vf.fix = f"`{show(_join([base, fields[0], (), ()], ':'))}`"
    return vf


_PLACEHOLDER = re.compile(r"<[a-z-]+>")  # `<region>`: a part of an ARN that is still to be set
_PLACEHOLDER_PART = {"<region>": "Region", "<account-id>": "account id", "<secret-name>": "name"}


def parse_value_from(text: Text) -> ValueFrom:
    vf = ValueFrom(text, None, text)
    if not text:
        vf.problem, vf.fix = "`valueFrom` is empty", "a secret ARN or an SSM parameter ARN or name"
        return vf
    head = text[0]
    if isinstance(head, Sym):
        ident = identity(head.source)
        rest = _merge(text[1:])
        rest_lit = literal(rest) or ""
        kind: str | None = None
        if ident is not None:
            if ident.type in SECRET_TYPES and ident.path == ".arn" or ident.path.endswith("secret_arn"):
                kind = "secretsmanager"
            elif ident.type == "aws_ssm_parameter" and ident.path in (".arn", ".name"):
                kind = "ssm"
        if kind == "ssm":
            vf.service, vf.resource = "ssm", (head,)
            if rest:
                vf.problem = f"`{show(text)}` adds `{show(rest)}` after an SSM parameter reference"
                vf.fix = f"`{show((head,))}`"
            return vf
        inner_arn = ":secret:" in rest_lit or "parameter/" in rest_lit
        if kind == "secretsmanager" or (rest and isinstance(rest[0], str) and rest[0].startswith(":") and not inner_arn):
            vf.service = "secretsmanager"
            if not rest:
                vf.resource = (head,)
                return vf
            if not (isinstance(rest[0], str) and rest[0].startswith(":")):
                vf.problem = f"`{show(text)}` appends `{show(rest)}` to the secret ARN without a `:` separator"
                vf.fix = f"`{show(_join([(head,), rest, (), ()], ':'))}`"
                return vf
            return _sm_fields(vf, (head,), split_colons(rest)[1:])
        if not rest:
            return vf  # an opaque reference: a name or an ARN, we cannot tell which
    segs = split_colons(text)
    first = literal(segs[0])
    if first == "arn":
        service = literal(segs[2]) if len(segs) > 2 else None
        if service == "secretsmanager":
            vf.service = "secretsmanager"
            shape = "arn:aws:secretsmanager:<region>:<account-id>:secret:<name>"
            if len(segs) < 7 or literal(segs[5]) != "secret" or any(s == () for s in segs[3:5]) or not segs[6]:
                vf.problem = f"`{show(text)}` is not a complete Secrets Manager ARN (region, account id or name missing)"
                vf.fix = f"`{shape}` (optionally followed by `:<json-key>:<version-stage>:<version-id>`)"
                return vf
            held = [p for p in (literal(s) for s in segs[3:7]) if p and _PLACEHOLDER.fullmatch(p)]
            if held:  # `ecsfix rewrite` wrote them where the task definition did not say the part
                parts = [_PLACEHOLDER_PART.get(p, p) for p in held]
                vf.problem = (f"`{show(text)}` still holds the placeholder{'s' if len(held) > 1 else ''} "
                              + ", ".join(f"`{p}`" for p in held) + ": set the secret's "
                              + (", ".join(parts[:-1]) + " and " if len(parts) > 1 else "") + parts[-1]
                              + " (`ecsfix rewrite --secret-arn ARN` writes the whole ARN)")
                return vf
            return _sm_fields(vf, _join(segs[:7], ":"), segs[7:])
        if service == "ssm":
            vf.service = "ssm"
            last = show(segs[-1])
            if len(segs) != 6 or any(s == () for s in segs[3:5]) or not _starts(segs[5], "parameter/"):
                name = last.split("parameter", 1)[1] if "parameter/" in last else "/<name>"
                vf.problem = f"`{show(text)}` is not a complete SSM parameter ARN (Region, account id or `parameter/` missing)"
                vf.fix = f"`arn:aws:ssm:<region>:<account-id>:parameter{name}` or, in the same Region, the name `{name}`"
                return vf
            return vf
        vf.problem = f"`{show(text)}` is neither a Secrets Manager secret ARN nor an SSM parameter"
        vf.fix = "`arn:aws:secretsmanager:<region>:<account-id>:secret:<name>` or `arn:aws:ssm:<region>:<account-id>:parameter/<name>`"
        return vf
    lit = literal(text)
    if lit is None:
        return vf  # built from references: a parameter name most likely, nothing to check
    if lit.startswith("parameter/"):
        name = lit[len("parameter") :]
        vf.service, vf.resource = "ssm", (name,)
        vf.problem = f"`{lit}` is a fragment of an SSM parameter ARN"
        vf.fix = f"`arn:aws:ssm:<region>:<account-id>:{lit}` or, in the same Region, the name `{name}`"
        return vf
    if lit.startswith("secret:") or ":secret:" in lit or ":" in lit:
        vf.service = "secretsmanager"
        vf.problem = (f"`{lit}` is not an ARN: a Secrets Manager secret must be referenced by its full ARN "
                      "(SSM parameter names cannot contain `:`)")
        vf.fix = "`arn:aws:secretsmanager:<region>:<account-id>:secret:<name>` (with `:<json-key>::` to select a key)"
        return vf
    vf.service = "ssm"  # a plain name: ECS looks it up in Parameter Store, in the task's Region
    if "/" in lit and not lit.startswith("/"):
        vf.problem = (f"`{lit}` is read as an SSM parameter name, and a name with a path must start with `/`; "
                      "a Secrets Manager secret must be referenced by its full ARN")
        vf.fix = f"`/{lit}` (SSM) or `arn:aws:secretsmanager:<region>:<account-id>:secret:{lit}` (Secrets Manager)"
    return vf


# --------------------------------------------------------------------------- statements


@dataclass
class Statement:
    effect: str | None  # "Allow", "Deny"; None when not known statically
    actions: list[Text]
    not_action: bool
    resources: list[tuple[Text, Span | None]]
    not_resource: bool
    conditional: bool
    origin: str  # where it comes from: `aws_iam_role_policy.secrets`, `AWS managed policy X`
    span: Span | None
    principals: list[Text] | None = None  # resource policies (KMS key policies) only

    def where(self) -> str:
        if self.span is None:
            return self.origin
        return f"{self.origin} ({self.span.file.display}:{self.span.line})"


@dataclass
class RolePolicies:
    """Everything this module says about one role's permissions."""

    role: str  # `aws_iam_role.exec`, or how the role is named when it is not defined here
    statements: list[Statement] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # policy sources that could not be read
    managed: list[str] = field(default_factory=list)  # AWS managed policies attached, by name
    defined_here: bool = True
    exclusive: bool = False  # `inline_policy` / `managed_policy_arns` / `*_exclusive` management


# Levels of a match, from "certainly not" to "certainly".
NO, OPAQUE, LIKELY, YES = 0, 1, 2, 3


@dataclass
class Decision:
    verdict: str  # "allow", "deny", "none", "unknown"
    statement: Statement | None = None  # the allowing / denying statement
    elsewhere: list[Statement] = field(default_factory=list)  # allow the action, on other resources
    reasons: list[str] = field(default_factory=list)  # why it cannot be verified


_AWS_MANAGED_RE = re.compile(r":iam::aws:policy/(?P<name>[\w+=,.@/-]+)$")

# AWS managed policies that execution roles commonly carry, reduced to what matters here.
# AmazonECSTaskExecutionRolePolicy grants ECR and CloudWatch Logs only: *not* secrets.
AWS_MANAGED: dict[str, list[tuple[str, list[str], bool]]] = {
    "AmazonECSTaskExecutionRolePolicy": [("Allow", [
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage", "logs:CreateLogStream", "logs:PutLogEvents"], False)],
    "AmazonEC2ContainerRegistryReadOnly": [("Allow", [
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy", "ecr:DescribeRepositories", "ecr:ListImages", "ecr:DescribeImages",
        "ecr:BatchGetImage", "ecr:GetLifecyclePolicy", "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource", "ecr:DescribeImageScanFindings"], False)],
    "CloudWatchLogsFullAccess": [("Allow", ["logs:*", "cloudwatch:GenerateQuery"], False)],
    "AWSXRayDaemonWriteAccess": [("Allow", ["xray:PutTraceSegments", "xray:PutTelemetryRecords",
                                            "xray:GetSamplingRules", "xray:GetSamplingTargets",
                                            "xray:GetSamplingStatisticSummaries"], False)],
    "AdministratorAccess": [("Allow", ["*"], False)],
    "PowerUserAccess": [("Allow", ["iam:*", "organizations:*", "account:*"], True)],
    "SecretsManagerReadWrite": [("Allow", ["secretsmanager:*", "kms:DescribeKey", "kms:ListAliases", "kms:ListKeys"], False)],
    "AmazonSSMReadOnlyAccess": [("Allow", ["ssm:Describe*", "ssm:Get*", "ssm:List*"], False)],
    "AmazonSSMFullAccess": [("Allow", ["ssm:*"], False)],
}


def managed_policy_name(text: Text) -> str | None:
    """`arn:aws:iam::aws:policy/service-role/X` (any partition, also built with references) -> `X`."""
    tail = text[-1] if text else None
    if not isinstance(tail, str):
        return None
    m = _AWS_MANAGED_RE.search(tail)
    return m.group("name").rsplit("/", 1)[-1] if m else None


def action_level(pattern: Text, action: str) -> int:
    lit = literal(pattern)
    if lit is None:
        return OPAQUE
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in lit)
    return YES if re.fullmatch(regex, action, re.IGNORECASE) else NO


def _invert(level: int) -> int:
    return {YES: NO, NO: YES}.get(level, level)


# --------------------------------------------------------------------------- matching


Tok = tuple  # ("L", c) | ("*",) | ("?",) | ("U",) | ("O",) | ("T",) | ("<", key) | (">",)


def match_level(pattern: list[Tok], target: list[Tok]) -> int:
    """How surely an IAM resource pattern matches a target ARN (NO, OPAQUE, LIKELY, YES).

    Tokens: literal characters; `*`/`?` (policy wildcards); `U` an unknown part without `:`
    (Region, account id, suffix); `O`/`T` an opaque value on the policy/target side; `<key` ... `>`
    bracket the expansion of a reference, so that the same reference on both sides matches whole
    and two different resources never match by accident of their unknown parts.
    """
    if len(pattern) == 1 and pattern[0][0] == "*":
        return YES
    pend, tend = _closers(pattern), _closers(target)
    if pattern and target and pattern[0][0] == "<" and target[0][0] == "<":
        rel = _relation(pattern[0][1], target[0][1])
        if rel == "same":  # the common case: the policy names the very reference the valueFrom uses
            return match_level(pattern[pend[0] + 1:], target[tend[0] + 1:])
        if rel == "distinct":
            return NO
    if all(t[0] == "L" for t in target) and all(p[0] in "L*?" for p in pattern):
        regex = "".join(".*" if p[0] == "*" else "." if p[0] == "?" else re.escape(p[1]) for p in pattern)
        return YES if re.fullmatch(regex, "".join(t[1] for t in target), re.S) else NO
    if len(pattern) * len(target) > 250_000:
        return OPAQUE
    np_, nt = len(pattern), len(target)
    # best[i][j]: how surely pattern[i:] matches target[j:]. Every transition moves forward, so
    # the table fills from the ends (no recursion: ARNs can be long).
    best = [[NO] * (nt + 1) for _ in range(np_ + 1)]
    for i in range(np_, -1, -1):
        row, below = best[i], best[i + 1] if i < np_ else None
        p = pattern[i] if i < np_ else None
        for j in range(nt, -1, -1):
            t = target[j] if j < nt else None
            if p is None:
                if t is None:
                    row[j] = YES
                elif t[0] in "<>":
                    row[j] = row[j + 1]
                elif t[0] == "U":
                    row[j] = min(LIKELY, row[j + 1])
                elif t[0] == "T":
                    row[j] = min(OPAQUE, row[j + 1])
                else:
                    row[j] = NO
                continue
            assert below is not None
            kind = p[0]
            if t is not None and kind == "<" and t[0] == "<":
                rel = _relation(p[1], t[1])
                if rel == "same":
                    row[j] = best[pend[i] + 1][tend[j] + 1]
                elif rel == "distinct":
                    row[j] = NO
                else:
                    row[j] = max(below[j], row[j + 1])
            elif kind in "<>":
                row[j] = below[j]
            elif t is not None and t[0] in "<>":
                row[j] = row[j + 1]
            elif kind == "*":
                row[j] = max(below[j], row[j + 1] if t is not None else NO)
            elif kind == "O":
                row[j] = max(min(OPAQUE, below[j]), min(OPAQUE, row[j + 1]) if t is not None else NO)
            elif kind == "U":
                value = min(LIKELY, below[j])
                if t is not None:
                    if t[0] == "L" and t[1] != ":" or t[0] == "U":
                        value = max(value, min(LIKELY, row[j + 1]))
                    elif t[0] == "T":
                        value = max(value, min(OPAQUE, row[j + 1]))
                row[j] = value
            elif t is None:
                row[j] = NO
            elif t[0] == "L":
                row[j] = below[j + 1] if kind == "?" or t[1] == p[1] else NO
            elif t[0] == "U":
                if kind == "L" and p[1] == ":":
                    row[j] = min(LIKELY, row[j + 1])
                else:
                    row[j] = max(min(LIKELY, below[j]), min(LIKELY, row[j + 1]))
            else:  # an opaque target
                row[j] = max(min(OPAQUE, below[j]), min(OPAQUE, row[j + 1]))
    return best[0][0]


def _closers(tokens: list[Tok]) -> dict[int, int]:
    out: dict[int, int] = {}
    stack: list[int] = []
    for i, t in enumerate(tokens):
        if t[0] == "<":
            stack.append(i)
        elif t[0] == ">":
            out[stack.pop()] = i
    return out


def _relation(a: Identity | str, b: Identity | str) -> str:
    if isinstance(a, Identity) and isinstance(b, Identity):
        if same_object(a, b):
            return "same"
        if a.address != b.address and a.arn_like and b.arn_like:
            return "distinct"  # two resources never share an ARN
        if a.address == b.address and a.path == b.path:
            return "distinct"  # other instances (`x[0]` vs `x[1]`)
        return "other"
    if isinstance(a, str) and isinstance(b, str) and a == b:
        return "same"
    return "other"


# --------------------------------------------------------------------------- the module's IAM


@dataclass
class RoleRef:
    """The execution (or task) role a task definition names."""

    written: str  # the expression, for messages
    block: Block | None = None  # the `aws_iam_role` of this module
    identity: Identity | None = None
    names: set[str] = field(default_factory=set)  # literal role names it is known by
    outside: str | None = None  # why its policies are not (all) visible here

    @property
    def address(self) -> str:
        if self.block is not None:
            return f"aws_iam_role.{self.block.labels[1]}"
        return self.identity.address if self.identity is not None else self.written


@dataclass
class KeyRef:
    """The KMS key a secret or parameter is encrypted with."""

    text: Text
    shown: str
    identity: Identity | None = None


_MAX_DEPTH = 16
_LAST_SEGMENT = ("[^/]+$", "[^/]*$")  # regex() patterns that take a role ARN's last path segment: its name
_FAMILIES = ("aws_iam_", "aws_kms_", "aws_secretsmanager_", "aws_ssm_", "aws_vpc_endpoint", "aws_route")

_CACHE: weakref.WeakKeyDictionary[object, IamModel] = weakref.WeakKeyDictionary()


class IamModel:
    """Reads IAM out of one module (or out of nothing, for task-definition and plan JSON)."""

    def __init__(self, module: Module | None, resolver: Resolver | None):
        self.module = module
        self.resolver = resolver
        self._roles: dict[str, RolePolicies] = {}
        self._docs: dict[int, tuple[list[Statement], list[str]]] = {}
        self._tokens: dict[tuple[Text, str], list[Tok]] = {}
        self.uses: dict[int, tuple[TaskDefinition, list[SecretUse]]] = {}
        self._block_cache: dict[str, Block | None] = {}
        self._block_lists: dict[tuple[str, str], list[Block]] = {}

    @classmethod
    def of(cls, module: Module | None, resolver: Resolver | None) -> IamModel:
        """One model per module scan: role policies are read once for all task definitions."""
        if resolver is None:
            return cls(module, resolver)
        model = _CACHE.get(resolver)
        if model is None:
            model = _CACHE[resolver] = cls(module, resolver)
        return model

    # ------------------------------------------------------------------ values
    def resolve(self, expr: Expr | None, scope: Scope | None = None) -> tuple[Expr | None, Scope | None]:
        if self.resolver is None or expr is None:
            return expr, scope
        try:
            return self.resolver.resolve2(expr, scope)
        except EcsfixError:  # invalid JSON in a heredoc or file: reported by the scan, unknown here
            return Other(expr.span, "invalid JSON"), scope

    def texts(self, expr: Expr | None, scope: Scope | None = None, depth: int = 0) -> list[tuple[Text, Span | None]]:
        """The strings a value (an IAM string or a list of them) stands for, each with its span.
        Whatever cannot be followed becomes an opaque `Sym`, never a silent gap."""
        if expr is None:
            return []
        resolved, rscope = self.resolve(expr, scope)
        if resolved is None:
            return []
        if depth > _MAX_DEPTH:  # a reference cycle (invalid Terraform): never loop
            return [((Sym(_normalize(expr.span.text)),), expr.span)]
        if isinstance(resolved, Lst):
            out: list[tuple[Text, Span | None]] = []
            for item in resolved.items:
                out.extend(self.texts(item, rscope, depth + 1))
            return out
        if isinstance(resolved, Call) and resolved.name in ("flatten", "distinct", "compact", "toset", "tolist", "sort", "concat"):
            out = []
            for arg in resolved.args:
                out.extend(self.texts(arg, rscope, depth + 1))
            return out
        return [(self.text(resolved, rscope, depth + 1), expr.span)]

    def text(self, expr: Expr | None, scope: Scope | None = None, depth: int = 0) -> Text:
        resolved, rscope = self.resolve(expr, scope)
        if resolved is None:
            return ()
        if depth > _MAX_DEPTH:  # a reference cycle (invalid Terraform): never loop
            return (Sym(_normalize(resolved.span.text)),)
        if isinstance(resolved, Str):
            out: list[Piece] = []
            tf_json = resolved.span.file.path.endswith(".tf.json")
            for part in resolved.parts:
                if isinstance(part, str):
                    out.extend(_json_template(part) if tf_json and "${" in part else [part])
                elif part.expr is None:
                    out.append(Sym(_normalize(part.source)))
                else:
                    out.extend(self.text(part.expr, rscope, depth + 1))
            return _merge(out)
        if isinstance(resolved, Ref):
            return (Sym(_normalize(resolved.source)),)
        if isinstance(resolved, Num):
            return (resolved.source,)
        if isinstance(resolved, Bool):
            return ("true" if resolved.value else "false",)
        if isinstance(resolved, Null):
            return ()
        if isinstance(resolved, Other):
            return (sym_of_other(resolved),)
        return (Sym(_normalize(resolved.span.text)),)

    def written(self, expr: Expr | None) -> Text:
        """The text as written, references not followed."""
        if isinstance(expr, Str):
            return _merge([p if isinstance(p, str) else Sym(_normalize(p.source)) for p in expr.parts])
        if isinstance(expr, Ref):
            return (Sym(_normalize(expr.source)),)
        return self.text(expr)

    def literal_attr(self, block: Block | None, name: str) -> str | None:
        """An attribute's literal value as written (names, sources, types). References are not
        followed: a name built from variables is not literal, and looking variables up would parse
        files that nothing else needs."""
        if block is None or name not in block.attributes:
            return None
        return literal(self.written(block.attr(name)))

    # ------------------------------------------------------------------ module lookups
    def blocks(self, kind: str, rtype: str, hint: str | None = None) -> list[Block]:
        """Blocks of a type; with `hint`, only those whose text contains it are parsed at all.
        Remembered per module: the rules ask for the same types again and again."""
        if self.module is None:
            return []
        if hint is None:  # one lookup per family (`aws_iam_*`): each lookup scans every file
            family = next((f for f in _FAMILIES if rtype.startswith(f)), rtype)
            return [b for b in self.blocks(kind, "", family) if b.labels[0] == rtype]
        key = (kind, hint)
        if key not in self._block_lists:
            self._block_lists[key] = [b for b in self.module.blocks(kind, hint=hint) if len(b.labels) >= 2]
            if kind == "resource" and any(f.path.endswith(".tf.json") for f in self.module.files):
                from .tfjson_blocks import resource_blocks  # a grant written in JSON syntax

                for src in self.module.files:
                    if src.path.endswith(".tf.json"):
                        self._block_lists[key].extend(resource_blocks(src, hint))
        return [b for b in self._block_lists[key] if not rtype or b.labels[0] == rtype]

    def block_of(self, ident: Identity) -> Block | None:
        if self.module is None:
            return None
        if ident.address not in self._block_cache:
            kind = "data" if ident.is_data else "resource"
            found = next((b for b in self.blocks(kind, ident.type) if b.labels[1] == ident.name), None)
            if found is None:
                found = self.module.data(ident.type, ident.name) if ident.is_data \
                    else self.module.resource(ident.type, ident.name)
            self._block_cache[ident.address] = found
        return self._block_cache[ident.address]

    def secret_block(self, vf: ValueFrom) -> Block | None:
        """The `aws_secretsmanager_secret` / `aws_ssm_parameter` of this module a valueFrom names."""
        res = vf.resource
        if len(res) == 1 and isinstance(res[0], Sym):
            ident = identity(res[0].source)
            if ident is None:
                return None
            if ident.type == "aws_secretsmanager_secret_version":
                version = self.block_of(ident)
                sid = self.text(version.attr("secret_id")) if version is not None else ()
                ident = identity(sid[0].source) if len(sid) == 1 and isinstance(sid[0], Sym) else None
                if ident is None:
                    return None
            if ident.type in ("aws_secretsmanager_secret", "aws_ssm_parameter") and not ident.is_data:
                return self.block_of(ident)
            return None
        lit = literal(res)
        if lit is None:
            return None
        if vf.service == "ssm":
            name = lit.split(":parameter", 1)[1] if lit.startswith("arn:") and ":parameter" in lit else lit
            for b in self.blocks("resource", "aws_ssm_parameter"):
                pname = self.literal_attr(b, "name")
                if pname is not None and pname.lstrip("/") == name.lstrip("/"):
                    return b
        elif vf.service == "secretsmanager" and ":secret:" in lit:
            name = _SUFFIX_RE.sub("", lit.split(":secret:", 1)[1])
            for b in self.blocks("resource", "aws_secretsmanager_secret"):
                if self.literal_attr(b, "name") == name:
                    return b
        return None

    # ------------------------------------------------------------------ expansions
    def expansion(self, ident: Identity) -> Text | None:
        """What the ARN (or name) of a referenced resource looks like, with unknown parts as holes."""
        block = self.block_of(ident)
        if ident.type in ("aws_secretsmanager_secret", "aws_secretsmanager_secret_version") and ident.path == ".arn" \
                or ident.path.endswith("secret_arn"):
            if ident.type == "aws_secretsmanager_secret_version" and block is not None:
                sid = self.text(block.attr("secret_id"))
                inner = identity(sid[0].source) if len(sid) == 1 and isinstance(sid[0], Sym) else None
                if inner is not None and inner.type == "aws_secretsmanager_secret":
                    ident, block = inner, self.block_of(inner)
            if block is not None and ident.is_data and "arn" in block.attributes:
                return self._holes(self.text(block.attr("arn")))
            name = self._name_text(block, "name")
            if name is None:
                name = (ANY,)
            elif not isinstance(name[-1], Hole):
                name = (*name, "-", SUFFIX)  # the random suffix Secrets Manager appends to a fixed name
            return ("arn:", PARTITION, ":secretsmanager:", REGION, ":", ACCOUNT, ":secret:", *name)
        if ident.type == "aws_ssm_parameter":
            name = self._name_text(block, "name") or (ANY,)
            slash = "" if name and isinstance(name[0], str) and name[0].startswith("/") else "/"
            if ident.path == ".arn":
                return ("arn:", PARTITION, ":ssm:", REGION, ":", ACCOUNT, ":parameter" + slash, *name)
            if ident.path == ".name":
                return name
            return None
        if ident.type == "aws_kms_key":
            if ident.path == ".arn":
                if block is not None and ident.is_data and "key_id" in block.attributes:
                    key = literal(self.text(block.attr("key_id")))
                    if key is not None and key.startswith("arn:"):
                        return (key,)
                return ("arn:", PARTITION, ":kms:", REGION, ":", ACCOUNT, ":key/", ANY)
            if ident.path == ".key_id":
                return (ANY,)
            return None
        if ident.type == "aws_iam_role" and ident.path == ".arn":
            return ("arn:", PARTITION, ":iam::", ACCOUNT, ":role/", ANY)
        return None

    def _name_text(self, block: Block | None, attr: str) -> Text | None:
        if block is None:
            return None
        if attr in block.attributes:
            return self._holes(self.written(block.attr(attr)))
        if f"{attr}_prefix" in block.attributes:  # Terraform appends a unique id (Secrets Manager its suffix)
            return self._holes(self.written(block.attr(f"{attr}_prefix"))) + (ANY,)
        return None

    @staticmethod
    def _holes(text: Text) -> Text:
        return tuple(ANY if isinstance(p, Sym) else p for p in text)

    def tokens(self, text: Text, side: str) -> list[Tok]:
        key = (text, side)
        cached = self._tokens.get(key)
        if cached is None:
            cached = self._tokens[key] = self._tokenize(text, side)
        return cached

    def _tokenize(self, text: Text, side: str) -> list[Tok]:
        out: list[Tok] = []
        for piece in text:
            if isinstance(piece, str):
                for c in piece:
                    out.append((c,) if side == "p" and c in "*?" else ("L", c))
            elif isinstance(piece, Hole):
                out.append(("U",))
            else:
                ident = identity(piece.source)
                out.append(("<", ident if ident is not None else piece.source))
                exp = self.expansion(ident) if ident is not None else None
                if exp is None:
                    out.append(("O",) if side == "p" else ("T",))
                else:
                    out.extend(self.tokens(exp, "t"))  # expansion text is literal, never wildcards
                out.append((">",))
        return out

    # ------------------------------------------------------------------ roles
    def role_of(self, expr: Expr | None) -> RoleRef:
        text = self.text(expr)
        ref = RoleRef(show_ref(text) if text else "?")
        if len(text) == 1 and isinstance(text[0], Sym):
            ident = identity(text[0].source)
            ref.identity = ident
            if ident is not None and ident.type == "aws_iam_role" and not ident.is_data:
                ref.block = self.block_of(ident)
                if ref.block is None:
                    ref.outside = f"{ident.address} is not defined in this module"
            elif ident is not None and ident.type == "aws_iam_role":
                ref.outside = f"the role comes from the data source {ident.address}"
                name = self.literal_attr(self.block_of(ident), "name")
                if name:
                    ref.names.add(name)
            elif re.fullmatch(r'[A-Za-z_][\w-]*(?:\.[\w-]+|\[[^\[\]]*\])*', text[0].source):
                root = text[0].source.split(".", 1)[0]
                what = {"var": "the variable", "module": "the module output", "local": "the local value"}.get(root, "")
                ref.outside = f"the role comes from {what + ' ' if what else ''}{text[0].source}"
            else:
                ref.outside = "the role is chosen by an expression that is not known statically"
        else:
            lit = literal(text)
            if lit is not None and ":role/" in lit:
                name = lit.rsplit("/", 1)[-1]
                ref.names.add(name)
                for b in self.blocks("resource", "aws_iam_role"):
                    if self.literal_attr(b, "name") == name:
                        ref.block = b
                        break
                else:
                    ref.outside = "the role is given as a literal ARN"
            else:
                ref.outside = f"the role is given as {show(text) if text else 'an expression'}"
        if ref.block is not None:
            name = self.literal_attr(ref.block, "name")
            if name:
                ref.names.add(name)
        return ref

    def _names_role(self, role: RoleRef, expr: Expr | None) -> bool:
        for text, _ in self.texts(self._role_name_of_arn(expr)):
            if len(text) == 1 and isinstance(text[0], Sym):
                ident = identity(text[0].source)
                if ident is not None and (role.block is not None and ident.address == role.address
                                          or role.identity is not None and ident.address == role.identity.address):
                    return True
                if role.block is None and role.identity is None and text[0].source == role.written:
                    return True
            lit = literal(text)
            if lit is not None and lit.rsplit("/", 1)[-1] in role.names:
                return True
        return False

    def _role_name_of_arn(self, expr: Expr | None) -> Expr | None:
        """`regex("[^/]+$", ARN)` (the role name ecsfix derives from an execution role ARN given as a
        variable, a local or a module output) names the role the ARN names: the ARN itself."""
        resolved, _ = self.resolve(expr)
        if isinstance(resolved, Call) and resolved.name == "regex" and len(resolved.args) == 2:
            pattern = resolved.args[0]
            if isinstance(pattern, Str) and pattern.value in _LAST_SEGMENT:
                return resolved.args[1]
        return expr

    def role_policies(self, role: RoleRef) -> RolePolicies:
        key = role.address
        if key in self._roles:
            return self._roles[key]
        rp = RolePolicies(role.address, defined_here=role.block is not None)
        self._roles[key] = rp
        if role.outside:
            rp.unknown.append(role.outside)
        block = role.block
        if block is not None:
            for inline in (b for b in block.blocks if b.type == "inline_policy"):
                rp.exclusive = True
                self._add_document(rp, inline.attr("policy"), f"{role.address} inline_policy")
            if "managed_policy_arns" in block.attributes:
                rp.exclusive = True
                for text, _ in self.texts(block.attr("managed_policy_arns")):
                    self._add_policy_arn(rp, text, f"{role.address} managed_policy_arns")
        for b in self.blocks("resource", "aws_iam_role_policy"):
            if self._names_role(role, b.attr("role")):
                self._add_document(rp, b.attr("policy"), f"aws_iam_role_policy.{b.labels[1]}")
        for b in self.blocks("resource", "aws_iam_role_policy_attachment"):
            if self._names_role(role, b.attr("role")):
                for text in self._policy_arns(b, "policy_arn"):
                    self._add_policy_arn(rp, text, f"aws_iam_role_policy_attachment.{b.labels[1]}")
        for b in self.blocks("resource", "aws_iam_policy_attachment"):
            if self._names_role(role, b.attr("roles")):
                for text in self._policy_arns(b, "policy_arn"):
                    self._add_policy_arn(rp, text, f"aws_iam_policy_attachment.{b.labels[1]}")
        for b in self.blocks("resource", "aws_iam_role_policy_attachments_exclusive"):
            if self._names_role(role, b.attr("role_name")):
                rp.exclusive = True
                for text, _ in self.texts(b.attr("policy_arns")):
                    self._add_policy_arn(rp, text, f"aws_iam_role_policy_attachments_exclusive.{b.labels[1]}")
        for b in self.blocks("resource", "aws_iam_role_policies_exclusive"):
            if self._names_role(role, b.attr("role_name")):
                rp.exclusive = True
        return rp

    def _policy_arns(self, block: Block, attr: str) -> list[Text]:
        """`policy_arn`, expanding `for_each` over a literal set when it is `each.value`/`each.key`."""
        texts = [t for t, _ in self.texts(block.attr(attr))]
        if len(texts) == 1 and len(texts[0]) == 1 and isinstance(texts[0][0], Sym) \
                and texts[0][0].source in ("each.value", "each.key") and "for_each" in block.attributes:
            resolved, _ = self.resolve(block.attr("for_each"))
            if isinstance(resolved, Obj):
                if texts[0][0].source == "each.key":
                    return [(it.key,) for it in resolved.items if it.key is not None]
                return [self.text(it.value) for it in resolved.items]
            items = self.texts(block.attr("for_each"))
            if items and not any(len(t) == 1 and isinstance(t[0], Sym) and t[0].source.startswith("var.") for t, _ in items):
                return [t for t, _ in items]
        return texts

    def _add_policy_arn(self, rp: RolePolicies, text: Text, origin: str) -> None:
        managed = managed_policy_name(text)
        if managed is not None:
            self._add_managed(rp, managed, origin)
            return
        if len(text) == 1 and isinstance(text[0], Sym):
            ident = identity(text[0].source)
            if ident is not None and ident.type == "aws_iam_policy" and ident.path == ".arn":
                block = self.block_of(ident)
                if block is not None and not ident.is_data:
                    self._add_document(rp, block.attr("policy"), ident.address)
                    return
                if block is not None:  # data "aws_iam_policy": an AWS managed policy by name or ARN
                    name = self.literal_attr(block, "name")
                    arn = self.literal_attr(block, "arn")
                    managed = name or (managed_policy_name((arn,)) if arn else None)
                    if managed is not None and (name is None or managed in AWS_MANAGED):
                        self._add_managed(rp, managed, origin)
                        return
        lit = literal(text)
        if lit is not None and ":policy/" in lit:
            name = lit.rsplit("/", 1)[-1]
            for b in self.blocks("resource", "aws_iam_policy"):
                if self.literal_attr(b, "name") == name:
                    self._add_document(rp, b.attr("policy"), f"aws_iam_policy.{b.labels[1]}")
                    return
        rp.unknown.append(f"the policy {show_ref(text)} ({origin}) is not defined in this module")

    def _add_managed(self, rp: RolePolicies, name: str, origin: str) -> None:
        rp.managed.append(name)
        known = AWS_MANAGED.get(name)
        if known is None:
            rp.unknown.append(f"the AWS managed policy {name} ({origin}) is not known to ecsfix")
            return
        for effect, actions, not_action in known:
            rp.statements.append(Statement(effect, [(a,) for a in actions], not_action, [(("*",), None)], False, False,
                                           f"AWS managed policy {name}", None))

    def _add_document(self, rp: RolePolicies, expr: Expr | None, origin: str) -> None:
        statements, unknown = self.document(expr, origin)
        rp.statements.extend(statements)
        rp.unknown.extend(unknown)

    # ------------------------------------------------------------------ policy documents
    def document(self, expr: Expr | None, origin: str, scope: Scope | None = None,
                 depth: int = 0) -> tuple[list[Statement], list[str]]:
        """The statements of a policy document expression, and what could not be read."""
        if expr is None:
            return [], [f"{origin} has no policy document"]
        if depth > 8:
            return [], [f"{origin}: policy documents nest too deeply"]
        cache_key = id(expr)
        if scope is None and cache_key in self._docs:
            return self._docs[cache_key]
        resolved, rscope = self.resolve(expr, scope)
        result: tuple[list[Statement], list[str]]
        if isinstance(resolved, Ref):
            ident = identity(resolved.source)
            if ident is not None and ident.is_data and ident.type == "aws_iam_policy_document" \
                    and ident.path in (".json", ".minified_json"):
                block = self.block_of(ident)
                result = self.policy_document_block(block, ident.address, depth) if block is not None \
                    else ([], [f"{ident.address} is not defined in this module"])
            else:
                result = [], [f"{origin}: the policy comes from {resolved.source}, which is not known statically"]
        elif isinstance(resolved, Str) and not resolved.is_template and self.resolver is not None:
            try:
                doc = self.resolver.json_string(resolved)
            except EcsfixError:
                doc = resolved
            result = self.json_document(doc, origin, None) if isinstance(doc, Obj) \
                else ([], [f"{origin}: the policy is not a JSON document"])
        elif isinstance(resolved, Obj):
            result = self.json_document(resolved, origin, rscope)
        else:
            what = f"built with {resolved.name}(...)" if isinstance(resolved, Call) else "not known statically"
            result = [], [f"{origin}: the policy document is {what}"]
        if scope is None:
            self._docs[cache_key] = result
        return result

    def json_document(self, doc: Obj, origin: str, scope: Scope | None) -> tuple[list[Statement], list[str]]:
        body, bscope = self.resolve(doc.get("Statement"), scope)
        items: list[Expr]
        if isinstance(body, Obj):
            items = [body]
        elif isinstance(body, Lst):
            items = body.items
        else:
            return [], [f"{origin}: its Statement list is not known statically"]
        statements: list[Statement] = []
        unknown: list[str] = []
        for item in items:
            obj, oscope = self.resolve(item, bscope)
            if not isinstance(obj, Obj):
                unknown.append(f"{origin}: a statement is not known statically")
                continue
            effect = literal(self.text(obj.get("Effect"), oscope))
            not_action = obj.item("NotAction") is not None
            not_resource = obj.item("NotResource") is not None
            actions = [t for t, _ in self.texts(obj.get("NotAction" if not_action else "Action"), oscope)]
            resources = self.texts(obj.get("NotResource" if not_resource else "Resource"), oscope)
            principals = None
            if obj.item("Principal") is not None:
                principals = self._principals(obj.get("Principal"), oscope)
            statements.append(Statement(effect, actions, not_action, resources, not_resource,
                                        obj.item("Condition") is not None, origin, obj.span, principals))
        return statements, unknown

    def _principals(self, expr: Expr | None, scope: Scope | None) -> list[Text]:
        resolved, rscope = self.resolve(expr, scope)
        if isinstance(resolved, Obj):
            out: list[Text] = []
            for it in resolved.items:
                if it.key == "AWS":
                    out.extend(t for t, _ in self.texts(it.value, rscope))
            return out
        return [t for t, _ in self.texts(expr, scope)]

    def policy_document_block(self, block: Block, address: str, depth: int) -> tuple[list[Statement], list[str]]:
        statements: list[Statement] = []
        unknown: list[str] = []
        for attr in ("source_policy_documents", "override_policy_documents"):
            resolved, _ = self.resolve(block.attr(attr))
            parts = resolved.items if isinstance(resolved, Lst) else [resolved] if resolved is not None else []
            for part in parts:
                s, u = self.document(part, f"{address} {attr}", None, depth + 1)
                statements.extend(s)
                unknown.extend(u)
        for attr in ("source_json", "override_json"):
            if attr in block.attributes:
                s, u = self.document(block.attr(attr), f"{address} {attr}", None, depth + 1)
                statements.extend(s)
                unknown.extend(u)
        for sub in block.blocks:
            if sub.type == "dynamic":
                unknown.append(f"{address}: a `dynamic` statement is not known statically")
                continue
            if sub.type != "statement":
                continue
            effect = literal(self.text(sub.attr("effect"))) if "effect" in sub.attributes else "Allow"
            not_action = "not_actions" in sub.attributes
            not_resource = "not_resources" in sub.attributes
            actions = [t for t, _ in self.texts(sub.attr("not_actions" if not_action else "actions"))]
            resources = self.texts(sub.attr("not_resources" if not_resource else "resources"))
            principals: list[Text] | None = None
            for pb in sub.blocks:
                if pb.type == "principals":
                    principals = (principals or []) + [t for t, _ in self.texts(pb.attr("identifiers"))]
            conditional = any(b.type == "condition" for b in sub.blocks)
            statements.append(Statement(effect, actions, not_action, resources, not_resource, conditional,
                                        address, sub.span, principals))
        return statements, unknown

    def all_documents(self, hint: str | None = None) -> Iterator[tuple[str, list[Statement]]]:
        """Every policy document written in this module (for checks on the policies themselves);
        with `hint`, only the blocks whose text contains it."""
        for rtype in ("aws_iam_role_policy", "aws_iam_policy"):
            for b in self.blocks("resource", rtype, hint):
                yield f"{rtype}.{b.labels[1]}", self._own_statements(b.attr("policy"), f"{rtype}.{b.labels[1]}")
        for b in self.blocks("resource", "aws_iam_role", hint):
            for inline in (x for x in b.blocks if x.type == "inline_policy"):
                address = f"aws_iam_role.{b.labels[1]}"
                yield address, self._own_statements(inline.attr("policy"), address)
        for b in self.blocks("data", "aws_iam_policy_document", hint):
            address = f"data.aws_iam_policy_document.{b.labels[1]}"
            yield address, [s for s in self.policy_document_block(b, address, 99)[0] if s.origin == address]

    def _own_statements(self, expr: Expr | None, origin: str) -> list[Statement]:
        """Statements written in this expression itself (a referenced policy document is reported
        where it is written, not once per user)."""
        resolved, _ = self.resolve(expr)
        if isinstance(resolved, Ref):
            return []
        return self.document(expr, origin)[0]

    # ------------------------------------------------------------------ decisions
    def decide(self, rp: RolePolicies, action: str, resource: Text) -> Decision:
        target = self.tokens(resource, "t")
        allow_best, allow_stmt = NO, None
        deny_stmt = None
        elsewhere: list[Statement] = []
        for st in rp.statements:
            act = max((action_level(a, action) for a in st.actions), default=NO)
            if st.not_action:
                act = _invert(act)
            if act == NO:
                continue
            res = max((match_level(self.tokens(t, "p"), target) for t, _ in st.resources), default=NO)
            if st.not_resource:
                res = _invert(res)
            level = min(act, res)
            if st.effect is None:
                level = min(level, OPAQUE)
            if st.effect == "Deny":
                if level >= LIKELY and not st.conditional and deny_stmt is None:
                    deny_stmt = st
                continue
            if level > allow_best:
                allow_best, allow_stmt = level, st
            if level == NO and act >= LIKELY:
                elsewhere.append(st)
        if deny_stmt is not None:
            return Decision("deny", deny_stmt)
        if allow_best >= LIKELY:
            return Decision("allow", allow_stmt)
        reasons = list(rp.unknown)
        if allow_best == OPAQUE and allow_stmt is not None:
            reasons.insert(0, f"{allow_stmt.where()} names resources that are not known statically")
        if reasons:
            return Decision("unknown", allow_stmt, elsewhere, reasons)
        return Decision("none", None, elsewhere)

    # ------------------------------------------------------------------ KMS
    def kms_key(self, secret: Block) -> KeyRef | None:
        """The customer managed key a secret/parameter is encrypted with (None: an AWS managed key,
        or a key that cannot be told)."""
        attr = "kms_key_id" if secret.labels[0] == "aws_secretsmanager_secret" else "key_id"
        if attr not in secret.attributes:
            return None
        if secret.labels[0] == "aws_ssm_parameter":
            ptype = self.literal_attr(secret, "type")
            if ptype is not None and ptype != "SecureString":
                return None
        text = self.text(secret.attr(attr))
        if not text:
            return None
        lit = literal(text)
        if lit is not None:
            if lit.endswith(("alias/aws/secretsmanager", "alias/aws/ssm")):
                return None
            if lit.startswith("arn:") and ":key/" in lit:
                return KeyRef((lit,), lit)
            if lit.startswith("arn:") or lit.startswith("alias/"):
                return KeyRef(("arn:", PARTITION, ":kms:", REGION, ":", ACCOUNT, ":key/", ANY), lit)
            return KeyRef(("arn:", PARTITION, ":kms:", REGION, ":", ACCOUNT, ":key/" + lit), lit)
        if len(text) == 1 and isinstance(text[0], Sym):
            ident = identity(text[0].source)
            if ident is None:
                return None  # a variable: whether it is a customer managed key at all is unknown
            if ident.type == "aws_kms_alias":
                alias = self.block_of(ident)
                target = self.text(alias.attr("target_key_id")) if alias is not None else ()
                inner = identity(target[0].source) if len(target) == 1 and isinstance(target[0], Sym) else None
                if inner is None or inner.type != "aws_kms_key":
                    return KeyRef(("arn:", PARTITION, ":kms:", REGION, ":", ACCOUNT, ":key/", ANY), text[0].source)
                ident = inner
            if ident.type == "aws_kms_key":
                key = Identity(ident.address, ident.type, ident.name, ident.index, ".arn")
                src = f"{key.address}{'' if key.index is None else '[' + key.index + ']'}.arn"
                return KeyRef((Sym(src),), key.address, key)
        return None

    def key_grants(self, key: KeyRef, role: RoleRef, action: str) -> Statement | None:
        """A key policy statement or `aws_kms_grant` that lets the role use the key directly."""
        if key.identity is None or key.identity.is_data:
            return None
        block = self.block_of(key.identity)
        docs: list[tuple[Expr | None, str]] = []
        if block is not None and "policy" in block.attributes:
            docs.append((block.attr("policy"), key.identity.address))
        for b in self.blocks("resource", "aws_kms_key_policy"):
            if self._names_key(key, b.attr("key_id")):
                docs.append((b.attr("policy"), f"aws_kms_key_policy.{b.labels[1]}"))
        for expr, origin in docs:
            for st in self.document(expr, origin)[0]:
                if st.effect != "Allow" or not st.principals:
                    continue
                act = max((action_level(a, action) for a in st.actions), default=NO)
                if (_invert(act) if st.not_action else act) >= LIKELY and any(self._is_role(role, p) for p in st.principals):
                    return st
        for b in self.blocks("resource", "aws_kms_grant"):
            ops = [literal(t) for t, _ in self.texts(b.attr("operations"))]
            if "Decrypt" in ops and self._names_key(key, b.attr("key_id")) \
                    and any(self._is_role(role, t) for t, _ in self.texts(b.attr("grantee_principal"))):
                return Statement("Allow", [(action,)], False, [], False, False, f"aws_kms_grant.{b.labels[1]}", b.span)
        return None

    def _names_key(self, key: KeyRef, expr: Expr | None) -> bool:
        for text, _ in self.texts(expr):
            if len(text) == 1 and isinstance(text[0], Sym):
                ident = identity(text[0].source)
                if ident is not None and key.identity is not None and ident.address == key.identity.address:
                    return True
        return False

    def _is_role(self, role: RoleRef, principal: Text) -> bool:
        if len(principal) == 1 and isinstance(principal[0], Sym):
            ident = identity(principal[0].source)
            return ident is not None and ident.address == role.address
        lit = literal(principal)
        return lit is not None and ":role/" in lit and lit.rsplit("/", 1)[-1] in role.names


# --------------------------------------------------------------------------- what a task pulls


@dataclass
class SecretUse:
    """One secret a container pulls at start: a `secrets` entry or `repositoryCredentials`."""

    container: Container
    name: str | None  # the environment variable, or `repositoryCredentials`
    span: Span  # the entry
    value_from: ValueFrom
    registry: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return self.value_from.service, show(self.value_from.iam_resource())


def secret_uses(td: TaskDefinition, model: IamModel) -> list[SecretUse]:
    """Every secret the task's containers pull (computed once per task definition)."""
    cached = model.uses.get(id(td))
    if cached is None or cached[0] is not td:
        cached = model.uses[id(td)] = (td, _secret_uses(td, model))
    return cached[1]


def _secret_uses(td: TaskDefinition, model: IamModel) -> list[SecretUse]:
    # `templatefile()` definitions: `${secret_arn}` in the template means the template variable
    scope = model.resolve(td.block.attr("container_definitions"))[1] if td.block is not None else None
    uses: list[SecretUse] = []
    for container in td.containers:
        for entry in container.secrets:
            if entry.value_from is None:
                continue
            vf = parse_value_from(model.text(entry.value_from, scope))
            if vf.problem is not None:
                # say it the way it is written (`${local.db_arn}:password`), not as resolved
                as_written = parse_value_from(model.written(entry.value_from))
                if as_written.problem is not None:
                    vf.problem, vf.fix = as_written.problem, as_written.fix
            uses.append(SecretUse(container, entry.name, entry.span, vf))
        if container.repository_credentials and container.obj is not None:
            item = container.obj.item("repositoryCredentials")
            creds, _ = model.resolve(item.value if item else None)
            param = creds.get("credentialsParameter") if isinstance(creds, Obj) else None
            if item is not None and param is not None:
                vf = parse_value_from(model.text(param))
                vf.service = "secretsmanager"  # private registry credentials always live in Secrets Manager
                uses.append(SecretUse(container, "repositoryCredentials", item.span, vf, registry=True))
    return uses


def distinct(uses: list[SecretUse]) -> list[SecretUse]:
    """The first use of each secret whose identity is known: a permission problem is reported once
    per secret, and never on top of a `valueFrom` too malformed to name one (EF103)."""
    seen: set[tuple[str | None, str]] = set()
    out: list[SecretUse] = []
    for use in uses:
        if use.value_from.resolvable and use.key not in seen:
            seen.add(use.key)
            out.append(use)
    return out


def uses_secrets(container: Container, model: IamModel) -> bool:
    """The container pulls something at start (a `secrets` list not known to be empty counts)."""
    if container.secrets or container.repository_credentials:
        return True
    resolved, _ = model.resolve(container.secrets_expr)
    return resolved is not None and not isinstance(resolved, (Lst, Null))
