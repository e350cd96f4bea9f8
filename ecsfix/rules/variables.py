"""What the module says about where an environment value comes from, beyond the entry itself.

* a variable declared `bool` or `number` never holds a secret, whatever the entry's name;
* a variable with no default (or a `null` / `""` default: the caller or a `.tfvars` file sets it)
  is a value not known here;
* evidence that an entry whose name says nothing passes a secret all the same: a source that is a
  credential by definition (`random_password.x.result`, `aws_iam_access_key.x.secret`, a Secrets
  Manager `secret_string` read back), a variable or local whose name or description says what it
  holds (`var.secrets["broker_url"]`, "server-side SDK key"), and, for names that conventionally
  carry a URL with credentials (DATABASE_URL, REDIS_URL...), the value a `terraform.tfvars` sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import Expr, Interp, Null, Ref, Str, Value
from ..secrets import (
    benign_value,
    browser_public,
    carries_credentials,
    classify,
    name_is_secret,
    pointer_word,
    prose_says_secret,
)

if TYPE_CHECKING:
    from ..detectconfig import DetectConfig
    from ..resolve import Resolver

SCALAR_TYPES = frozenset({"bool", "number"})
# Kinds of secret that are a connection string: whether it holds credentials is the value's to say.
DSN_KINDS = frozenset({"DSN", "CONNECTION_STRING", "CONNSTR", "CONNSTRING", "CONNECTIONSTRING", "CONNECTIONSTRINGS"})

_URL_WORDS = ("URL", "URI", "URLS", "URIS")
_INDEX = r"(?:\[[^\[\]]*\])?"
# Resource attributes that are credentials by definition.
_SECRET_SOURCE_RE = re.compile(
    r"(?<![\w.-])(?:data\.)?(?:"
    rf"aws_iam_access_key\.[\w-]+{_INDEX}\.(?:secret|ses_smtp_password_v4|encrypted_secret)"
    rf"|random_password\.[\w-]+{_INDEX}\.(?:result|bcrypt_hash)"
    rf"|aws_secretsmanager_secret_version\.[\w-]+{_INDEX}\.secret_(?:string|binary)"
    rf"|aws_(?:db_instance|rds_cluster|docdb_cluster|neptune_cluster|redshift_cluster)\.[\w-]+{_INDEX}\.(?:master_)?password"
    rf"|aws_elasticache_replication_group\.[\w-]+{_INDEX}\.auth_token"
    rf"|tls_private_key\.[\w-]+{_INDEX}\.private_key_(?:pem|openssh|pem_pkcs8)"
    r")(?![\w-])"
)
_ACCESS_KEY_RE = re.compile(rf"(?<![\w.-])aws_iam_access_key\.([\w-]+){_INDEX}\.(id|secret)(?![\w-])")
_WORDS_RE = re.compile(r"[A-Za-z_][\w-]*|\"([^\"]+)\"")


@dataclass(frozen=True)
class Evidence:
    why: str  # never a value
    reason: str = "value"  # what says it: the value's origin, or (a connection string's) the entry's name
    severity: str | None = None  # None: the rule's own
    hint: str | None = None  # appended to the finding's advice


def variable_ref(value: Value | None) -> Ref | None:
    """The `var.x` reference a value comes down to, when it is one."""
    if value is None:
        return None
    expr: Expr = value.resolved
    if isinstance(expr, Str):
        interp = expr.sole_interp()
        expr = interp.expr if isinstance(interp, Interp) and interp.expr is not None else expr
    return expr if isinstance(expr, Ref) and expr.root == "var" else None


def scalar_typed(value: Value | None, resolver: Resolver | None) -> bool:
    """The value is a variable declared `bool` or `number` (ATLANTIS_WRITE_GIT_CREDS = var.x)."""
    ref = variable_ref(value)
    if ref is None or resolver is None:
        return False
    declared = resolver.declared(ref.source)
    return declared is not None and declared.type in SCALAR_TYPES


def unknown_variable(value: Value | None) -> str | None:
    """The `var.x...` whose value the entry passes when this module does not know it: no default,
    or a `null` or `""` default (the caller or a `.tfvars` file sets it; an empty password is no
    one's intent)."""
    ref = variable_ref(value)
    if ref is not None:
        return ref.source
    if value is None or not value.via or not value.via[-1].startswith("var."):
        return None
    resolved = value.resolved
    if isinstance(resolved, Null) or (isinstance(resolved, Str) and resolved.value == ""):
        return value.via[-1]
    return None


def source_text(value: Value) -> str:
    """The Terraform expressions a value is written as and resolves to, without its literal text
    (a string that merely reads like an address, "random_password.x.result", is text)."""
    parts: list[str] = []
    for expr in (value.at_entry, value.resolved):
        if isinstance(expr, Str):
            parts.extend(p.source for p in expr.parts if isinstance(p, Interp))
        elif not isinstance(expr, (Null,)):
            parts.append(expr.span.text)
    return "\n".join(parts)


def access_key_half(value: Value | None) -> tuple[str, str] | None:
    """("id" | "secret", resource) when the value is an attribute of an `aws_iam_access_key`."""
    if value is None:
        return None
    m = _ACCESS_KEY_RE.search(source_text(value))
    return (m.group(2), m.group(1)) if m else None


def _telling_words(reference: str) -> list[str]:
    """The names of a reference that say what it holds: its last attribute (`var.smtp.password`:
    the object's schema names it), or a map's name and the key (`var.secrets["broker_url"]`: a
    map of secrets). The root (`var`, `local`) says nothing."""
    found = [(m.group(1) is not None, m.group(1) or m.group(0)) for m in _WORDS_RE.finditer(reference)]
    if found and found[0][1] in ("var", "local", "each", "count", "module", "data"):
        found = found[1:]
    if not found:
        return []
    quoted, leaf = found[-1]
    return [leaf, found[-2][1]] if quoted and len(found) >= 2 else [leaf]


def evidence(name: str | None, value: Value | None, text: str | None, resolver: Resolver | None,
             config: DetectConfig) -> Evidence | None:
    """Why an entry that `classify` finds nothing in passes a secret all the same, or None.
    `text` is the value as the rule sees it (None: not known here)."""
    carries = bool(name) and carries_credentials(name)  # type: ignore[arg-type]
    if value is None or (name and not carries and pointer_word(name) not in (None, *_URL_WORDS)):
        return None  # DB_SECRET_NAME = var.db_secret: the name of the secret, not the secret
    if text is not None and benign_value(text, config=config):
        return None
    src = source_text(value)
    m = _SECRET_SOURCE_RE.search(src)
    if m:
        return Evidence(f"value comes from {m.group(0)}, a credential by definition")
    refs = list(value.via)
    final = value.resolved
    if isinstance(final, Str) and final.sole_interp() is not None:
        interp = final.sole_interp()
        final = interp.expr if interp is not None and interp.expr is not None else final
    if isinstance(final, Ref) and final.source not in refs:
        refs.append(final.source)
    elif isinstance(final, Str):  # "db+${var.secrets["sql_conn"]}": each interpolated reference
        refs.extend(p.expr.source for p in final.parts if isinstance(p, Interp) and isinstance(p.expr, Ref))
    unknown = unknown_variable(value)
    dsn: str | None = None  # why the value may be a connection string with credentials
    reason = "value"
    if carries:
        dsn = f"name {name} conventionally holds a URL with credentials"
        reason = "name"
    for ref in reversed(refs):  # nearest the value first
        words = _telling_words(ref)
        if not words or pointer_word(words[0]) not in (None, *_URL_WORDS):
            continue  # var.secrets["db_password_arn"]: where the secret is (a URL may hold one)
        kind = next((k for k in (_name_kind(w, config) for w in words) if k), None)
        where = f"{ref}, whose name says {kind}" if kind else None
        if kind is None and ref.startswith("var.") and resolver is not None:
            declared = resolver.declared(ref)
            if declared is not None and declared.description:
                kind = prose_says_secret(declared.description)
                where = f"{ref}, whose description says {kind}" if kind else None
        if kind is None or (kind.endswith("KEY") and name and browser_public(name)):
            continue  # VITE_PUSHER_APP_KEY = var.pusher_key ("Pusher app key"): a public client key
        if kind not in DSN_KINDS:
            return Evidence(f"value comes from {where}")
        if dsn is None:
            dsn = f"value comes from {where}"
    if dsn is None or unknown is None:
        return None
    return _dsn_evidence(dsn, reason, unknown, resolver, config)


def _name_kind(word: str, config: DetectConfig) -> str | None:
    why = name_is_secret(word, config)
    if why is None or not why.startswith("name contains the token "):
        return None
    return why.removeprefix("name contains the token ")


def _dsn_evidence(dsn: str, reason: str, unknown: str, resolver: Resolver | None, config: DetectConfig) -> Evidence | None:
    """A connection string from a variable this module does not set: what a `terraform.tfvars`
    next to it sets decides; without one, it may hold credentials (medium)."""
    if resolver is not None and unknown.count(".") == 1 and "[" not in unknown:
        from ..tfvars import assignments

        assigned = assignments(resolver).get(unknown.removeprefix("var."))
        if assigned is not None and isinstance(assigned.value, Str) and not assigned.value.is_template:
            verdict = classify(None, assigned.value.value or "", config=config)
            if verdict is None:
                return None  # the value set there holds no credentials
            return Evidence(f"{dsn}, and the value {assigned.where} sets for {unknown} embeds credentials "
                            f"({verdict.why})", reason,
                            hint=f"{assigned.where} holds the value: rotate it if that file is committed")
    return Evidence(f"{dsn}; it may embed credentials: {unknown} is not set in this module", reason, severity="medium")
