"""CSV: one row per entry (questions separated by ' | ' or newlines) or one row per
question, rows with the same key forming one entry."""

from __future__ import annotations

import csv
import io

from knowledge.formats.base import Parsed, draft_from_mapping, draft_to_mapping

COLUMNS = ["key", "language", "category", "topic", "status", "review_by", "questions", "answer"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read(text: str, default_language: str | None) -> Parsed:
    parsed = Parsed()
    # Only the delimiter is guessed (from the header line); quoting is always standard CSV,
    # which a sniffer reading a sample can get wrong.
    header_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("answer",) if c not in header]
    if not ({"question", "questions"} & set(header)):
        missing.append("questions (or question)")
    if "language" not in header and not default_language:
        missing.append("language (or pass --language)")
    if missing:
        parsed.problem(1,
                       f"missing column(s): {', '.join(missing)}; found: "
                       f"{', '.join(header) or 'none'}")
        return parsed
    reader.fieldnames = header
    grouped: dict[str, tuple[int, dict]] = {}
    try:
        line_after = reader.line_num  # a row starts on the line after the previous row ends
        for row in reader:
            line, line_after = line_after + 1, reader.line_num
            if None in row:
                parsed.problem(line, "the row has more cells than the header")
                continue
            record = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
            if not any(record.values()):
                continue  # blank line
            key = record.get("key") or ""
            if key and key in grouped:  # one row per question: merge into the first row
                first_line, first = grouped[key]
                if record.get("answer") and record["answer"] != first.get("answer"):
                    parsed.problem(line,
                                   f"key {key!r} has a different answer than on line {first_line}")
                first["questions"] = "\n".join(
                    filter(None, [first.get("questions") or first.get("question") or "",
                                  record.get("questions") or record.get("question") or ""]))
                first.pop("question", None)
                continue
            grouped[key or f"\0{line}"] = (line, record)
    except csv.Error as exc:
        parsed.problem(reader.line_num, f"malformed CSV: {exc}")
    for line, record in grouped.values():
        draft_from_mapping(record, line, default_language, parsed)
    return parsed


def _safe_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in exported text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write(entries) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        row = draft_to_mapping(entry)
        row["questions"] = "\n".join(row["questions"])
        writer.writerow({k: _safe_cell(row[k]) for k in COLUMNS})
    return out.getvalue()
