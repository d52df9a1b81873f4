"""`dataward detect` and `dataward redact`: thin faces on :mod:`dataward.detect`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, BinaryIO, TextIO

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from dataward.cli.common import err_console, out_console
from dataward.detect import Detector
from dataward.detect.redact import Operator, redact_stream
from dataward.detect.textio import iter_text
from dataward.errors import InputError

__all__ = ["detect_command", "redact_command"]

_PROGRESS_MIN_BYTES = 8 << 20

FilesArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Text files to read ('-' or nothing: standard input).", show_default=False),
]
LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", "-l", help="Language hint (en, fr, de, it).", show_default=False),
]


def _sources(files: list[Path] | None) -> list[Path | None]:
    return [None if str(f) == "-" else f for f in files] if files else [None]


def _open(stack: ExitStack, src: Path | None) -> tuple[BinaryIO, str, int]:
    if src is None:
        return sys.stdin.buffer, "<stdin>", 0
    try:
        fh = stack.enter_context(src.open("rb"))
        size = src.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {src}: {exc.strerror}; check the path") from None
    return fh, str(src), size


def _pieces(fh: BinaryIO, name: str, size: int, stack: ExitStack) -> Iterator[str]:
    if size < _PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield from iter_text(fh, name)
        return
    progress = stack.enter_context(
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err_console,
            transient=True,
        )
    )
    task = progress.add_task(name, total=size)
    for piece in iter_text(fh, name):
        progress.update(task, advance=len(piece.encode("utf-8", "replace")))
        yield piece


def detect_command(
    files: FilesArg = None,
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl",
            help='Read JSON Lines {"id": ..., "text": ...}; write {"id": ..., "findings": [...]}.',
        ),
    ] = False,
    language: LanguageOpt = None,
) -> None:
    """Find personal data in text files (or JSON Lines with --jsonl)."""
    detector = Detector.default()
    if jsonl:
        bad = 0
        with ExitStack() as stack:
            for src in _sources(files):
                fh, name, _size = _open(stack, src)
                bad += _detect_jsonl(detector, fh, name, sys.stdout, language)
        if bad:
            raise InputError(f"{bad} input line(s) could not be read (see the messages above)")
        return
    rows: list[tuple[str, int, int, str, str, str, str]] = []
    stream = not sys.stdout.isatty()
    with ExitStack() as stack:
        for src in _sources(files):
            fh, name, size = _open(stack, src)
            for f in detector.detect_stream(_pieces(fh, name, size, stack), language):
                row = (name, f.start, f.end, f.category, f.data_class.value, f"{f.score:.2f}",
                       f.detector)  # fmt: skip
                if stream:
                    sys.stdout.write("\t".join(str(x) for x in row) + "\n")
                else:
                    rows.append(row)
    if not stream:
        table = Table("file", "start", "end", "category", "class", "score", "detector")
        for row in rows:
            table.add_row(*(str(x) for x in row))
        out_console.print(table)


def _detect_jsonl(
    detector: Detector, fh: BinaryIO, name: str, out: TextIO, language: str | None
) -> int:
    bad = 0
    for lineno, raw in enumerate(fh, start=1):
        if not raw.strip():
            continue
        problem = None
        try:
            obj = json.loads(raw.decode("utf-8", "replace"))
        except json.JSONDecodeError as exc:
            obj = None
            problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
        if problem is None:
            if not isinstance(obj, dict):
                problem = "not a JSON object"
            elif not isinstance(obj.get("text"), str):
                problem = 'missing string field "text"'
        if problem is not None or not isinstance(obj, dict):
            err_console.print(f"error: {name}: line {lineno}: {problem}", markup=False)
            bad += 1
            continue
        lang = obj.get("language") if isinstance(obj.get("language"), str) else language
        findings = detector.detect(obj["text"], lang)
        out.write(
            json.dumps(
                {"id": obj.get("id"), "findings": [f.to_dict() for f in findings]},
                ensure_ascii=False,
            )
            + "\n"
        )
    out.flush()
    return bad


def redact_command(
    files: FilesArg = None,
    operator: Annotated[
        Operator,
        typer.Option("--operator", "-o", help="mask, replace (category tag), hash or drop."),
    ] = Operator.REPLACE,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file", help="Key for the 'hash' operator (file bytes).", show_default=False
        ),
    ] = None,
    language: LanguageOpt = None,
) -> None:
    """Write the text of FILES with personal data redacted to standard output."""
    key: bytes | None = None
    if key_file is not None:
        try:
            key = key_file.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read key file {key_file}: {exc.strerror}") from None
    detector = Detector.default()
    out = sys.stdout
    with ExitStack() as stack:
        for src in _sources(files):
            fh, name, size = _open(stack, src)
            for piece in redact_stream(
                _pieces(fh, name, size, stack),
                operator=operator,
                key=key,
                detector=detector,
                language=language,
            ):
                out.write(piece)
    out.flush()
