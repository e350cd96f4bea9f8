"""Word tokens of an environment variable's name, shared by the detector (`secrets`) and the
configuration that extends it (`detectconfig`): ``dbPassword`` -> DB, PASSWORD."""

from __future__ import annotations

from functools import partial

from .lazyre import LazyPattern

_lazy = partial(LazyPattern, globals())

SPLIT_RE = _lazy("SPLIT_RE", r"[^A-Za-z0-9]+")
_CAMEL_RE = _lazy("_CAMEL_RE", r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+")
DIGITS = "0123456789"


def tokens(name: str) -> list[str]:
    """Upper-cased word tokens of a name: ``dbPassword`` -> DB, PASSWORD; ``OAuth2Token`` -> OAUTH2, TOKEN."""
    if name.isupper() or name.islower():  # no camelCase anywhere: the common, fast case
        return [p for p in SPLIT_RE.split(name.upper()) if p]
    out: list[str] = []
    for piece in SPLIT_RE.split(name):
        if not piece:
            continue
        if piece.isupper() or piece.islower() or piece.isdigit():
            out.append(piece.upper())
            continue
        parts = [p.upper() for p in _CAMEL_RE.findall(piece)]
        i = 0
        while i < len(parts):  # "OAuth" splits into O + AUTH: glue it back
            if parts[i] == "O" and i + 1 < len(parts) and parts[i + 1].startswith("AUTH"):
                out.append("O" + parts[i + 1])
                i += 2
            else:
                out.append(parts[i])
                i += 1
    return out


def base(token: str) -> str:
    """A token without trailing digits (PASSWORD2 -> PASSWORD), digits-only tokens unchanged."""
    stripped = token.rstrip(DIGITS)
    return stripped or token
