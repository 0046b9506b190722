"""XMPP stanzas over a websocket (RFC 7395): one frame, one element; parsed safely, written plainly.

Parsing. Each frame is parsed on its own by a fresh expat parser that refuses what XMPP forbids
(RFC 6120 §11.1): a DOCTYPE (so no DTD and no entity declaration), comments, processing
instructions, and any entity reference but the five predefined ones. Python 3.14's expat already
refuses billion laughs and external entities, but it accepts a DTD and expands its internal
entities; refusing the DOCTYPE refuses them all. A small expat parser was chosen over defusedxml
(0.7.1, unmaintained since 2021, and a dependency Home Assistant does not already carry): the
rules above are five handlers, and expat is the standard library's.

Writing. Elements are ``xml.etree.ElementTree`` elements with ``{namespace}name`` tags; each is
written with a default ``xmlns`` wherever its namespace differs from its parent's, as XMPP
servers expect (ElementTree's own writer would invent ``ns0:`` prefixes).
"""

from collections.abc import Callable
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from ..exceptions import GenesysError

MAX_FRAME_CHARS = 1 << 20
MAX_DEPTH = 32
_XML_NS = "http://www.w3.org/XML/1998/namespace"


class StanzaError(GenesysError):
    """A frame that is not one well-formed, XMPP-legal element."""


def _forbidden(what: str) -> StanzaError:
    return StanzaError(f"XMPP forbids {what}")


def _clark(name: str) -> str:
    """expat's ``namespace}local`` as ElementTree's ``{namespace}local``."""
    namespace, separator, local = name.rpartition("}")
    return f"{{{namespace}}}{local}" if separator else name


def parse_frame(text: str) -> Element:
    """The one element a websocket frame carries; raises ``StanzaError`` for anything else."""
    if len(text) > MAX_FRAME_CHARS:
        raise StanzaError("the frame is too large")
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise StanzaError("the element is nested too deeply")
        builder.start(_clark(name), {_clark(key): value for key, value in attributes.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_clark(name))

    def refuse(what: str) -> Callable[..., None]:
        def handler(*_: object) -> None:
            raise _forbidden(what)

        return handler

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse("a DOCTYPE")
    parser.EntityDeclHandler = refuse("entity declarations")
    parser.CommentHandler = refuse("comments")
    parser.ProcessingInstructionHandler = refuse("processing instructions")
    parser.SkippedEntityHandler = refuse("entity references")
    parser.ExternalEntityRefHandler = refuse("external entities")  # type: ignore[assignment]
    try:
        parser.Parse(text, True)
        return builder.close()
    except expat.ExpatError as err:
        reason = expat.ErrorString(err.code)
        raise StanzaError(f"the frame is not well-formed XML ({reason})") from err


def namespace_of(element: Element) -> str:
    """The element's namespace ('' when it has none)."""
    tag = element.tag
    return tag[1 : tag.index("}")] if tag.startswith("{") else ""


def local_name(element: Element) -> str:
    """The element's name without its namespace."""
    return element.tag.rpartition("}")[2]


def child(element: Element, namespace: str, name: str) -> Element | None:
    """The first child ``name`` in ``namespace``."""
    return element.find(f"{{{namespace}}}{name}")


def build(
    namespace: str,
    name: str,
    attributes: dict[str, str] | None = None,
    *children: Element,
    text: str | None = None,
) -> Element:
    """A new element ``{namespace}name`` (attributes whose value is empty are left out)."""
    element = Element(f"{{{namespace}}}{name}", {k: v for k, v in (attributes or {}).items() if v})
    element.extend(children)
    element.text = text
    return element


def serialize(element: Element, parent_namespace: str | None = None) -> str:
    """The element as XML text, declaring each namespace where it changes."""
    namespace, name = namespace_of(element), local_name(element)
    parts = [f"<{name}"]
    if namespace != (parent_namespace or ""):
        parts.append(f" xmlns={quoteattr(namespace)}")
    for key, value in element.attrib.items():
        attribute = key.rpartition("}")[2]
        if key.startswith(f"{{{_XML_NS}}}"):
            attribute = f"xml:{attribute}"
        parts.append(f" {attribute}={quoteattr(value)}")
    inner = escape(element.text or "") + "".join(serialize(c, namespace) for c in element)
    parts.append(f">{inner}</{name}>" if inner else "/>")
    return "".join(parts)
