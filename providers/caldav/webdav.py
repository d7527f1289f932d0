"""WebDAV/CalDAV XML: request bodies, and multistatus answers parsed into plain objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from lxml import etree

from providers.base import (
    InvalidRemoteData,
)

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
NSMAP = {"D": DAV, "C": CALDAV}
#: Characters left unquoted when an href path goes back into a URL or a request body.
SAFE_PATH_CHARACTERS = "/:@!$&'()*+,;=-._~"

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclass
class DavResponse:
    """One ``D:response`` of a multistatus: its href (an unquoted path) and its 200 props."""

    href: str
    status: int | None
    props: dict[str, etree._Element]

    def text(self, clark_name: str) -> str | None:
        element = self.props.get(clark_name)
        return None if element is None else (element.text or "")

    def hrefs(self, clark_name: str) -> list[str]:
        element = self.props.get(clark_name)
        if element is None:
            return []
        return [h.text.strip() for h in element.iter(f"{{{DAV}}}href") if h.text]


@dataclass
class Multistatus:
    """A parsed 207 answer; ``base_url`` is the URL that answered (after redirects)."""

    responses: list[DavResponse]
    sync_token: str | None
    base_url: str

    def absolute_url(self, href: str) -> str:
        return urljoin(self.base_url, href.strip())


def _status_code(status_line: str | None) -> int | None:
    if not status_line:
        return None
    parts = status_line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def href_path(base_url: str, href: str) -> str:
    """An href as the unquoted absolute path we use as an id, whatever form the server sent."""
    return unquote(urlsplit(urljoin(base_url, href.strip())).path)


def parse_multistatus(content: bytes, base_url: str) -> Multistatus:
    """Parse a 207 body; raises InvalidRemoteData when it is not one."""
    try:
        root = etree.fromstring(content, parser=_XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise InvalidRemoteData(f"unparseable multistatus: {error}") from error
    if root.tag != f"{{{DAV}}}multistatus":
        raise InvalidRemoteData(f"expected a multistatus, got {root.tag}")
    responses: list[DavResponse] = []
    for response in root.iterfind(f"{{{DAV}}}response"):
        href = response.findtext(f"{{{DAV}}}href")
        if not href:
            continue
        props: dict[str, etree._Element] = {}
        for propstat in response.iterfind(f"{{{DAV}}}propstat"):
            if _status_code(propstat.findtext(f"{{{DAV}}}status")) != 200:
                continue
            prop = propstat.find(f"{{{DAV}}}prop")
            if prop is not None:
                for element in prop:
                    props[element.tag] = element
        responses.append(
            DavResponse(
                href=href_path(base_url, href),
                status=_status_code(response.findtext(f"{{{DAV}}}status")),
                props=props,
            )
        )
    token = root.findtext(f"{{{DAV}}}sync-token")
    return Multistatus(responses, token.strip() if token else None, base_url)


def _clark(prefixed_name: str) -> str:
    prefix, local = prefixed_name.split(":")
    return f"{{{NSMAP[prefix]}}}{local}"


def _add(parent: Any, prefixed_name: str, text: str | None = None) -> Any:
    element = etree.SubElement(parent, _clark(prefixed_name))
    element.text = text
    return element


def _new_body(prefixed_name: str) -> Any:
    return etree.Element(_clark(prefixed_name), nsmap=NSMAP)


def _add_props(parent: Any, props: Iterable[str]) -> None:
    prop = _add(parent, "D:prop")
    for name in props:
        _add(prop, name)


def _serialised(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def propfind_body(props: Iterable[str]) -> bytes:
    root = _new_body("D:propfind")
    _add_props(root, props)
    return _serialised(root)


def sync_collection_body(token: str, props: Iterable[str]) -> bytes:
    root = _new_body("D:sync-collection")
    _add(root, "D:sync-token", token)
    _add(root, "D:sync-level", "1")
    _add_props(root, props)
    return _serialised(root)


def multiget_body(paths: Iterable[str]) -> bytes:
    root = _new_body("C:calendar-multiget")
    _add_props(root, ["D:getetag", "C:calendar-data"])
    for path in paths:
        _add(root, "D:href", quote(path, safe=SAFE_PATH_CHARACTERS))
    return _serialised(root)


DISCOVERY_PROPS = [
    "D:current-user-principal",
    "D:resourcetype",
    "D:displayname",
    "C:calendar-home-set",
]
CALENDAR_PROPS = [
    "D:resourcetype",
    "D:displayname",
    "D:current-user-privilege-set",
    "C:supported-calendar-component-set",
    "C:calendar-timezone",
]


def is_calendar(response: DavResponse) -> bool:
    resourcetype = response.props.get(f"{{{DAV}}}resourcetype")
    return resourcetype is not None and any(
        child.tag == f"{{{CALDAV}}}calendar" for child in resourcetype
    )


def supports_events(response: DavResponse) -> bool:
    components = response.props.get(f"{{{CALDAV}}}supported-calendar-component-set")
    if components is None or len(components) == 0:
        return True
    return any(str(comp.get("name", "")).upper() == "VEVENT" for comp in components)


#: Apple's calendar-color property (``#rrggbbaa``), which CalDAV clients and servers share.
APPLE_ICAL = "http://apple.com/ns/ical/"


def mkcalendar_body(name: str, color: str | None) -> bytes:
    """RFC 4791 MKCALENDAR: an event calendar with a display name (and a colour)."""
    root = _new_body("C:mkcalendar")
    prop = _add(_add(root, "D:set"), "D:prop")
    _add(prop, "D:displayname", name)
    components = _add(prop, "C:supported-calendar-component-set")
    _add(components, "C:comp").set("name", "VEVENT")
    if color:
        colour = etree.SubElement(prop, f"{{{APPLE_ICAL}}}calendar-color", nsmap={"I": APPLE_ICAL})
        colour.text = color.upper() + "FF"
    return _serialised(root)
