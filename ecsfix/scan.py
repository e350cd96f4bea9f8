"""The scan pipeline: paths -> discover -> parse -> model -> rules -> findings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from .config import Config
from .discover import discover
from .model import EcsfixError, Finding, InputError, Obj, ScanResult, SourceFile, TaskDefinition
from .module import Module
from .resolve import Resolver
from .rules import ef001, ef002, ef003, ef101, ef102, ef103, ef104, ef105
from .rules.base import RuleContext
from .sources import display_path, read_source
from .suppress import is_suppressed

# Strings whose presence makes a directory worth parsing: the cheap module-level pre-filter.
TRIGGERS = ("aws_ecs_task_definition", "ecs-container-definition", "terraform-aws-modules/ecs",
            "terraform-aws-modules/terraform-aws-ecs", "container_definitions")

Check = Callable[[TaskDefinition, RuleContext], Iterable[Finding]]
ModuleCheck = Callable[[RuleContext], Iterable[Finding]]
# Per task definition; ctx.module/ctx.resolver give the rest of the module when there is one.
CHECKS: list[tuple[str, Check]] = [
    ("EF001", ef001.check), ("EF002", ef002.check), ("EF003", ef003.check),
    ("EF101", ef101.check), ("EF102", ef102.check), ("EF103", ef103.check), ("EF104", ef104.check),
]
# Once per module (rules about resources other than task definitions, e.g. services).
MODULE_CHECKS: list[tuple[str, ModuleCheck]] = [("EF103", ef103.check_policies), ("EF105", ef105.check)]


def run_rules(tds: list[TaskDefinition], ctx: RuleContext) -> Iterator[Finding]:
    ctx.task_definitions = tds
    for td in tds:
        for rule_id, check in CHECKS:
            if rule_id in ctx.disabled:
                continue
            for finding in check(td, ctx):
                if not is_suppressed(finding):
                    yield finding
    if ctx.module is None:
        return
    for rule_id, module_check in MODULE_CHECKS:
        if rule_id in ctx.disabled:
            continue
        for finding in module_check(ctx):
            if not is_suppressed(finding):
                yield finding


class ModuleScan:
    """Everything the scan learned about one module directory (the rewrite reuses it)."""

    def __init__(self, module: Module, resolver: Resolver, task_definitions: list[TaskDefinition]):
        self.module = module
        self.resolver = resolver
        self.task_definitions = task_definitions


def load_module(directory: str, paths: list[str], root: str | None, errors: list[InputError]) -> Module | None:
    files: list[SourceFile] = []
    for p in paths:
        try:
            files.append(read_source(p, display_path(p, root)))
        except EcsfixError as exc:
            errors.append(InputError(display_path(p, root), exc.line, exc.message))
    if not any(t in f.text for f in files for t in TRIGGERS):
        return None
    return Module(directory, files)


def scan_module(module: Module, root: str | None, focus: set[str] | None = None) -> ModuleScan:
    from .ecs_modules import task_definitions_from_module_calls
    from .extract import task_definitions_from_tf_json, task_definitions_in_module

    resolver = Resolver(module, root)
    tds = task_definitions_in_module(module, resolver)
    tds.extend(task_definitions_from_module_calls(module, resolver))
    for src in module.files:
        if src.path.endswith(".tf.json") and "aws_ecs_task_definition" in src.text:
            try:
                doc = _json_doc(src)
            except EcsfixError as exc:
                resolver.errors.append(InputError(src.display, exc.line, exc.message))
                continue
            tds.extend(task_definitions_from_tf_json(src, doc, resolver))
    if focus:
        tds = [td for td in tds if td.span.file.path in focus]
    return ModuleScan(module, resolver, tds)


def _json_doc(src: SourceFile) -> Obj:
    from .jsonscan import scan_json

    doc = scan_json(src, templates=False)
    if not isinstance(doc, Obj):
        raise EcsfixError("expected a JSON object at the top level", 1)
    return doc


def classify_json(text: str) -> str | None:
    head = text[:4096]
    if '"format_version"' in head or '"resource_changes"' in text or '"planned_values"' in text:
        if '"terraform_version"' in text or '"planned_values"' in text or '"resource_changes"' in text:
            return "plan"
    if '"containerDefinitions"' in text:
        return "taskdef"
    return None


def scan_json_file(path: str, explicit: bool, root: str | None, ctx: RuleContext,
                   result: ScanResult) -> None:
    shown = display_path(path, root)
    try:
        src = read_source(path, shown)
    except EcsfixError as exc:
        if explicit or "binary" not in exc.message:
            result.errors.append(InputError(shown, exc.line, exc.message))
        return
    kind = classify_json(src.text)
    if kind is None:
        if explicit:
            result.errors.append(InputError(
                shown, None,
                "not a Terraform plan (terraform show -json) nor an ECS task definition ({\"containerDefinitions\": [...]})",
            ))
        return
    result.files += 1
    try:
        doc = _json_doc(src)
        if kind == "plan":
            from .plan import task_definitions_from_plan

            tds = task_definitions_from_plan(src, doc)
        else:
            from .extract import task_definition_from_json

            resolver = Resolver(Module(os.path.dirname(path), []), root)
            tds = [task_definition_from_json(src, doc, resolver)]
    except EcsfixError as exc:
        result.errors.append(InputError(shown, exc.line, exc.message))
        return
    result.task_definitions.extend(tds)
    result.findings.extend(run_rules(tds, ctx))


def scan(
    paths: Sequence[str] = (".",),
    *,
    config: Config | None = None,
    excludes: Sequence[str] = (),
    root: str | None = None,
) -> ScanResult:
    """Scan files and directories; the library entry point behind `ecsfix scan`."""
    config = config or Config()
    ctx = RuleContext(detect=config.detect, severity=config.severity, disabled=config.disable)
    found = discover(list(paths), tuple(excludes) + config.exclude, root)
    result = ScanResult(errors=list(found.errors))
    for directory, files in found.modules.items():
        result.files += len(files)
        module = load_module(directory, files, root, result.errors)
        if module is None:
            continue
        ms = scan_module(module, root, found.focus.get(directory))
        result.task_definitions.extend(ms.task_definitions)
        mctx = replace(ctx, module=module, resolver=ms.resolver)
        result.findings.extend(run_rules(ms.task_definitions, mctx))
        result.errors.extend(module.errors)
        result.errors.extend(ms.resolver.errors)
    for path, explicit in found.json_files:
        scan_json_file(path, explicit, root, ctx, result)
    result.findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule))
    result.errors.sort(key=lambda e: (e.file, e.line or 0))
    return result
