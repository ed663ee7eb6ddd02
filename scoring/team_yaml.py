"""Team-written YAML (a code zip's ``submission.yaml``), read so that a small file stays small.

``yaml.safe_load`` shares the node of every alias it meets, so nine nested nine-fold aliases fit in
under a kilobyte and stand for billions of values: cheap to load, but anything that walks the
result (``str()``, ``json.dumps``, a copy) walks them all — the "billion laughs". PyYAML offers no
switch to refuse aliases or cap nodes, and team YAML has no use for them, so this loader (a
SafeLoader that raises at the first alias) is hand-written; the size is checked before parsing.
"""

import yaml

MAX_TEAM_YAML_BYTES = 64 * 1024


class TeamYamlError(yaml.YAMLError):
    """The file is too large or uses aliases; the message is written for the team."""


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise TeamYamlError(f"aliases (*name) are not allowed (line {mark.line + 1})")
        return super().compose_node(parent, index)


def load_team_yaml(data: str | bytes, max_bytes: int = MAX_TEAM_YAML_BYTES):
    """Parse YAML a team wrote: safe tags only, no aliases, at most ``max_bytes``."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        raise TeamYamlError(f"the file is {size:,} bytes; the limit is {max_bytes:,}")
    return yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
