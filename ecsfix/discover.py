"""Which files to look at: walk directories, group Terraform files by module, find JSON inputs."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from .model import InputError
from .sources import display_path

SKIP_DIRS = frozenset({".terraform", ".git", "node_modules", ".ecsfix_cache", ".terragrunt-cache", "__pycache__"})


@dataclass
class Discovery:
    modules: dict[str, list[str]] = field(default_factory=dict)  # directory -> .tf / .tf.json files
    focus: dict[str, set[str]] = field(default_factory=dict)  # directory -> files named explicitly
    json_files: list[tuple[str, bool]] = field(default_factory=list)  # (path, named explicitly)
    errors: list[InputError] = field(default_factory=list)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pat in patterns:
        pat = pat.rstrip("/")
        if fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat):
            return True
        if pat.endswith("/**") and (rel == pat[:-3] or rel.startswith(pat[:-3] + "/")):
            return True
        if fnmatch.fnmatchcase(rel, pat + "/*") or rel.startswith(pat + "/"):
            return True
    return False


def is_terraform(name: str) -> bool:
    return name.endswith(".tf") or name.endswith(".tf.json")


def discover(paths: list[str], excludes: tuple[str, ...] = (), root: str | None = None) -> Discovery:
    found = Discovery()
    for raw in paths:
        path = os.path.abspath(raw)
        if os.path.isdir(path):
            _walk(path, excludes, found, root)
        elif os.path.isfile(path):
            d = os.path.dirname(path)
            name = os.path.basename(path)
            if is_terraform(name):
                _add_module_dir(d, found)
                found.focus.setdefault(d, set()).add(path)
            elif name.endswith(".json"):
                found.json_files.append((path, True))
            else:
                found.json_files.append((path, True))  # content decides (a binary plan gets a clear error)
        elif os.path.lexists(path):
            found.errors.append(InputError(display_path(path, root), None, "not a regular file or directory"))
        else:
            found.errors.append(InputError(raw, None, "no such file or directory: check the path"))
    return found


def _add_module_dir(d: str, found: Discovery) -> None:
    if d in found.modules:
        return
    try:
        names = sorted(os.listdir(d))
    except OSError as exc:
        found.errors.append(InputError(display_path(d), None, f"cannot list directory ({exc.strerror})"))
        return
    found.modules[d] = [os.path.join(d, n) for n in names if is_terraform(n) and os.path.isfile(os.path.join(d, n))]


def _walk(top: str, excludes: tuple[str, ...], found: Discovery, root: str | None) -> None:
    def onerror(exc: OSError) -> None:
        found.errors.append(InputError(display_path(exc.filename or top, root), None,
                                       f"cannot read directory ({exc.strerror})"))

    # Directory symlinks are followed once each (a shared module linked into several places), never
    # into a loop: a link back to one of its own ancestors is reported and skipped.
    top_real = os.path.realpath(top)
    seen: set[str] = set()
    # Real paths are worked out from the parent's (realpath() per directory costs a stat per path
    # component); only a directory that is itself a link needs realpath().
    reals: dict[str, str] = {top: top_real}
    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        real = reals.pop(dirpath, None) or os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        rel_dir = os.path.relpath(dirpath, top).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [
            d for d in sorted(dirnames)
            if d not in SKIP_DIRS and not (excludes and _excluded(rel_dir + d, excludes))
            and _follow(os.path.join(dirpath, d), real, top_real, found, root, reals)
        ]
        tf_files: list[str] = []
        for name in sorted(filenames):
            if excludes and _excluded(rel_dir + name, excludes):
                continue
            full = os.path.join(dirpath, name)
            if is_terraform(name):
                tf_files.append(full)
            elif name.endswith(".json"):
                found.json_files.append((full, False))
        if tf_files and dirpath not in found.modules:
            found.modules[dirpath] = tf_files


def _follow(path: str, parent_real: str, top_real: str, found: Discovery, root: str | None,
            reals: dict[str, str]) -> bool:
    """Whether the walk enters directory `path` (only symlinks are ever refused)."""
    if not os.path.islink(path):
        reals[path] = os.path.join(parent_real, os.path.basename(path))
        return True
    target = os.path.realpath(path)
    if _within(parent_real, target):
        found.errors.append(InputError(
            display_path(path, root), None,
            f"symbolic link loop (it leads back to {display_path(target, root)}): not followed; "
            "remove the link or skip it with --exclude",
        ))
        return False
    return not _within(target, top_real)  # inside the tree: the walk reaches it by its real path


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)
