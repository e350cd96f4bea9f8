"""`DetectConfig`: the user's tuning of the detector, in a module of its own so that loading the
configuration (every run, warm ones included) does not import the detector itself (`secrets`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import translate as _glob_to_regex
from typing import ClassVar

from .nametokens import base, tokens

_REGEX_META = frozenset(".^$*+?{}[]\\|()")
NAME_CACHE_MAX = 65536
VALUE_CACHE_MAX = 16384
VALUE_CACHE_LEN = 512


@dataclass(frozen=True)
class Compiled:
    extra_tokens: tuple[tuple[str, ...], ...]
    extra_name_res: tuple[re.Pattern[str], ...]
    allowed_re: re.Pattern[str] | None
    value_res: tuple[re.Pattern[str], ...]
    name_cache: dict[str, tuple[str, bool] | None]
    # Values found *not* secret (never a secret-looking one), so repeated values cost one lookup.
    clean_values: dict[str, str | None]


def _as_tuple(items: object, what: str) -> tuple[str, ...]:
    if items is None:
        return ()
    if isinstance(items, str):
        items = (items,)
    if not isinstance(items, (tuple, list, set, frozenset)):
        raise ValueError(f"{what} must be a list of strings")
    out: tuple[object, ...] = tuple(items)
    strings: list[str] = []
    for item in out:
        if not isinstance(item, str):
            raise ValueError(f"{what} must be a list of strings, got {type(item).__name__}")
        strings.append(item)
    return tuple(strings)


def _compile_config(
    extra_names: tuple[str, ...], allowed: tuple[str, ...], values: tuple[str, ...]
) -> Compiled:
    extra_tokens: list[tuple[str, ...]] = []
    extra_res: list[re.Pattern[str]] = []
    for item in extra_names:
        item = item.strip()
        if not item:
            continue
        if any(ch in _REGEX_META for ch in item):
            try:
                extra_res.append(re.compile(item, re.IGNORECASE))
            except re.error as exc:
                raise ValueError(f"extra_secret_names: invalid regular expression {item!r}: {exc}") from None
        else:

            toks = tuple(base(t) for t in tokens(item))
            if toks:
                extra_tokens.append(toks)
    allowed_re: re.Pattern[str] | None = None
    globs = [a.strip() for a in allowed if a.strip()]
    if globs:
        allowed_re = re.compile("|".join(f"(?:{_glob_to_regex(g.upper())})" for g in globs))
    value_res: list[re.Pattern[str]] = []
    for pat in values:
        if not pat:
            continue
        try:
            value_res.append(re.compile(pat))
        except re.error as exc:
            raise ValueError(f"extra_value_patterns: invalid regular expression {pat!r}: {exc}") from None
    return Compiled(tuple(extra_tokens), tuple(extra_res), allowed_re, tuple(value_res), {}, {})


@dataclass(frozen=True)
class DetectConfig:
    """User tuning of the detector (``[tool.ecsfix]`` in pyproject.toml or ``.ecsfix.toml``).

    * ``extra_secret_names``: a name token (``"PIN"``, ``"OTP_SEED"``: matched on whole tokens,
      with the same pointer guards as the built-in tokens, so ``PIN_LENGTH`` stays clean) or,
      when it contains a regex metacharacter, a regular expression that must match the whole
      name (case-insensitive).
    * ``allowed_names``: exact names or fnmatch globs (case-insensitive) that are never secret
      by name.  The value check still runs for them.
    * ``extra_value_patterns``: regular expressions searched in values; a match makes the value
      secret even when it would otherwise look harmless.

    Invalid regular expressions raise ``ValueError`` when the config is built.
    """

    extra_secret_names: tuple[str, ...] = ()
    allowed_names: tuple[str, ...] = ()
    extra_value_patterns: tuple[str, ...] = ()
    # Set in __post_init__; a ClassVar annotation keeps it out of fields(), eq, hash and repr.
    _compiled: ClassVar[Compiled]

    def __post_init__(self) -> None:
        names = _as_tuple(self.extra_secret_names, "extra_secret_names")
        allowed = _as_tuple(self.allowed_names, "allowed_names")
        values = _as_tuple(self.extra_value_patterns, "extra_value_patterns")
        object.__setattr__(self, "extra_secret_names", names)
        object.__setattr__(self, "allowed_names", allowed)
        object.__setattr__(self, "extra_value_patterns", values)
        object.__setattr__(self, "_compiled", _compile_config(names, allowed, values))

    def __reduce__(self) -> tuple[type[DetectConfig], tuple[tuple[str, ...], ...]]:
        # Pickle (for --jobs workers) the settings only, not the compiled patterns and caches.
        return (DetectConfig, (self.extra_secret_names, self.allowed_names, self.extra_value_patterns))
