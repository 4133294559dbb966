"""One guarded YAML reader for case files and matrices: a document people hand to a CI job must not be
able to make the harness grow without bound. Before anything is constructed the event stream is checked:
size, nesting depth and node count are bounded and aliases are refused (an alias bomb of nine nested
lists of nine grows to 9⁹ nodes from a few hundred bytes)."""

from __future__ import annotations

MAX_BYTES = 4 << 20
MAX_DEPTH = 64
MAX_NODES = 200_000


class YAMLRefused(ValueError):
    """A document the guard refuses; the message is one line."""


def check_yaml(text: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
               max_nodes: int = MAX_NODES) -> None:
    """Raise YAMLRefused when `text` is too large, too deep, too many nodes, or uses aliases."""
    import yaml

    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise YAMLRefused(f"larger than {max_bytes} bytes")
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise YAMLRefused(f"aliases (*{event.anchor}) are not accepted")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > max_depth:
                raise YAMLRefused(f"nested deeper than {max_depth}")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                raise YAMLRefused(f"more than {max_nodes} nodes")


def load_yaml(text: str, loader=None):
    """check_yaml, then the document (yaml.SafeLoader or `loader`); YAMLError propagates."""
    import yaml

    check_yaml(text)
    return yaml.load(text, Loader=loader or yaml.SafeLoader)
