"""Reading the items of a Google Merchant XML feed: RSS 2.0 (`<rss><channel><item>`) or
Atom (`<feed><entry>`), attributes in the `g:` namespace (http://base.google.com/ns/1.0).

Parsed with expat directly, streaming, and safely: a document type declaration is
refused before anything in it is expanded (no entity expansion bombs, no external
entities; defusedxml is not installed and a feed never needs a DTD).
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

from catalogue import limits
from catalogue.errors import FeedError
from catalogue.feed_csv import RawRow, column_name

GOOGLE = "http://base.google.com/ns/1.0"
ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "http://www.w3.org/XML/1998/namespace lang"
_ITEMS = {"item", "entry"}
_PLAIN = {"", ATOM}  # RSS's own elements have no namespace; Atom's have ATOM
_ALIASES = {"summary": "description", "content": "description"}


class _Refused(Exception):
    """Raised from an expat handler to stop parsing at once."""


class _Collector:
    """Builds one RawRow per item from expat's events; children of an item become fields
    (a `g:` element wins over a plain one of the same name, e.g. g:title over title)."""

    def __init__(self, parser: expat.XMLParserType):
        self.parser = parser
        self.rows: list[RawRow] = []
        self.stack: list[str] = []
        self.feed_language = ""
        self.item: dict[str, str] | None = None
        self.google: set[str] = set()
        self.item_depth = -1
        self.item_start = 0
        self.field: str | None = None
        self.text: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        depth = len(self.stack)
        self.stack.append(local)
        if self.item is None and local in _ITEMS:
            self._start_item(attrs)
        elif self.item is not None and depth == self.item_depth + 1:
            self._start_field(namespace, local, attrs)
        elif self.item is None and XML_LANG in attrs:
            self.feed_language = attrs[XML_LANG]
        elif self.item is None and local == "language" and namespace in _PLAIN:
            self.field, self.text = "feed_language", []

    def _start_item(self, attrs: dict[str, str]) -> None:
        if len(self.rows) >= limits.MAX_ROWS:
            raise _Refused(f"more than {limits.MAX_ROWS:,} items: split the feed")
        self.item, self.google = {}, set()
        self.item_depth = len(self.stack) - 1
        self.item_start = self.parser.CurrentLineNumber
        if self.feed_language:
            self.item["language"] = self.feed_language
        if XML_LANG in attrs:
            self.item["language"] = attrs[XML_LANG]

    def _start_field(self, namespace: str, local: str, attrs: dict[str, str]) -> None:
        if namespace != GOOGLE and namespace not in _PLAIN:
            return  # another vocabulary's element: not ours to read
        key = column_name(_ALIASES.get(local, local) if namespace == ATOM else local)
        if namespace != GOOGLE and key in self.google:
            return
        if namespace == ATOM and local == "link":
            if attrs.get("rel", "alternate") == "alternate" and "href" in attrs:
                self.item["link"] = attrs["href"]
            return
        if namespace == GOOGLE:
            self.google.add(key)
        self.field, self.text = key, []

    def end(self, name: str) -> None:
        depth = len(self.stack) - 1
        self.stack.pop()
        if self.item is None:
            if self.field == "feed_language":
                self.feed_language = "".join(self.text).strip()
                self.field = None
            return
        if depth == self.item_depth:
            where = f"item {len(self.rows) + 1} (line {self.item_start})"
            self.rows.append(RawRow(where, self.item))
            self.item = None
        elif depth == self.item_depth + 1 and self.field is not None:
            self.item[self.field] = "".join(self.text)
            self.field = None

    def data(self, text: str) -> None:
        if self.field is not None:
            self.text.append(text)


def _refuse_dtd(*_args) -> None:
    raise _Refused("the XML declares a document type (DTD); feeds need none and it is "
                   "refused for safety: remove the <!DOCTYPE ...> line")


def read_items(path: Path, *, encoding: str | None = None) -> list[RawRow]:
    """Every item of the feed, or FeedError for a document that is not a safe, well-formed
    Merchant feed. `encoding` overrides the XML declaration (e.g. a mislabelled cp1252)."""
    parser = expat.ParserCreate(encoding=encoding, namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    collector = _Collector(parser)
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.data
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = True
    try:
        with path.open("rb") as stream:
            parser.ParseFile(stream)
    except _Refused as exc:
        raise FeedError(str(path), [f"line {parser.CurrentLineNumber}: {exc}"]) from None
    except expat.ExpatError as exc:
        hint = ("; if it is not UTF-8, re-export as UTF-8 or pass --encoding cp1252"
                if exc.code == expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN] else "")
        raise FeedError(str(path), [f"line {exc.lineno}: invalid XML "
                                    f"({expat.errors.messages[exc.code]}){hint}"]) from None
    except LookupError:
        raise FeedError(str(path), [f"unknown encoding {encoding!r}; try utf-8 or cp1252"
                                    ]) from None
    if not collector.rows:
        raise FeedError(str(path), ["no <item> or <entry> elements: is this a Google Merchant "
                                    "feed (RSS 2.0 or Atom)?"])
    return collector.rows
