"""`[tool.ecsfix]` in pyproject.toml or `.ecsfix.toml`, found by walking up from the scanned path.

    [tool.ecsfix]
    extra-secret-names = ["PIN", "LICENSE_KEY"]
    allowed-names = ["PUBLIC_API_KEY", "*_DEMO_TOKEN"]
    extra-value-patterns = ["^acme_[a-z0-9]{32}$"]
    exclude = ["legacy/**"]
    disable = ["EF002"]
    [tool.ecsfix.severity]
    EF001 = "critical"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .detectconfig import DetectConfig
from .model import SEVERITIES, EcsfixError


@dataclass
class Config:
    detect: DetectConfig = field(default_factory=DetectConfig)
    exclude: tuple[str, ...] = ()
    disable: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    path: str | None = None


def _load_toml(path: str) -> dict[str, object]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        with open(path, "rb") as fh:
            data: dict[str, object] = tomllib.load(fh)
            return data
    except OSError as exc:
        raise EcsfixError(f"cannot read config file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise EcsfixError(f"invalid TOML: {exc}") from None


def find_config(start: str) -> str | None:
    d = os.path.abspath(start)
    if not os.path.isdir(d):
        d = os.path.dirname(d)
    while True:
        for name in (".ecsfix.toml", "pyproject.toml"):
            candidate = os.path.join(d, name)
            if os.path.isfile(candidate):
                if name == "pyproject.toml":
                    try:
                        with open(candidate, encoding="utf-8", errors="replace") as fh:
                            if "[tool.ecsfix" not in fh.read():
                                continue
                    except OSError:
                        continue
                return candidate
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _strings(table: dict[str, object], key: str, path: str) -> tuple[str, ...]:
    value = table.get(key, table.get(key.replace("-", "_"), []))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EcsfixError(f"`{key}` must be a list of strings")
    return tuple(value)


def load_config(path: str | None = None, start: str = ".") -> Config:
    path = path or find_config(start)
    if path is None:
        return Config()
    data = _load_toml(path)
    if os.path.basename(path) == "pyproject.toml" or "tool" in data:
        tool = data.get("tool", {})
        table = tool.get("ecsfix", {}) if isinstance(tool, dict) else {}
    else:
        table = data
    if not isinstance(table, dict):
        raise EcsfixError("[tool.ecsfix] must be a table")
    severity_table = table.get("severity", {})
    if not isinstance(severity_table, dict):
        raise EcsfixError("[tool.ecsfix.severity] must be a table")
    severity: dict[str, str] = {}
    for rule, sev in severity_table.items():
        if sev not in SEVERITIES:
            raise EcsfixError(f"severity of {rule} must be one of {', '.join(SEVERITIES)}")
        severity[str(rule).upper()] = sev
    try:
        detect = DetectConfig(
            extra_secret_names=_strings(table, "extra-secret-names", path),
            allowed_names=_strings(table, "allowed-names", path),
            extra_value_patterns=_strings(table, "extra-value-patterns", path),
        )
    except ValueError as exc:  # an invalid regular expression
        raise EcsfixError(str(exc)) from None
    return Config(
        detect=detect,
        exclude=_strings(table, "exclude", path),
        disable=frozenset(r.upper() for r in _strings(table, "disable", path)),
        severity=severity,
        path=path,
    )
