"""Reading the rows of a delimited feed: CSV with a header row, separated by commas,
semicolons (spreadsheets with a decimal comma) or tabs (Google Merchant's TSV).

The file is decoded line by line, so a 200 MB feed is never held twice in memory and a
byte that is not in the given encoding is reported with its line.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalogue import limits
from catalogue.errors import FeedError

DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One feed row (CSV line, XML item) as text, before its values are checked."""

    where: str  # "line 12" or "item 3 (line 40)": what a problem names
    fields: dict[str, str]
    problem: str = ""  # a row that could not even be split into fields


# Other names for our columns: Merchant API's content_language, British spelling.
ALIASES = {"content_language": "language", "colour": "color"}


def column_name(header: str) -> str:
    """'ID', ' g:item_group_id ', 'Product Type' -> 'id', 'item_group_id', 'product_type'."""
    name = "_".join(header.strip().lower().removeprefix("g:").replace("-", " ").split())
    return ALIASES.get(name, name)


def read_rows(path: Path, *, delimiter: str | None = None,
              encoding: str = "utf-8") -> tuple[list[str], Iterator[RawRow]]:
    """The header's column names and the rows, read as they are consumed (a big feed is
    never held as text and as rows at once); FeedError for a file that is not a table."""
    source = str(path)
    lines = _decoded_lines(path, encoding)
    header_line = next(lines, "")
    header = header_line.removeprefix("\ufeff")
    if not header.strip():
        raise FeedError(source, ["the file is empty: the first line must name the columns"])
    delimiter = delimiter or max(DELIMITERS, key=header.count)
    names = [column_name(h) for h in next(csv.reader([header], delimiter=delimiter))]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise FeedError(source, [f"line 1: the header names {', '.join(repeated)} more than once"])
    return names, _records(source, lines, names, delimiter)


def _records(source: str, lines: Iterator[str], names: list[str],
             delimiter: str) -> Iterator[RawRow]:
    reader = csv.reader(lines, delimiter=delimiter)
    count = 0
    last = 1  # the header's line; reader.line_num counts from the line after it
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FeedError(source, [f"line {last + 1}: {exc} (a field may be longer than "
                                     f"{csv.field_size_limit()} characters)"]) from None
        where, last = f"line {last + 1}", reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > limits.MAX_ROWS:
            raise FeedError(source, [f"more than {limits.MAX_ROWS:,} rows: split the feed"])
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            yield RawRow(where, {}, f"{len(cells)} cells but the header names {len(names)}")
        else:
            yield RawRow(where, {n: c for n, c in zip(names, cells, strict=False) if n})


def _decoded_lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines as text; FeedError at the first byte not in `encoding`."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise FeedError(str(path), [f"unknown encoding {encoding!r}; try utf-8 or cp1252"
                                    ]) from None
    name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
    number = 0
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            try:
                yield decoder.decode(raw)
            except UnicodeDecodeError:
                raise FeedError(str(path), [
                    f"not {name} at line {number}; re-export as UTF-8 or pass --encoding cp1252"
                ]) from None
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FeedError(str(path), [f"not {name} at line {number} (the file ends inside a "
                                        "character); re-export as UTF-8"]) from None
