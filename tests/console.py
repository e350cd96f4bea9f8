"""Evaluate Terraform expressions offline with `terraform console` on a provider-less copy.

Used by test_rewrite_console.py to prove SPEC §5 property 5: `container_definitions` evaluated
before and after `ecsfix rewrite` differs exactly by the moved entries.

A provider-less copy keeps only what `terraform console` can evaluate without `init`: `locals`
blocks, `variable` blocks (regenerated: original `type` and `default`; without a default, a fake
value of that type, collections with one element; no `sensitive`/`ephemeral`/`validation`) and
every non-Terraform file (JSON and templates read by `file()`/`templatefile()`). `resource`,
`data`, `module`, `provider`, `terraform`, `output`, ... blocks are dropped, and every reference
to a resource, data source or module output in the kept or evaluated text becomes a fake string
`"arn:aws:fake:::<the reference>"` (a one-element list for splats; index expressions inside it
are evaluated: `aws_x.y[count.index].arn` -> `arn:aws:fake:::aws_x.y[0].arn`). A resource with
`count`/`for_each` is evaluated for every instance, as an object `instance key => value` (key ""
without them; a `for_each` Terraform cannot evaluate offline gives one fake instance).
`*.tf.json` files are dropped (not supported by this helper).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecsfix.hclparse import parse_file
from ecsfix.model import Block, Call, Expr, Lst, Obj, Ref, SourceFile

FAKE_ARN = "arn:aws:fake:::"
# Roots console can evaluate itself (or that fake_references rewrites specially).
_KEEP_ROOTS = frozenset({"var", "local", "path", "terraform", "self"})
_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_FOR_VARS = re.compile(r"\bfor\s+([A-Za-z_][A-Za-z0-9_-]*)(?:\s*,\s*([A-Za-z_][A-Za-z0-9_-]*))?\s+in\b")
_HEREDOC_START = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")


class ConsoleError(AssertionError):
    """`terraform console` could not evaluate the expression (message: its stderr + the copy)."""


def fake_arn(reference: str) -> str:
    return FAKE_ARN + reference


def hcl_string(value: str) -> str:
    """`value` as a quoted HCL string literal (no interpolation, no directive)."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out).replace("${", "$${").replace("%{", "%%{") + '"'


def hcl_literal(value: Any) -> str:
    """A JSON-like Python value as an HCL literal (variable defaults allow no function calls)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(hcl_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{hcl_string(str(k))} = {hcl_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no HCL literal for {type(value).__name__}")


# --------------------------------------------------------------------------- reference faking


@dataclass
class _Scanner:
    text: str
    count_index: str | None  # what count.index becomes (None: left alone)
    each_key: str | None
    each_value: str | None
    bound: frozenset[str]
    out: list[str] = field(default_factory=list)
    pos: int = 0

    def run(self) -> str:
        self.code(interp=False)
        return "".join(self.out)

    def emit_to(self, end: int) -> None:
        self.out.append(self.text[self.pos : end])
        self.pos = end

    # code: identifiers, strings, heredocs, comments; in an interpolation, until its closing brace
    def code(self, interp: bool) -> None:
        t = self.text
        depth = 0
        while self.pos < len(t):
            ch = t[self.pos]
            if ch == '"':
                self.emit_to(self.pos + 1)
                self.template(quoted=True, marker=None)
            elif t.startswith("<<", self.pos) and (m := _HEREDOC_START.match(t, self.pos)):
                self.emit_to(m.end())
                self.template(quoted=False, marker=m.group(2))
            elif ch == "#" or t.startswith("//", self.pos):
                nl = t.find("\n", self.pos)
                self.emit_to(len(t) if nl == -1 else nl)
            elif t.startswith("/*", self.pos):
                close = t.find("*/", self.pos + 2)
                self.emit_to(len(t) if close == -1 else close + 2)
            elif ch in "{[(":
                depth += 1
                self.emit_to(self.pos + 1)
            elif ch in "}])":
                if interp and depth == 0 and ch == "}":
                    self.emit_to(self.pos + 1)
                    return
                depth -= 1
                self.emit_to(self.pos + 1)
            elif _IDENT_START.match(ch) and (self.pos == 0 or not re.match(r"[A-Za-z0-9_.-]", t[self.pos - 1])):
                self.traversal()
            elif ch.isdigit():  # a number: `1.5`, `1e3` never start a traversal
                m2 = re.compile(r"[0-9.eE+-]*").match(t, self.pos)
                assert m2 is not None
                self.emit_to(max(m2.end(), self.pos + 1))
            else:
                self.emit_to(self.pos + 1)

    def template(self, quoted: bool, marker: str | None) -> None:
        t = self.text
        line_start = True
        while self.pos < len(t):
            if not quoted and line_start:
                nl = t.find("\n", self.pos)
                line = t[self.pos : len(t) if nl == -1 else nl]
                if line.strip() == marker:
                    self.emit_to(self.pos + len(line))
                    return
            ch = t[self.pos]
            line_start = ch == "\n"
            if quoted and ch == "\\":
                self.emit_to(min(self.pos + 2, len(t)))
            elif quoted and ch == '"':
                self.emit_to(self.pos + 1)
                return
            elif t.startswith("$${", self.pos) or t.startswith("%%{", self.pos):
                self.emit_to(self.pos + 3)
            elif t.startswith("${", self.pos) or t.startswith("%{", self.pos):
                self.emit_to(self.pos + 2)
                self.code(interp=True)
            else:
                self.emit_to(self.pos + 1)

    def traversal(self) -> None:
        t = self.text
        m = _IDENT.match(t, self.pos)
        assert m is not None
        root = m.group(0)
        end = m.end()
        if t.startswith("::", end) or t.startswith("(", end):  # a function call (or provider::x::f)
            self.emit_to(end)
            return
        segments: list[str] = []
        splat = False
        while end < len(t):
            if t[end] == "." and (a := re.compile(r"\.(\*|[A-Za-z_][A-Za-z0-9_-]*|[0-9]+)").match(t, end)):
                segments.append(a.group(1))
                splat |= a.group(1) == "*"
                end = a.end()
            elif t[end] == "[":
                close = _matching_bracket(t, end)
                splat |= t[end + 1 : close].strip() == "*"
                segments.append(t[end : close + 1])
                end = close + 1
            else:
                break
        if not segments or root in _KEEP_ROOTS or root in self.bound:
            self.emit_to(end)
        elif root == "count" and segments[0] == "index" and self.count_index is not None:
            self.out.append(self.count_index)
            self.pos = m.end() + len(".index")
            self.emit_to(end)
        elif root == "each" and (each := {"key": self.each_key, "value": self.each_value}.get(segments[0])):
            self.out.append(each)
            self.pos = m.end() + 1 + len(segments[0])
            self.emit_to(end)
        elif root in ("count", "each"):
            self.emit_to(end)
        else:
            fake = FAKE_ARN + root
            for segment in segments:
                if segment.startswith("[") and segment[1:-1].strip() != "*":
                    inner = _Scanner(segment[1:-1], self.count_index, self.each_key, self.each_value, self.bound).run()
                    fake += "[${" + inner + "}]"
                else:
                    fake += segment if segment.startswith("[") else "." + segment
            quoted = '"' + fake.replace("%{", "%%{") + '"'
            self.out.append(f"[{quoted}]" if splat else quoted)
            self.pos = end


def _matching_bracket(text: str, start: int) -> int:
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced [ in {text[start:start + 40]!r}")


def fake_references(
    expression: str, count_index: str | None = None, each_key: str | None = None, each_value: str | None = None
) -> str:
    """Replace resource/data/module references by fake ARN strings, and `count.index`,
    `each.key`, `each.value` by the given expressions (left alone when None). Text inside string
    literals is untouched; interpolations inside them are rewritten."""
    bound = frozenset(n for m in _FOR_VARS.finditer(expression) for n in m.groups() if n)
    return _Scanner(expression, count_index, each_key, each_value, bound).run()


def per_instance(value: str, count: str | None = None, for_each: str | None = None) -> str:
    """An HCL object `instance key => value` over every instance of a resource whose attribute
    `value` is (texts as written; key "" without count/for_each)."""
    if for_each is not None:
        fe = fake_references(for_each)
        v = fake_references(value, each_key="__ecsfix_k", each_value="__ecsfix_v")
        # a for_each Terraform cannot evaluate here (a faked reference) gives one fake instance
        keys = f"try([for __ecsfix_a, __ecsfix_b in {fe} : __ecsfix_a] == null ? {fe} : {fe}, " \
               '{ "fake-each-key" = "fake-each-value" })'
        return f"{{ for __ecsfix_k, __ecsfix_v in {keys} : __ecsfix_k => {v.rstrip()}\n}}"
    if count is not None:
        v = fake_references(value, count_index="__ecsfix_i")
        n = fake_references(count)
        return f"{{ for __ecsfix_i in try(range({n}), [0]) : tostring(__ecsfix_i) => {v.rstrip()}\n}}"
    return f'{{ "" = {fake_references(value).rstrip()}\n}}'


# --------------------------------------------------------------------------- provider-less copy


def _fake_for_type(name: str, type_expr: Expr | None) -> Any:
    if type_expr is None:
        return f"fake-{name}"
    if isinstance(type_expr, Ref):
        return {"number": 0, "bool": False}.get(type_expr.source, f"fake-{name}")
    if isinstance(type_expr, Call):
        # one element, so that a for_each / count / for over the variable has an instance to check
        arg = type_expr.args[0] if type_expr.args else None
        if type_expr.name in ("list", "set"):
            return [_fake_for_type(f"{name}-0", arg)]
        if type_expr.name == "tuple":
            items = arg.items if isinstance(arg, Lst) else []
            return [_fake_for_type(f"{name}-{i}", item) for i, item in enumerate(items)]
        if type_expr.name == "map":
            return {f"fake-{name}-key": _fake_for_type(f"{name}-value", arg)}
        if type_expr.name == "optional" and type_expr.args:
            return _fake_for_type(name, type_expr.args[0])
        if type_expr.name == "object" and type_expr.args and isinstance(type_expr.args[0], Obj):
            return {it.key: _fake_for_type(f"{name}-{it.key}", it.value) for it in type_expr.args[0].items if it.key}
    return f"fake-{name}"


def parse_tf(path: Path) -> list[Block]:
    text = path.read_bytes().decode("utf-8")
    return parse_file(SourceFile(path=str(path), display=path.name, text=text))


def _variable_block(block: Block, default: Any | None, has_override: bool) -> str:
    name = block.labels[0]
    type_attr = block.attributes.get("type")
    lines = [f'variable "{name}" {{']
    if type_attr is not None:
        lines.append(f"  type = {type_attr.value.span.text}")
    if has_override:
        lines.append(f"  default = {hcl_literal(default)}")
    elif "default" in block.attributes:
        lines.append(f"  default = {block.attributes['default'].value.span.text}")
    else:
        lines.append(f"  default = {hcl_literal(_fake_for_type(name, type_attr.value if type_attr else None))}")
    return "\n".join(lines) + "\n}\n"


def make_provider_less(directory: Path, defaults: Mapping[str, Any] = {}) -> None:  # noqa: B006
    """Turn the module in `directory` (a throw-away copy) into a provider-less one, in place.
    `defaults` overrides variable defaults (e.g. the value a user sets for a new variable)."""
    for junk in (".terraform", ".terraform.lock.hcl"):
        p = directory / junk
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    for path in sorted(directory.glob("*.tf.json")):
        path.unlink()
    for path in sorted(directory.glob("*.tf")):
        parts: list[str] = []
        for block in parse_tf(path):
            if block.type == "locals":
                parts.append(fake_references(block.span.text) + "\n")
            elif block.type == "variable" and block.labels:
                name = block.labels[0]
                parts.append(_variable_block(block, defaults.get(name), name in defaults))
        path.write_text("\n".join(parts), encoding="utf-8", newline="")


# --------------------------------------------------------------------------- console


_GO_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[abfnrtv\\"\'])')
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"', "'": "'"}


def unquote_console_string(printed: str) -> str:
    """Console prints a one-line string Go-`%q`-quoted (`${` is not escaped there)."""
    s = printed.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise ConsoleError(f"terraform console did not print a quoted string: {s[:200]!r}")

    def sub(m: re.Match[str]) -> str:
        esc = m.group(1)
        return chr(int(esc[1:], 16)) if esc[0] in "xuU" else _SIMPLE[esc]

    return _GO_ESCAPE.sub(sub, s[1:-1])


def run_console(terraform: str, directory: Path, expression: str) -> str:
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", TF_IN_AUTOMATION="1")
    env.pop("TF_DATA_DIR", None)
    proc = subprocess.run(
        [terraform, "console", "-no-color"],
        input=expression + "\n",
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 or proc.stderr.strip():
        listing = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(directory.glob("*.tf")))
        raise ConsoleError(
            f"terraform console failed in {directory} (exit {proc.returncode}):\n{proc.stderr}\n"
            f"expression: {expression}\nprovider-less copy:\n{listing}"
        )
    return proc.stdout


def evaluate_locals(terraform: str, directory: Path, expressions: Mapping[str, str]) -> dict[str, Any]:
    """Add `locals { __ecsfix_<key> = <expr> }` (texts already faked) to the copy in `directory`
    and return every local's value, decoded from one `jsonencode` call."""
    body = "".join(f"  __ecsfix_{key} = {expr.rstrip()}\n" for key, expr in expressions.items())
    (directory / "__ecsfix_console.tf").write_text("locals {\n" + body + "}\n", encoding="utf-8")
    items = ", ".join(f"{hcl_string(key)} = local.__ecsfix_{key}" for key in expressions)
    printed = run_console(terraform, directory, f"nonsensitive(jsonencode({{ {items} }}))")
    value = json.loads(unquote_console_string(printed))
    assert isinstance(value, dict)
    return value


def find_resources(directory: Path, resource_type: str, kind: str = "resource") -> Iterable[tuple[Path, Block]]:
    for path in sorted(directory.glob("*.tf")):
        for block in parse_tf(path):
            if block.type == kind and block.labels[:1] == [resource_type]:
                yield path, block


# --------------------------------------------------------------------------- comparison

_SECRET_ARN = re.compile(
    re.escape(FAKE_ARN) + r"aws_secretsmanager_secret\.([A-Za-z0-9_-]+)(?:\[([^\]]*)\])?\.arn:(.*)::\Z", re.S
)


def expected_value_from(secret: str, index: str | None, key: str) -> str:
    at = "" if index is None else f"[{index}]"
    return fake_arn(f"aws_secretsmanager_secret.{secret}{at}.arn") + f":{key}::"


def _names(entries: Any) -> list[Any]:
    return [e.get("name") if isinstance(e, dict) else e for e in entries] if isinstance(entries, list) else []


@dataclass
class Link:
    """One moved entry: where it was before, and which generated secret its `valueFrom` names."""

    container: int  # index in the container definitions
    position: int  # index in that container's environment before
    value: Any  # its value before
    secret: str = "<none>"
    index: str | None = None  # the secret instance the reference names (None: not indexed)
    key: str = ""  # the JSON key in the secret (the entry's name, or NAME_2... when a name repeats)


def attribute_moved(before: Any, moved: Iterable[tuple[str, str]]) -> tuple[list[Link | None], list[str]]:
    """Link each moved (container, name) to one environment entry before (in `moved` order, each
    entry used once). A container given as `*` (a name the scanner could not resolve) may be any
    container whose name matches no other moved entry's container."""
    containers = before if isinstance(before, list) else []
    occurrences = [(i, j, e) for i, c in enumerate(containers) if isinstance(c, dict)
                   for j, e in enumerate(c.get("environment") or []) if isinstance(e, dict)]
    used: set[tuple[int, int]] = set()
    links: list[Link | None] = []
    problems: list[str] = []
    for container, name in moved:
        named = {i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("name") == container}
        hit = next(((i, j, e) for i, j, e in occurrences
                    if e.get("name") == name and (i, j) not in used
                    and (i in named or (not named and container == "*"))),
                   None)
        if hit is None:
            problems.append(f"moved entry {container}/{name} matches no (unused) environment entry before")
            links.append(None)
            continue
        used.add((hit[0], hit[1]))
        links.append(Link(hit[0], hit[1], hit[2].get("value")))
    return links, problems


def compare_container_definitions(
    before: Any, after: Any, moved: list[tuple[str, str]], new_secrets: set[str], instance: str = ""
) -> tuple[list[str], list[Link | None]]:
    """Problems (empty: `after` is `before` with exactly the moved entries moved) and, per moved
    entry, its `Link` (with the generated secret its `valueFrom` points at). `instance` is the task
    definition's instance key (count index or for_each key, "" for none): an indexed secret
    reference must point at the same instance."""
    if not isinstance(before, list) or not isinstance(after, list):
        return [f"container definitions are not JSON lists: {type(before).__name__} / {type(after).__name__}"], []
    if len(before) != len(after):
        return [f"{len(before)} containers before, {len(after)} after"], []
    problems: list[str] = []
    names_before = [c.get("name") if isinstance(c, dict) else None for c in before]
    names_after = [c.get("name") if isinstance(c, dict) else None for c in after]
    if names_before != names_after:
        problems.append(f"container names/order changed: {names_before} -> {names_after}")
    links, attribution = attribute_moved(before, moved)
    problems += attribution
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        if not isinstance(b, dict) or not isinstance(a, dict):
            problems.append(f"container {i} is not an object")
            continue
        label = f"container {i} ({b.get('name')!r})"
        mine = [(k, link) for k, link in enumerate(links) if link is not None and link.container == i]
        rest_b = {k: v for k, v in b.items() if k not in ("environment", "secrets")}
        rest_a = {k: v for k, v in a.items() if k not in ("environment", "secrets")}
        if rest_b != rest_a:
            keys = sorted(k for k in set(rest_b) | set(rest_a) if rest_b.get(k, ...) != rest_a.get(k, ...))
            problems.append(f"{label}: keys other than environment/secrets changed: {keys}: "
                            f"before {json.dumps({k: rest_b.get(k) for k in keys})} "
                            f"after {json.dumps({k: rest_a.get(k) for k in keys})}")
        # absent and [] mean the same to ECS
        env_b = b.get("environment") or []
        env_a = a.get("environment") or []
        secrets_b = b.get("secrets") or []
        secrets_a = a.get("secrets") or []
        if not all(isinstance(x, list) for x in (env_b, env_a, secrets_b, secrets_a)):
            problems.append(f"{label}: environment or secrets is not a list")
            continue
        gone = {link.position for _, link in mine}
        expected_env = [e for j, e in enumerate(env_b) if j not in gone]
        if env_a != expected_env:
            moved_names = [moved[k][1] for k, _ in mine]
            problems.append(f"{label}: environment after is not the environment before minus {moved_names}: "
                            f"expected names {_names(expected_env)}, got {_names(env_a)}"
                            + ("" if _names(expected_env) != _names(env_a) else " (same names, different values)"))
        # the moved entries follow the old secrets, or come first when read from a shared local
        # (`secrets = concat(local.common_secrets, [...])`)
        added = [x for x in secrets_a if x not in secrets_b]
        appended: list[Any] = []
        for p, (k, link) in enumerate(mine):
            name = moved[k][1]
            got = added[p] if p < len(added) and isinstance(added[p], dict) and added[p].get("name") == name else \
                next((s for s in added if isinstance(s, dict) and s.get("name") == name), None)
            value_from = got.get("valueFrom") if got else None
            m = _SECRET_ARN.match(value_from) if isinstance(value_from, str) else None
            link.key = name
            if m:
                link.secret = m.group(1)
                link.index = m.group(2)  # where it really points (the expected entry says where it should)
                # a repeated name with another value gets its own key: NAME_2, NAME_3, ...
                if re.fullmatch(re.escape(name) + r"_[2-9][0-9]*", m.group(3)):
                    link.key = m.group(3)
                if link.secret not in new_secrets:
                    problems.append(f"{label}: {name} points at aws_secretsmanager_secret.{link.secret}, "
                                    f"not a secret the rewrite generated ({sorted(new_secrets)})")
                if m.group(2) is not None and not instance:
                    problems.append(f"{label}: {name} points at an instance [{m.group(2)}] of a secret from a "
                                    "task definition without count/for_each")
            should = None if link.index is None else instance
            appended.append({"name": name, "valueFrom": expected_value_from(link.secret, should, link.key)})
        if [x for x in secrets_a if x not in appended] != secrets_b or \
                [x for x in secrets_a if x in appended] != appended or len(secrets_a) != len(secrets_b + appended):
            problems.append(f"{label}: secrets after is not secrets before + the moved entries:\n"
                            f"  expected {json.dumps(secrets_b + appended)}\n  got      {json.dumps(secrets_a)}")
    return problems, links
