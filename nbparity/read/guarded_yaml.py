"""One guarded YAML reader for case files and matrices: a document people hand to a CI job must not be
able to make the harness grow without bound. Before anything is constructed the event stream is checked:
size, nesting depth and the node count with aliases expanded are bounded (an alias bomb of nine nested
lists of nine grows to 9⁹ nodes from a few hundred bytes; a matrix's ordinary `*exact` alias is fine)."""

from __future__ import annotations

MAX_BYTES = 4 << 20
MAX_DEPTH = 64
MAX_NODES = 200_000


class YAMLRefused(ValueError):
    """A document the guard refuses; the message is one line."""


def check_yaml(text: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
               max_nodes: int = MAX_NODES) -> None:
    """Raise YAMLRefused when `text` is too large, too deep, or has too many nodes once its aliases are
    expanded (an alias counts as the whole subtree it stands for, so a bomb is refused from its events)."""
    import yaml

    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise YAMLRefused(f"larger than {max_bytes} bytes")
    nodes, open_nodes, size = 0, [], {}   # open_nodes: (anchor, nodes when it started)
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            nodes += size.get(event.anchor, 1)
        elif isinstance(event, yaml.NodeEvent):
            nodes += 1
            if isinstance(event, yaml.CollectionStartEvent):
                open_nodes.append((event.anchor, nodes - 1))
                if len(open_nodes) > max_depth:
                    raise YAMLRefused(f"nested deeper than {max_depth}")
            elif event.anchor is not None:
                size[event.anchor] = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, start = open_nodes.pop()
            if anchor is not None:
                size[anchor] = nodes - start
        if nodes > max_nodes:
            raise YAMLRefused(f"more than {max_nodes} nodes once its aliases are expanded")


def load_yaml(text: str, loader=None):
    """check_yaml, then the document (yaml.SafeLoader or `loader`); YAMLError propagates."""
    import yaml

    check_yaml(text)
    return yaml.load(text, Loader=loader or yaml.SafeLoader)
