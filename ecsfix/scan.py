"""The scan pipeline: paths -> discover -> parse -> model -> rules -> findings."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import sources
from .discover import discover
from .model import SEVERITIES, EcsfixError, Finding, InputError, Obj, ScanResult, SourceFile, TaskDefinition
from .module import Module
from .module_calls import Children, calls_worth_scanning, might_call_a_local_module
from .prefilter import HINTS, has_trigger, might_pass_an_environment
from .sources import display_path, read_source

if TYPE_CHECKING:
    from .cache import Outcome, ScanCache
    from .config import Config
    from .resolve import Resolver
    from .rules.base import RuleContext

# Strings whose presence makes a directory worth parsing: the cheap module-level pre-filter.
TRIGGERS = ("aws_ecs_task_definition", "container_definitions", *HINTS)

Check = Callable[[TaskDefinition, "RuleContext"], Iterable[Finding]]
ModuleCheck = Callable[["RuleContext"], Iterable[Finding]]
# `progress(stage, done, total, files, findings)`: called once per directory read and per module
# scanned (ecsfix/progress.py's Bar on a terminal); it must be cheap
Progress = Callable[[str, int, int, int, int], None]


def checks(deploy: bool = True) -> tuple[list[tuple[str, Check]], list[tuple[str, ModuleCheck]]]:
    """The rules, imported on first use (a scan answered from the cache never needs them).
    Per task definition (ctx.module/ctx.resolver give the rest of the module when there is one),
    then once per module (rules about resources other than task definitions, e.g. services).
    `deploy=False` leaves out EF101-EF105, which find nothing where no task pulls a secret
    (each checks `pulls_nothing`), so that such a scan does not import the IAM model (~15 ms)."""
    from .rules import ef001, ef002, ef003

    per_td: list[tuple[str, Check]] = [("EF001", ef001.check), ("EF002", ef002.check), ("EF003", ef003.check)]
    per_module: list[tuple[str, ModuleCheck]] = []
    if deploy:
        from .rules import ef101, ef102, ef103, ef104, ef105

        per_td += [("EF101", ef101.check), ("EF102", ef102.check), ("EF103", ef103.check), ("EF104", ef104.check)]
        per_module += [("EF103", ef103.check_policies), ("EF105", ef105.check)]
    return per_td, per_module


def run_rules(tds: list[TaskDefinition], ctx: RuleContext) -> Iterator[Finding]:
    from .rules.base import pulls_nothing
    from .suppress import is_suppressed

    per_td, per_module = checks(deploy=not all(pulls_nothing(td) for td in tds))
    ctx.task_definitions = tds
    for td in tds:
        for rule_id, check in per_td:
            if rule_id in ctx.disabled:
                continue
            for finding in check(td, ctx):
                if not is_suppressed(finding):
                    yield finding
    if ctx.module is None:
        return
    for rule_id, module_check in per_module:
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
        self.consulted: list[str] = []  # paths of files outside the module's own that the scan looked for


def load_module(directory: str, paths: list[str], root: str | None, errors: list[InputError]) -> Module | None:
    files: list[SourceFile] = []
    for p in paths:
        try:
            files.append(read_source(p, display_path(p, root)))
        except EcsfixError as exc:
            errors.append(InputError(display_path(p, root), exc.line, exc.message))
    if not worth_scanning(directory, [f.text for f in files], Children(root)):
        return None
    return Module(directory, files)


def worth_scanning(directory: str, texts: list[str], children: Children) -> bool:
    """The directory-level pre-filter, on text alone: a trigger, an environment-like module input,
    or a local module call into a directory that can hold a task definition."""
    return (any(has_trigger(text) for text in texts) or any(might_pass_an_environment(t) for t in texts)
            or calls_worth_scanning(directory, texts, children))


def scan_module(module: Module, root: str | None, focus: set[str] | None = None) -> ModuleScan:
    from .ecs_modules import task_definitions_from_module_calls
    from .extract import task_definitions_from_tf_json, task_definitions_in_module
    from .module_calls import might_call_a_local_module, task_definitions_through_calls
    from .resolve import Resolver

    resolver = Resolver(module, root)
    tds = task_definitions_in_module(module, resolver)
    tds.extend(task_definitions_from_module_calls(module, resolver))
    if any(might_call_a_local_module(f.text) for f in module.hcl_files()):
        tds.extend(task_definitions_through_calls(module, resolver))
    for src in module.files:
        if src.path.endswith(".tf.json") and "aws_ecs_task_definition" in src.text:
            try:
                doc = _json_doc(src, resolver.errors)
            except EcsfixError as exc:
                resolver.errors.append(InputError(src.display, exc.line, exc.message))
                continue
            tds.extend(task_definitions_from_tf_json(src, doc, resolver))
    if focus:
        tds = [td for td in tds if td.span.file.path in focus]
    ms = ModuleScan(module, resolver, tds)
    ms.consulted = resolver.consulted
    return ms


def _json_doc(src: SourceFile, errors: list[InputError]) -> Obj:
    """The top-level object of a JSON file. A file whose only fault is a line break inside a string
    is reported in `errors` and read anyway (whatever it holds is in the repository)."""
    from .jsonscan import LENIENT_NOTE, scan_json_leniently

    doc, broken = scan_json_leniently(src, templates=False)
    if broken is not None:
        errors.append(InputError(src.display, broken.line, f"{broken.message}; {LENIENT_NOTE}"))
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
                   result: ScanResult, terraform_reads: Callable[[], dict[str, str]] = dict) -> None:
    """`terraform_reads`: the JSON files the run's Terraform files read (`rewrite.taskdef_json.
    terraform_reads`; a task-definition file one of them reads is theirs to fix), asked once at most."""
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
    from .resolve import Resolver

    known = len(result.errors)
    try:
        doc = _json_doc(src, result.errors)
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
    findings = list(run_rules(tds, ctx))
    if kind == "taskdef" and any(f.rule == "EF001" for f in findings):
        findings = _settle_taskdef(src, doc, tds[0], findings, terraform_reads, broken=len(result.errors) > known)
    result.findings.extend(findings)


def _settle_taskdef(src: SourceFile, doc: Obj, td: TaskDefinition, findings: list[Finding],
                    terraform_reads: Callable[[], dict[str, str]], broken: bool) -> list[Finding]:
    """EF001's `fixable` for raw task-definition JSON: what `ecsfix rewrite` would do with the file
    (nothing, when the file was read leniently: it is invalid JSON, reported as an error)."""
    from .rewrite.taskdef_json import decisions, read_by
    from .rules.ef001 import settle

    if broken:
        why = "the JSON is invalid (reported as an error): fix it first"
        return settle(findings, {(f.resource, f.container, f.name): why for f in findings if f.rule == "EF001"})
    return settle(findings, decisions(src, doc, td, findings, read_by(src.path, terraform_reads())))


def _read_text(path: str) -> str | None:
    """The text of a file that reads cleanly, at a third of `read_source`'s cost (every Terraform
    file of the tree is read to find the candidates); None sends the file through `read_source`,
    which words every error (too large, binary, not UTF-8, unreadable) exactly."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size > sources.MAX_FILE_BYTES:
            return None
        chunks = []
        got = 0
        while got <= size:  # a short read is allowed (network file systems): read to the end
            chunk = os.read(fd, size + 1 - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > size:  # grew while read: let read_source deal with it
            return None
        data = b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)
    if data.find(b"\x00", 0, 8192) != -1:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Candidate:
    """A module directory whose text contains a trigger: worth scanning (or a cache lookup)."""

    def __init__(self, directory: str, texts: list[tuple[str, str]], root: str | None, focus: set[str] | None,
                 read_errors: list[InputError], pending: bool = False):
        self.directory = directory
        self.texts = texts
        self.root = root
        self.focus = focus
        self.read_errors = read_errors
        # only its local module calls could make it worth scanning: decided once every directory
        # of the tree has been read (its children's text is then known without reading it again)
        self.pending = pending
        self._files: list[SourceFile] | None = None
        self._digests: list[str] | None = None

    @property
    def files(self) -> list[SourceFile]:
        """Built on first use: most pending directories are never scanned (display paths cost)."""
        if self._files is None:
            self._files = [SourceFile(path=p, display=display_path(p, self.root), text=t) for p, t in self.texts]
        return self._files

    @property
    def digests(self) -> list[str]:
        if self._digests is None:
            from .cache import digest

            self._digests = [digest(text.encode("utf-8")) for _, text in self.texts]
        return self._digests

    def files_key(self) -> list[list[str]]:
        return [[f.path, f.display, d] for f, d in zip(self.files, self.digests, strict=True)]


def _candidate(directory: str, paths: list[str], root: str | None, focus: set[str] | None,
               errors: list[InputError], children: Children) -> _Candidate | None:
    """`load_module` without building anything for the (many) modules with no trigger."""

    texts: list[tuple[str, str]] = []
    read_errors: list[InputError] = []
    for p in paths:
        text = _read_text(p)
        if text is not None:
            texts.append((p, text))
            continue
        try:
            texts.append((p, read_source(p, p).text))  # the display path is worked out for candidates only
        except EcsfixError as exc:
            read_errors.append(InputError(display_path(p, root), exc.line, exc.message))
    direct = any(has_trigger(text) for _, text in texts) or any(
        might_pass_an_environment(t) for _, t in texts)
    calling = [t for _, t in texts if might_call_a_local_module(t)]
    children.offer(directory, [text for _, text in texts] if direct else [], calling)
    if not direct and not calling:
        errors.extend(read_errors)
        return None
    return _Candidate(directory, texts, root, focus, read_errors, pending=not direct)


# Set in each worker process (and in the parent for --jobs 1): the rule settings of this scan.
_WORKER_CTX: RuleContext | None = None


def _init_worker(ctx: RuleContext) -> None:
    global _WORKER_CTX
    _WORKER_CTX = ctx


def _scan_candidate(directory: str, files: list[SourceFile], root: str | None,
                    focus: set[str] | None) -> tuple[list[Finding], list[TaskDefinition], list[InputError], ModuleScan]:
    assert _WORKER_CTX is not None
    module = Module(directory, files)
    try:
        ms = scan_module(module, root, focus)
        mctx = replace(_WORKER_CTX, module=module, resolver=ms.resolver)
        findings = list(run_rules(ms.task_definitions, mctx))
        if any(f.rule == "EF001" for f in findings):
            findings = _settle_fixable(module, ms, findings)
    except RecursionError:  # the parsers cap nesting; this is the net under everything else
        from .resolve import Resolver

        where = next((f.display for f in files if has_trigger(f.text)), files[0].display)
        error = InputError(where, None, "nested too deeply to read (thousands of levels): not scanned")
        return [], [], [error], ModuleScan(module, Resolver(module, root), [])
    errors = module.errors + ms.resolver.errors
    return findings, ms.task_definitions, errors, ms


def _settle_fixable(module: Module, ms: ModuleScan, findings: list[Finding]) -> list[Finding]:
    """EF001's `fixable` is what `ecsfix rewrite` would do: ask its planners (no template rendered)."""
    from .rewrite.planning import decisions
    from .rules.ef001 import settle

    return settle(findings, decisions(module, ms.resolver, ms.task_definitions, findings))


def _deps(ms: ModuleScan) -> dict[str, str]:
    """Files the module's scan read or looked for beyond its own, with their state."""
    from .cache import digest, file_state

    loaded = {f.path: f for f in ms.resolver.external_files}
    deps: dict[str, str] = {}
    for path in [*ms.consulted, *loaded]:
        if path not in deps:
            src = loaded.get(path)
            deps[path] = digest(src.text.encode("utf-8")) if src is not None else file_state(path)
    return deps


def _scan_recorded(job: tuple[str, list[SourceFile], str | None, set[str] | None]) -> Outcome:
    """A worker's task: scan one module and return its redacted, picklable outcome."""
    from .cache import record

    findings, tds, errors, ms = _scan_candidate(*job)
    outcome = record(findings, tds, errors)
    outcome.deps = _deps(ms)
    return outcome


def default_jobs() -> int:
    return os.cpu_count() or 1


def _pool(jobs: int, ctx: RuleContext) -> Any:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    fork = "fork" in multiprocessing.get_all_start_methods() and os.name == "posix"
    if fork:  # load the parser and the rules once, here: forked workers inherit them (~0.25 s each)
        from . import ecs_modules, extract, hclparse  # noqa: F401

        hclparse._ts_parser()
        checks()
    mp = multiprocessing.get_context("fork" if fork else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp, initializer=_init_worker, initargs=(ctx,))


def settings_key(config: Config, root: str | None) -> str:
    """Everything besides file contents that changes what a module's scan reports."""
    import json

    d = config.detect
    return json.dumps([list(d.extra_secret_names), list(d.allowed_names), list(d.extra_value_patterns),
                       sorted(config.disable), sorted(config.severity.items()), root])


def scan(
    paths: Sequence[str] = (".",),
    *,
    config: Config | None = None,
    excludes: Sequence[str] = (),
    root: str | None = None,
    jobs: int = 1,
    cache: ScanCache | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan files and directories; the library entry point behind `ecsfix scan`.

    `jobs` > 1 scans candidate modules in that many worker processes; `cache` answers unchanged
    modules from a `ScanCache`. Either way the findings are restored from redacted records, whose
    spans carry positions but no text; with neither, every object is the full parse result.
    `progress` hears how far the run is (see `Progress`)."""
    from .config import Config

    config = config or Config()
    ctx = _rule_context(config)
    found = discover(list(paths), tuple(excludes) + config.exclude, root)
    result = ScanResult(errors=list(found.errors))
    # Per module, in discovery order: the candidate and its outcome -- from the cache, a worker
    # (a Future: modules are handed out as soon as they are read, so workers load the parser and
    # parse while this process still walks the tree) or computed here.
    slots: list[tuple[_Candidate, Any]] = []
    todo: list[int] = []
    futures: dict[int, Any] = {}
    pool = None
    use_pool = jobs > 1 and len(found.modules) >= 2
    children = Children(root)  # what each directory's text says, for its callers' pre-filter
    deferred: list[_Candidate] = []
    count = [0, 0]  # modules with an outcome, findings in them: for `progress` only

    def done(outcome: Any, tell: bool = True) -> None:
        count[0] += 1
        count[1] += len(outcome[0] if isinstance(outcome, tuple) else outcome.findings)
        if progress is not None and tell:  # a cache hit while reading is told by the reading loop
            progress("scanning modules", count[0], len(slots), result.files, count[1])

    def take(cand: _Candidate) -> None:
        nonlocal pool
        hit = cache.get(cache.slot(cand.directory, cand.focus), cand.files_key()) if cache is not None else None
        slots.append((cand, hit))
        if hit is not None:
            done(hit, tell=False)
        elif use_pool:
            if pool is None:
                pool = _pool(jobs, ctx)
            futures[len(slots) - 1] = pool.submit(_scan_recorded, (cand.directory, cand.files, root, cand.focus))
        elif hit is None:
            todo.append(len(slots) - 1)

    try:
        for n, (directory, files) in enumerate(found.modules.items(), 1):
            result.files += len(files)
            cand = _candidate(directory, files, root, found.focus.get(directory), result.errors, children)
            if cand is not None:
                (deferred.append if cand.pending else take)(cand)
            if progress is not None:
                progress("reading directories", n, len(found.modules), result.files, count[1])
        for cand in deferred:
            if calls_worth_scanning(cand.directory, [text for _, text in cand.texts], children):
                take(cand)
            else:
                result.errors.extend(cand.read_errors)
        for i, future in futures.items():
            cand = slots[i][0]
            slots[i] = (cand, future.result())
            done(slots[i][1])
            if cache is not None:
                cache.put(cache.slot(cand.directory, cand.focus), cand.files_key(), slots[i][1])
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if todo:
        _compute(slots, todo, root, ctx, cache, done)
    for cand, outcome in slots:
        result.errors.extend(cand.read_errors)
        if isinstance(outcome, tuple):
            findings, tds, errors = outcome
        else:
            from .cache import restore

            findings, tds, errors = restore(outcome)
        result.task_definitions.extend(tds)
        result.findings.extend(findings)
        result.errors.extend(e for e in errors if e not in result.errors)  # a child's error, seen by its caller too
    result.findings = drop_duplicates(result.findings)
    @functools.cache
    def reads() -> dict[str, str]:  # computed for the first task-definition file with an EF001, then kept
        from .rewrite.taskdef_json import terraform_reads

        return terraform_reads(f for cand, _ in slots for f in cand.files)

    for n, (path, explicit) in enumerate(found.json_files, 1):
        scan_json_file(path, explicit, root, ctx, result, reads)
        if progress is not None:
            progress("reading JSON files", n, len(found.json_files), result.files, len(result.findings))
    result.findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule))
    result.errors.sort(key=lambda e: (e.file, e.line or 0))
    return result


def entry_key(f: Finding) -> tuple[str, str, int, int, str | None]:
    """What makes two findings the same report: the rule, the entry's place and its name."""
    return (f.rule, f.span.file.path, f.span.start, f.span.end, f.name)


def drop_duplicates(findings: list[Finding]) -> list[Finding]:
    """Less the findings a caller's scan made through a local module call at an entry that a scan
    of the child itself (in the same run) reports too: the child's covers every caller, and fixing
    it there fixes them all (module_calls). When a caller passes what makes the entry worse than the
    child alone can tell (`DATABASE_URL = var.url` is "may embed credentials" in the child, and the
    caller passes a URL with a password), the child's finding takes the caller's severity and says
    which call it is."""
    key = entry_key
    own = {key(f): f for f in findings if not f.through_call}
    for f in findings:
        child = own.get(key(f)) if f.through_call else None
        if child is not None and SEVERITIES.index(f.severity) < SEVERITIES.index(child.severity):
            child.severity = f.severity
            child.message = f"{child.message}; {f.resource} passes credentials here: {f.message}"
    return [f for f in findings if not (f.through_call and key(f) in own)]


def _rule_context(config: Config) -> RuleContext:
    from .rules.base import RuleContext

    return RuleContext(detect=config.detect, severity=config.severity, disabled=config.disable)


def _compute(slots: list[tuple[_Candidate, Any]], todo: list[int], root: str | None, ctx: RuleContext,
             cache: ScanCache | None, done: Callable[[Any], None] | None = None) -> None:
    _init_worker(ctx)
    for i in todo:
        cand = slots[i][0]
        job = (cand.directory, cand.files, root, cand.focus)
        if cache is None:
            findings, tds, errors, _ = _scan_candidate(*job)
            slots[i] = (cand, (findings, tds, errors))
        else:  # what is stored is what is shown, so a warm run prints exactly what this one does
            slots[i] = (cand, _scan_recorded(job))
            cache.put(cache.slot(cand.directory, cand.focus), cand.files_key(), slots[i][1])
        if done is not None:
            done(slots[i][1])
