"""GeoReport v2 XML with the standard library: the same dicts and lists the JSON answers
carry, written under the spec's element names.

    to_xml("service_requests", [{"service_request_id": "…", "status": "open"}], item="request")
    → <?xml version='1.0' encoding='UTF-8'?><service_requests><request>…</request></service_requests>

A None becomes an empty element (the spec's examples show absent values so), a bool
"true"/"false", a list the element repeated under its container: `formats` holds
`format`s, `attributes` holds `attribute`s (see CHILD).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

#: The element of one item inside each list-valued field.
CHILD = {"formats": "format", "endpoints": "endpoint", "attributes": "attribute", "values": "value"}


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        tag = CHILD.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, tag), child)
    else:
        element.text = _text(value)


def to_xml(root: str, body, item: str | None = None) -> bytes:
    """The document with `root` as its root element: a list's entries each as `item`, a
    dict's keys as child elements. UTF-8, with the XML declaration the spec asks for."""
    element = ET.Element(root)
    if isinstance(body, list):
        for entry in body:
            _fill(ET.SubElement(element, item or CHILD.get(root, "item")), entry)
    else:
        _fill(element, body)
    return ET.tostring(element, encoding="UTF-8", xml_declaration=True)
