"""Inspect a batch of inputs: files, folders and glob patterns, in worker processes, writing each
result as soon as its part is finished.

Output folder layout::

    DIR/results.jsonl   one row per input (see surfsight.inspect.results), appended as parts finish
    DIR/parts/<key>.json the report's pictures of one part (base64 PNG), written atomically
    DIR/summary.csv     one row per input, rewritten atomically at the end
    DIR/report.html     self-contained HTML report, rewritten atomically at the end

Safety: every row is appended with one ``write`` of a whole line followed by ``fsync``, so a crash
(or Ctrl-C) loses at most the part being inspected; a line cut short by a crash is dropped when
the results are read back. ``resume=True`` keeps the existing rows and skips every input whose
content (SHA-256) already has a row, so a rerun never duplicates a row; without it the results
start afresh. A worker process that dies (out of memory, say) gives an error row for its part
and the batch goes on in a fresh pool.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .pipeline import file_sha256, inspect_file
from .results import ERROR, OK, error_row, parse_line, row_key, to_json_line

__all__ = ["BatchResult", "expand_inputs", "read_results", "run_batch", "exit_status", "RESULTS", "SUMMARY",
           "REPORT", "PARTS"]

RESULTS, SUMMARY, REPORT, PARTS = "results.jsonl", "summary.csv", "report.html", "parts"
_GLOB_CHARS = set("*?[")


@dataclass
class BatchResult:
    """What a batch run did. ``rows`` are all rows now in ``results.jsonl`` (earlier ones included)."""

    out: Path
    rows: list[dict[str, Any]]
    inspected: int = 0
    skipped: int = 0
    inputs: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return exit_status(self.rows)

    @property
    def report(self) -> Path:
        return self.out / REPORT


def exit_status(rows: Iterable[dict[str, Any]]) -> int:
    """0: every part conforms; 1: some part is nonconform or indeterminate; 2: some input could not
    be inspected (takes precedence)."""
    rows = list(rows)
    if any(r.get("status") == ERROR for r in rows):
        return 2
    if any(r.get("verdict") != "conform" for r in rows):
        return 1
    return 0


def _readable_suffixes() -> set[str]:
    from ..io.formats import registry

    return {s.lower() for fmt in registry() for s in fmt.suffixes}


def expand_inputs(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders searched recursively for files with a suffix surfsight reads;
    glob patterns (``**`` allowed) expanded. A pattern matching nothing and a missing path are kept
    as they are, so that they get an error row ("no such file"). Order is kept, duplicates dropped."""
    out: list[Path] = []
    suffixes = None
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            suffixes = suffixes or _readable_suffixes()
            found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                           and (p.suffix.lower() in suffixes or "".join(p.suffixes[-2:]).lower() in suffixes))
            out.extend(found)
        elif not path.exists() and _GLOB_CHARS & set(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            out.extend(matches if matches else [path])
        else:
            out.append(path)
    seen, unique = set(), []
    for p in out:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def read_results(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Rows of a ``results.jsonl`` and the number of damaged lines dropped."""
    if not path.exists():
        return [], 0
    rows, damaged = [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = parse_line(line)
            if row is None:
                damaged += 1
            else:
                rows.append(row)
    return rows, damaged


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class _Appender:
    """Appends whole lines to results.jsonl, each with one write and an fsync."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, row: dict[str, Any]) -> None:
        os.write(self.fd, to_json_line(row).encode("utf-8"))
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def part_file(out: Path, row: dict[str, Any]) -> Path:
    """Where the pictures of the part of ``row`` are kept."""
    key = row_key(row["file"], row.get("sha256"))
    import hashlib

    return out / PARTS / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")


def _inspect_and_draw(path: str, spec: Any, sha256: str | None, out: str, model: str | None,
                      figures: bool) -> dict[str, Any]:
    """One part, in a worker: inspect, draw the report's pictures, store them; return the row."""
    inspection = inspect_file(path, spec, model=model, sha256=sha256)
    if figures and inspection.row["status"] == OK:
        try:
            from ..report.html import part_figures

            pictures = part_figures(inspection)
            write_atomic(part_file(Path(out), inspection.row), json.dumps(pictures))
        except Exception as exc:  # noqa: BLE001 -- a picture that fails must not lose the result
            inspection.row["notes"].append(f"report pictures could not be drawn ({type(exc).__name__}: {exc})")
    return inspection.row


def run_batch(inputs: Iterable[str | os.PathLike], spec: Any, out: str | os.PathLike, *, workers: int = 1,
              resume: bool = False, model: str | None = "default", figures: bool = True,
              on_start: Callable[[int, int], None] | None = None,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> BatchResult:
    """Inspect every input against ``spec`` and write the results to the folder ``out``.

    Parameters
    ----------
    inputs
        Files, folders, glob patterns (see :func:`expand_inputs`).
    spec
        A :class:`surfsight.spec.Spec` (or anything :func:`surfsight.spec.load_spec` takes).
    workers
        Worker processes; 1 inspects in this process.
    resume
        Keep earlier results and skip inputs already inspected (same SHA-256).
    model
        Model name for :func:`surfsight.inspect.model_step.detect` (``None``: rule-based detector).
    figures
        Draw the report's pictures (turn off for timing the pipeline alone).
    on_start, on_row
        Progress callbacks: ``on_start(to_do, skipped)`` once, ``on_row(row)`` per finished part.
    """
    from ..spec import Spec, load_spec

    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    out = Path(out)
    (out / PARTS).mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS
    rows: list[dict[str, Any]] = []
    if resume:
        rows, damaged = read_results(results_path)
        if damaged:  # a crash cut a line short: rewrite the file without it before appending
            write_atomic(results_path, "".join(to_json_line(r) for r in rows))
    else:
        write_atomic(results_path, "")
    done = {row_key(r["file"], r.get("sha256")) for r in rows}

    paths = expand_inputs(inputs)
    todo: list[tuple[str, str | None]] = []
    skipped = 0
    for p in paths:
        digest = file_sha256(p) if p.is_file() else None
        key = row_key(str(p), digest)
        if key in done:
            skipped += 1
            continue
        done.add(key)
        todo.append((str(p), digest))
    if on_start:
        on_start(len(todo), skipped)

    appender = _Appender(results_path)

    def finish(row: dict[str, Any]) -> None:
        appender.append(row)
        rows.append(row)
        if on_row:
            on_row(row)

    args = (spec, str(out), model, figures)
    try:
        if workers <= 1 or len(todo) <= 1:
            for path, digest in todo:
                finish(_inspect_and_draw(path, spec, digest, *args[1:]))
        else:
            _run_pool(todo, args, workers, finish)
    finally:
        appender.close()
    write_outputs(out, rows)
    return BatchResult(out, rows, len(todo), skipped, [str(p) for p in paths])


def _run_pool(todo: list[tuple[str, str | None]], args: tuple, workers: int,
              finish: Callable[[dict[str, Any]], None]) -> None:
    """Keep at most ``2 * workers`` parts in flight; restart the pool if a worker dies."""
    import multiprocessing

    spec, out, model, figures = args
    pending = list(reversed(todo))
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads (progress bar)
    # one thread per worker process: the parallelism is across parts (the children read it at start)
    saved = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    os.environ.update({k: "1" for k in _THREAD_VARIABLES})
    try:
        _drain(pending, spec, out, model, figures, workers, context, finish)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _drain(pending, spec, out, model, figures, workers, context, finish) -> None:
    while pending:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            in_flight = {}
            broken = False
            while (pending or in_flight) and not broken:
                while pending and len(in_flight) < 2 * workers:
                    path, digest = pending.pop()
                    in_flight[pool.submit(_inspect_and_draw, path, spec, digest, out, model, figures)] = (path, digest)
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    path, digest = in_flight.pop(future)
                    try:
                        finish(future.result())
                    except BrokenProcessPool:
                        broken = True
                        finish(error_row(path, digest, f"{path}: the worker process inspecting this file died "
                                         "(out of memory?)", getattr(spec, "name", None)))
                    except Exception as exc:  # noqa: BLE001
                        finish(error_row(path, digest, f"{path}: internal error ({type(exc).__name__}: {exc})",
                                         getattr(spec, "name", None)))
            if broken:  # the other parts in flight are lost with the pool: inspect them again
                pending.extend(in_flight.values())


def write_outputs(out: Path, rows: list[dict[str, Any]]) -> None:
    """(Re)write ``summary.csv`` and ``report.html`` from the rows (atomically), ordered by file."""
    from ..report.csv_summary import summary_csv
    from ..report.html import render_report

    rows = sorted(rows, key=lambda r: str(r.get("file")))

    write_atomic(out / SUMMARY, summary_csv(rows))
    pictures = {}
    for row in rows:
        path = part_file(out, row)
        if row.get("status") == OK and path.exists():
            try:
                pictures[row_key(row["file"], row.get("sha256"))] = json.loads(path.read_text())
            except (OSError, ValueError):
                pass
    write_atomic(out / REPORT, render_report(rows, pictures))
