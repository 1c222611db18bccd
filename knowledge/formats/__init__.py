"""Reading and writing knowledge-base files: CSV, JSON, YAML, Markdown FAQ pages and
Rasa retrieval-intent training data.

Every reader returns `Parsed`: drafts with the line they start on, plus problems.
Readers never raise on bad content; they list what is wrong so an import can be
rejected with every problem at once.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.errors import ImportRejected
from knowledge.formats import markdown, rasa, structured, tabular
from knowledge.formats.base import Parsed, SourceDraft, decode

READERS = {
    "csv": tabular.read,
    "json": structured.read_json,
    "yaml": structured.read_yaml,
    "markdown": markdown.read,
    "rasa": rasa.read,
}
WRITERS = {
    "csv": tabular.write,
    "json": structured.write_json,
    "yaml": structured.write_yaml,
    "markdown": markdown.write,
    "rasa": rasa.write,
}
SUFFIXES = {".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".md": "markdown"}


def detect_format(path: Path, data: bytes | None = None) -> str:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt == "yaml" and data is not None and b"\nnlu:" in b"\n" + data[:200_000]:
        return "rasa"  # Rasa training data is YAML with an `nlu:` section
    if fmt is None:
        raise ImportRejected(str(path), [f"unknown file type {path.suffix!r}; use one of "
                                         f"{', '.join(sorted(SUFFIXES))} or --format"])
    return fmt


def read_file(
    path: Path, *, fmt: str | None = None, default_language: str | None = None, max_bytes: int
) -> Parsed:
    if not path.is_file():
        raise ImportRejected(str(path),
                             ["cannot read the file: no such file, or it is a directory"])
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= max_bytes else b""
    except OSError as exc:
        raise ImportRejected(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    if size > max_bytes:
        raise ImportRejected(str(path), [f"the file is {size} bytes; the limit is {max_bytes}"])
    fmt = fmt or detect_format(path, data)
    if fmt not in READERS:
        raise ImportRejected(str(path),
                             [f"unknown format {fmt!r}; use one of {', '.join(READERS)}"])
    text, problem = decode(data)
    if problem:
        raise ImportRejected(str(path), [problem])
    return READERS[fmt](text, default_language)


__all__ = ["READERS", "SUFFIXES", "WRITERS", "Parsed", "SourceDraft", "detect_format", "read_file"]
