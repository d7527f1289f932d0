"""The common calendar object read without building every component: one VEVENT.

``icalendar.Calendar.from_ical`` turns every line of a resource into objects (the
VTIMEZONE with its rules, every alarm, the calendar's PRODID), and it was ~80 % of a CalDAV
full sync. Most resources are one VEVENT (a single event, or a series without overrides)
with a VTIMEZONE copied from the client's template. :func:`read_simple_item` reads those
with icalendar's own machinery, minus the waste:

- every line of the VEVENT goes through icalendar's property parser
  (``ComponentIcalParser.handle_property``: the same value types, error handling and
  duplicate handling as ``from_ical``), only the split of a plain line into name,
  parameters and value is done here (:func:`split_line`, equal to ``Contentline.parts``
  wherever it accepts a line; anything else goes through ``Contentline.parts`` itself);
- the blocks nobody reads (VTIMEZONE, VALARM, the calendar's own properties) are parsed
  by ``from_ical`` once per distinct text, so an item is refused exactly when icalendar
  would refuse it, and a VTIMEZONE is cached by icalendar as ``from_ical`` caches it.

Anything else (an override's RECURRENCE-ID, several VEVENTs, other components,
lowercase structure lines, a VTIMEZONE after the event) returns ``None``, and the caller
parses with icalendar.
``tests/unit/providers/test_caldav_fast_ical.py`` proves both paths give the same
``RemoteEvent`` on the interoperability corpus and on generated variants.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import icalendar
from icalendar.parser.content_line import NEWLINE, UFOLD, Contentline
from icalendar.parser.ical.component import ComponentIcalParser
from icalendar.parser.parameter import Parameters
from icalendar.parser.property import unescape_backslash

#: A VEVENT with one of these is an instance of a series (an override): icalendar's path.
_INSTANCE_PROPERTIES = frozenset({"RECURRENCE-ID"})
#: Calendar-level properties that would resolve a TZID against the item's own VTIMEZONE.
_DATETIME_PROPERTIES = frozenset(ComponentIcalParser.datetime_names)

_NAME = re.compile(r"[A-Za-z0-9-]+")
#: One folded line break (see :func:`_unfolded_lines`).
_FOLD = re.compile(r"\r?\n[ \t]")
#: ``;KEY=VALUE`` parameters whose split needs no quoting, escaping or unescaping rules.
_PLAIN_PARAMETER = re.compile(r"([A-Za-z0-9-]+)=([A-Za-z0-9/_+.-]+)")

#: Distinct block texts remembered (one calendar has a handful: its VTIMEZONE, an alarm).
_CACHE_LIMIT = 1024
_MISSING = object()


class _BlockCache:
    """Verdicts on blocks parsed alone: the parsed VCALENDAR, or ``None`` if refused."""

    def __init__(self) -> None:
        self._verdicts: dict[str, icalendar.Calendar | None] = {}
        self._lock = threading.Lock()

    def parsed(self, lines: list[str]) -> icalendar.Calendar | None:
        key = "\r\n".join(lines)
        verdict = self._verdicts.get(key, _MISSING)
        if verdict is _MISSING:
            verdict = _parse_alone(lines)
            with self._lock:
                if len(self._verdicts) >= _CACHE_LIMIT:
                    self._verdicts.clear()
                self._verdicts[key] = verdict
        return verdict  # type: ignore[return-value]


def _parse_alone(lines: list[str]) -> icalendar.Calendar | None:
    """``lines`` inside an otherwise empty VCALENDAR, as from_ical parses them, or None."""
    if any(line[:1] in (" ", "\t") for line in lines):
        return None  # would fold into the line before when joined again
    text = "BEGIN:VCALENDAR\r\n" + "".join(line + "\r\n" for line in lines) + "END:VCALENDAR\r\n"
    try:
        parsed = icalendar.Calendar.from_ical(text)
    except Exception:  # refused: the caller's icalendar parse will say why
        return None
    return parsed if isinstance(parsed, icalendar.Calendar) else None


_blocks = _BlockCache()


def split_line(line: str) -> tuple[str, Parameters, str] | None:
    """``Contentline(line).parts()`` for a plain line, ``None`` for any other.

    Plain: a token name, then only ``;KEY=VALUE`` parameters of letters, digits and
    ``/_+.-``, then ``:``. Such a line has no quoting, escaping, whitespace or RFC 6868
    carets before its value, so the first ``:`` ends the parameters.
    """
    colon = line.find(":")
    if colon <= 0:
        return None
    semicolon = line.find(";", 0, colon)
    name = line[: semicolon if semicolon >= 0 else colon]
    if not _NAME.fullmatch(name):
        return None
    params = Parameters()
    if semicolon >= 0:
        section = line[semicolon + 1 : colon]
        for parameter in section.split(";"):
            match = _PLAIN_PARAMETER.fullmatch(parameter)
            if match is None:
                return None
            params[match[1]] = match[2]
    return name, params, unescape_backslash(line[colon + 1 :])


#: Properties ``handle_property`` treats specially (their raw line matters).
_SPECIAL_PROPERTIES = frozenset({"CATEGORIES", "FREEBUSY", "RDATE"})


def _content_line(line: str) -> Contentline:
    return Contentline(line)  # type: ignore[no-untyped-call]


class _EventParser(ComponentIcalParser):
    """icalendar's own property handling, fed one VEVENT's lines.

    :meth:`add_line` is ``handle_property`` + ``parse_and_add_property`` of icalendar 7
    for the ordinary property (one value type lookup instead of two, no ``Contentline``
    object); special properties go through ``handle_property`` itself. The differential
    test catches any drift when icalendar changes.
    """

    def __init__(self) -> None:
        factory = icalendar.Calendar._get_component_factory()
        super().__init__([], factory, icalendar.Calendar.types_factory)
        self.event: icalendar.cal.Component = factory.get_component_class("VEVENT")()
        self._stack = [self.event]
        self._for_property = self._types_factory.for_property

    def add_line(self, line: str) -> None:
        parts = split_line(line)
        if parts is None:
            try:
                parts = _content_line(line).parts()
            except ValueError as error:
                self.handle_line_parse_error(error)  # an Event records it and goes on
                return
        name, params, value = parts
        name = name.upper()
        factory: Any = self._for_property(name, params.value)
        if name in _SPECIAL_PROPERTIES or hasattr(factory, "get_value_from_content_line"):
            self.handle_property(name, params, value, _content_line(line))
            return
        tzid = params.get("TZID") if params and name in _DATETIME_PROPERTIES else None
        try:
            parsed = factory.from_ical(value, tzid) if tzid else factory.from_ical(value)
        except (ValueError, TypeError) as error:
            self.handle_property_parse_error(error, name, params, value, _content_line(line))
        else:
            instance = factory(parsed)
            instance.params = params
            self.event.add(name, instance, encode=False)


def _unfolded_lines(text: str) -> list[str]:
    """The content lines as ``Contentlines.from_ical`` splits them.

    icalendar's ``UFOLD`` removes a line break (with any line breaks right after it)
    followed by a space or tab. Without two line breaks in a row that is just ``_FOLD``,
    which costs a tenth as much (``UFOLD`` was a fifth of a whole read).
    """
    fold = UFOLD if "\n\n" in text or "\n\r\n" in text else _FOLD
    text = fold.sub("", text)
    return [line for line in NEWLINE.split(text) if line]


def _line_name(line: str) -> str | None:
    """The upper-case property name of a line, or None when it is not a plain token."""
    end = len(line)
    for separator in (":", ";"):
        found = line.find(separator, 0, end)
        if found >= 0:
            end = found
    name = line[:end]
    return name.upper() if end < len(line) and _NAME.fullmatch(name) else None


def _block_end(lines: list[str], start: int) -> int:
    """Index of the END line closing the block opened at ``start`` (-1: unbalanced)."""
    depth = 0
    for index in range(start, len(lines)):
        line = lines[index]
        if line.startswith("BEGIN:"):
            depth += 1
        elif line.startswith("END:"):
            depth -= 1
            if depth == 0:
                return index if line[4:] == lines[start][6:] else -1
    return -1


def read_simple_item(ical_text: str) -> tuple[icalendar.Calendar, icalendar.cal.Component] | None:
    """(the calendar's own properties, its one VEVENT) as ``from_ical`` would give them, for
    a resource holding one VEVENT that is no override (plus VTIMEZONEs before it and alarms
    in it, which are checked but not kept); ``None`` for anything else, which the caller
    parses with icalendar."""
    lines = _unfolded_lines(ical_text)
    if len(lines) < 4 or lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "END:VCALENDAR":
        return None
    calendar_lines: list[str] = []
    parser: _EventParser | None = None
    index, last = 1, len(lines) - 1
    while index < last:
        line = lines[index]
        if line.startswith("BEGIN:"):
            end = _block_end(lines, index)
            if end < 0 or end >= last:
                return None
            kind = line[6:]
            if kind == "VEVENT" and parser is None:
                parser = _read_event(lines[index + 1 : end])
                if parser is None:
                    return None
            elif kind != "VTIMEZONE" or parser is not None:
                return None  # a second VEVENT, another component, a VTIMEZONE after it
            elif _blocks.parsed(lines[index : end + 1]) is None:
                return None
            index = end + 1
            continue
        name = _line_name(line)
        if name is None or name in _DATETIME_PROPERTIES or name in ("BEGIN", "END"):
            return None
        calendar_lines.append(line)
        index += 1
    if parser is None:
        return None
    calendar = _blocks.parsed(calendar_lines)
    if calendar is None:
        return None
    return calendar, parser.event


def _read_event(lines: list[str]) -> _EventParser | None:
    """The VEVENT's lines through icalendar's property parser; None: not the simple shape."""
    parser = _EventParser()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("BEGIN:"):
            end = _block_end(lines, index)
            if end < 0 or line[6:] != "VALARM":
                return None
            if _blocks.parsed(lines[index : end + 1]) is None:
                return None
            index = end + 1
            continue
        name = _line_name(line)
        if name is None or name in _INSTANCE_PROPERTIES or name in ("BEGIN", "END"):
            return None
        parser.add_line(line)
        index += 1
    return parser
