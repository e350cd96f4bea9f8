"""Safe writes (`ecsfix.rewrite.safewrite.write_change`) and the other hardening of file access:
atomic replace, mode kept, symlinks written through, concurrent edits refused, read-only files and
directories refused with one clear line, the size cap, symlink loops in directory walks.

Each fault is injected for real where the operating system allows it (chmod, a second writer) and
by monkeypatching the one call that fails otherwise (tests often run as root, who may write anything).
The directory symlink loop that leads back to an ancestor is covered in tests/test_bad_input.py
("directory symlink loop"); the loops here are the other shapes.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest

from ecsfix.model import EcsfixError
from ecsfix.rewrite import safewrite
from ecsfix.rewrite.engine import FileChange, rewrite
from ecsfix.rewrite.safewrite import write_change
from ecsfix.sources import MAX_FILE_BYTES
from tests.labelled import run_ecsfix, run_main

LEAKY = """\
resource "aws_ecs_task_definition" "app" {
  family             = "app"
  execution_role_arn = aws_iam_role.exec.arn
  container_definitions = jsonencode([
    {
      name  = "app"
      image = "acme/app:1.0.0"
      environment = [
        { name = "DB_PASSWORD", value = "hunter2" },
        { name = "LOG_LEVEL", value = "info" },
      ]
    }
  ])
}

resource "aws_iam_role" "exec" {
  name = "exec"
}
"""
NEW = LEAKY.replace('"hunter2"', "var.db_password")


def _file(tmp_path: Path, text: str = LEAKY, name: str = "main.tf", mode: int = 0o644) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    path.chmod(mode)
    return path


def _change(path: Path, original: str = LEAKY, new: str = NEW) -> FileChange:
    return FileChange(str(path), path.name, original, new)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".ecsfix-"))


def _one_line_error(exc: pytest.ExceptionInfo[EcsfixError], display: str, pattern: str) -> None:
    msg = exc.value.message
    assert "\n" not in msg
    assert msg.startswith(f"{display}: error: "), msg
    assert re.search(pattern, msg), msg
    assert "nothing written" in msg
    assert "hunter2" not in msg


# --------------------------------------------------------------------------- what a write keeps


def test_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = _file(tmp_path)
    inode = path.stat().st_ino
    write_change(_change(path))
    assert path.read_bytes() == NEW.encode()
    assert _leftovers(tmp_path) == []
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o755])
def test_file_mode_is_kept(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, mode=mode)
    write_change(_change(path))
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_symlinked_file_is_written_through_to_its_target(tmp_path: Path) -> None:
    real_dir = tmp_path / "shared"
    real_dir.mkdir()
    target = _file(real_dir, mode=0o640)
    module = tmp_path / "svc"
    module.mkdir()
    (module / "hop.tf").symlink_to("../shared/main.tf")
    link = module / "main.tf"
    link.symlink_to("hop.tf")  # a chain of two links
    write_change(_change(link))
    assert link.is_symlink() and (module / "hop.tf").is_symlink()
    assert os.readlink(link) == "hop.tf"
    assert target.read_bytes() == NEW.encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(module) == [] and _leftovers(real_dir) == []


def test_rewrite_write_through_a_symlink_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    target = _file(tmp_path / "shared")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/main.tf").symlink_to("../shared/main.tf")
    run = run_main("rewrite", "--write", "svc", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert (tmp_path / "svc/main.tf").is_symlink()
    assert b"hunter2" not in target.read_bytes()
    assert b"aws_secretsmanager_secret" in target.read_bytes()


def test_byte_order_mark_and_crlf_round_trip(tmp_path: Path) -> None:
    """ecsfix reads files undecoded apart from UTF-8 (BOM and CRLF stay in the text); the engine's
    output with them is written byte for byte, and a BOM the original had is never dropped."""
    raw = b"\xef\xbb\xbf" + LEAKY.replace("\n", "\r\n").encode()
    path = tmp_path / "main.tf"
    path.write_bytes(raw)
    result = rewrite([str(tmp_path)])
    assert not result.errors, result.errors
    (change,) = result.changes
    assert change.original.encode("utf-8") == raw
    write_change(change)
    written = path.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf") and not written.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    assert written == change.new.encode("utf-8")
    assert b"\n" not in written.replace(b"\r\n", b"")  # no bare LF introduced


def test_bom_is_kept_when_the_new_text_lost_it(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_bytes(b"\xef\xbb\xbf" + LEAKY.encode())
    write_change(_change(path, original="\ufeff" + LEAKY, new=NEW))
    assert path.read_bytes() == b"\xef\xbb\xbf" + NEW.encode()


def test_non_ascii_utf8_is_byte_exact(tmp_path: Path) -> None:
    original = "# Zugangsdaten für die Datenbank – ✓\n" + LEAKY
    path = _file(tmp_path, original)
    write_change(_change(path, original=original, new="# Zugangsdaten für die Datenbank – ✓\n" + NEW))
    assert path.read_bytes() == ("# Zugangsdaten für die Datenbank – ✓\n" + NEW).encode("utf-8")


def test_data_is_fsynced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path)
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(safewrite.os, "fsync", fsync)
    monkeypatch.setattr(safewrite.os, "replace", replace)
    write_change(_change(path))
    assert events[:2] == ["fsync", "replace"]  # file data first; then (POSIX) the directory


# --------------------------------------------------------------------------- injected faults


def test_failed_rename_leaves_original_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path)

    def boom(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(safewrite.os, "replace", boom)
    with pytest.raises(EcsfixError) as exc:
        write_change(_change(path))
    _one_line_error(exc, "main.tf", r"cannot write the file \(invalid cross-device link\)")
    assert path.read_bytes() == LEAKY.encode()
    assert _leftovers(tmp_path) == []


def test_disk_full_while_writing_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safewrite.os, "fsync", full)
    with pytest.raises(EcsfixError) as exc:
        write_change(_change(path))
    _one_line_error(exc, "main.tf", r"no space left on device")
    assert path.read_bytes() == LEAKY.encode()
    assert _leftovers(tmp_path) == []


def test_interrupt_while_writing_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path)

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(safewrite.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_change(_change(path))
    assert path.read_bytes() == LEAKY.encode()
    assert _leftovers(tmp_path) == []


def test_file_edited_after_reading_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path)
    change = _change(path)
    path.write_text(LEAKY + "# edited meanwhile\n")
    with pytest.raises(EcsfixError) as exc:
        write_change(change)
    _one_line_error(exc, "main.tf", r"changed since it was read: run ecsfix rewrite again")
    assert path.read_text().endswith("# edited meanwhile\n")


def test_file_saved_by_an_editor_during_the_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer replaces the file after the content check, while the temp file is written."""
    path = _file(tmp_path)
    real_fsync = os.fsync
    saved = LEAKY.replace("info", "debug")

    def editor_saves(fd: int) -> None:
        real_fsync(fd)
        if not _leftovers(tmp_path):
            return
        other = tmp_path / "editor.swp"
        other.write_text(saved)
        os.rename(other, path)  # what editors do: a new inode under the same name

    monkeypatch.setattr(safewrite.os, "fsync", editor_saves)
    with pytest.raises(EcsfixError) as exc:
        write_change(_change(path))
    _one_line_error(exc, "main.tf", r"changed since it was read")
    assert path.read_text() == saved
    assert _leftovers(tmp_path) == []


def test_file_removed_after_reading_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path)
    change = _change(path)
    path.unlink()
    with pytest.raises(EcsfixError) as exc:
        write_change(change)
    _one_line_error(exc, "main.tf", r"removed since ecsfix read it")
    assert not path.exists()


def test_read_only_file_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, mode=0o444)
    if os.access(path, os.W_OK):
        pytest.skip("running as root: a mode-0444 file is writable; see the os.access variant below")
    with pytest.raises(EcsfixError) as exc:
        write_change(_change(path))
    _one_line_error(exc, "main.tf", r"read-only")
    assert path.read_bytes() == LEAKY.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_read_only_file_is_refused_even_though_the_directory_is_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename would happily replace a 0444 file in a writable directory; ecsfix must not."""
    path = _file(tmp_path, mode=0o444)
    real_access = os.access

    def as_owner_without_write(p: str | os.PathLike[str], mode: int, **kw: object) -> bool:
        if mode == os.W_OK and os.path.realpath(p) == str(path.resolve()):
            return bool(path.stat().st_mode & stat.S_IWUSR)
        return real_access(p, mode)

    monkeypatch.setattr(safewrite.os, "access", as_owner_without_write)
    with pytest.raises(EcsfixError) as exc:
        write_change(_change(path))
    _one_line_error(exc, "main.tf", r"read-only: make it writable")
    assert path.read_bytes() == LEAKY.encode()
    assert _leftovers(tmp_path) == []


def test_read_only_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    path = _file(directory)
    directory.chmod(0o555)
    try:
        probe = os.access(directory, os.W_OK)
        if probe:
            pytest.skip("running as root: a mode-0555 directory is writable; see the injected variant below")
        with pytest.raises(EcsfixError) as exc:
            write_change(_change(path))
    finally:
        directory.chmod(0o755)
    _one_line_error(exc, "main.tf", r"cannot create a temporary file next to it \(permission denied\)")
    assert path.read_bytes() == LEAKY.encode()


def test_temp_file_creation_failure_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _file(tmp_path)

    def denied(**kw: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied", kw.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(EcsfixError) as exc:
        write_change(_change(path))
    _one_line_error(exc, "main.tf", r"cannot create a temporary file next to it \(permission denied\).*writable directory")
    assert path.read_bytes() == LEAKY.encode()


def test_cli_write_error_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through `ecsfix rewrite --write`: the write fault is one stderr line, exit code 2, no traceback."""
    (tmp_path / "svc").mkdir()
    path = _file(tmp_path / "svc")

    def denied(**kw: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    run = run_main("rewrite", "--write", "svc", cwd=tmp_path)
    assert run.code == 2
    assert "Traceback" not in run.stderr
    errors = [ln for ln in run.stderr.splitlines() if ": error: " in ln]
    assert errors == [
        "svc/main.tf: error: cannot create a temporary file next to it (permission denied): "
        "ecsfix writes atomically and needs a writable directory; nothing written"
    ]
    assert path.read_bytes() == LEAKY.encode()


# --------------------------------------------------------------------------- new files (--output-file)


def _created(path: Path, new: str = NEW) -> FileChange:
    return FileChange(str(path), path.name, "", new, created=True)


def test_new_file_is_created_with_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_change(_created(tmp_path / "secrets.tf"))
    finally:
        os.umask(old)
    assert (tmp_path / "secrets.tf").read_bytes() == NEW.encode()
    assert stat.S_IMODE((tmp_path / "secrets.tf").stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


def test_new_file_that_appeared_meanwhile_is_not_clobbered(tmp_path: Path) -> None:
    (tmp_path / "secrets.tf").write_text("# written by someone else\n")
    with pytest.raises(EcsfixError) as exc:
        write_change(_created(tmp_path / "secrets.tf"))
    _one_line_error(exc, "secrets.tf", r"appeared since ecsfix read the module")
    assert (tmp_path / "secrets.tf").read_text() == "# written by someone else\n"
    assert _leftovers(tmp_path) == []


def test_new_file_write_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safewrite.os, "fsync", full)
    with pytest.raises(EcsfixError) as exc:
        write_change(_created(tmp_path / "secrets.tf"))
    _one_line_error(exc, "secrets.tf", r"cannot create the file \(no space left on device\)")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- reading side


def test_file_over_the_size_cap_is_skipped_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    _file(tmp_path / "good")
    (tmp_path / "big").mkdir()
    line = b"# " + b"x" * 1021 + b"\n"
    (tmp_path / "big/main.tf").write_bytes(line * (MAX_FILE_BYTES // len(line) + 1))
    assert (tmp_path / "big/main.tf").stat().st_size > MAX_FILE_BYTES
    run = run_main("scan", "good", "big", cwd=tmp_path)
    assert run.code == 2
    errors = [ln for ln in (run.stdout + run.stderr).splitlines() if ": error: " in ln]
    assert errors == ["big/main.tf: error: file is larger than 5 MiB: skipped "
                      "(exclude it with --exclude if it is not Terraform)"]
    assert "good/main.tf:" in run.stdout and "EF001" in run.stdout  # the rest still scanned


def test_file_at_the_size_cap_is_read(tmp_path: Path) -> None:
    text = LEAKY.encode()
    pad = MAX_FILE_BYTES - len(text)
    (tmp_path / "main.tf").write_bytes(text + (b"#" * (pad - 1) + b"\n"))
    assert (tmp_path / "main.tf").stat().st_size == MAX_FILE_BYTES
    run = run_main("scan", ".", cwd=tmp_path)
    assert run.code == 1, run.stdout + run.stderr
    assert "EF001" in run.stdout


def test_file_symlink_loop_terminates_with_one_error(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    _file(tmp_path / "good")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/a.tf").symlink_to("b.tf")
    (tmp_path / "bad/b.tf").symlink_to("a.tf")
    run = run_ecsfix("scan", ".", cwd=tmp_path)  # a fresh interpreter with a timeout: a hang fails
    assert "Traceback" not in run.stderr
    assert run.code == 2
    errors = [ln for ln in run.stdout.splitlines() if ": error: " in ln]
    assert errors and all(ln.startswith(("bad/a.tf: error: ", "bad/b.tf: error: ")) for ln in errors), errors
    assert "good/main.tf:" in run.stdout


def test_mutual_directory_links_outside_the_tree_terminate(tmp_path: Path) -> None:
    """repo/ext -> x, x/y -> y, y/x -> x: no link leads to its own ancestor, yet following them
    would never end. Each real directory is scanned once."""
    repo, x, y = tmp_path / "repo", tmp_path / "x", tmp_path / "y"
    for d in (repo, x, y):
        d.mkdir()
    _file(x)
    (repo / "ext").symlink_to(x)
    (x / "y").symlink_to(y)
    (y / "x").symlink_to(x)
    run = run_ecsfix("scan", "--format", "json", ".", cwd=repo)
    assert "Traceback" not in run.stderr
    assert run.code == 1, run.stdout + run.stderr
    import json

    doc = json.loads(run.stdout)
    assert [(f["rule"], f["name"]) for f in doc["findings"] if f["rule"] == "EF001"] == [("EF001", "DB_PASSWORD")]
