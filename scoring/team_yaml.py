"""Team-written YAML (a code zip's ``submission.yaml``), read so that a small file stays small.

``yaml.safe_load`` shares the node of every alias it meets, so nine nested nine-fold aliases fit in
under a kilobyte and stand for billions of values: cheap to load, but anything that walks the
result (``str()``, ``json.dumps``, a copy) walks them all — the "billion laughs". PyYAML offers no
switch to refuse aliases or cap nodes, and team YAML has no use for them, so this loader (a
SafeLoader that raises at the first alias) is hand-written; the size is checked before parsing.
Its composer recurses once per level of nesting, so a few kilobytes of ``[[[[...`` would end in
RecursionError (a crash, not a reason): nesting is capped too.
"""

import yaml

MAX_TEAM_YAML_BYTES = 64 * 1024
MAX_TEAM_YAML_DEPTH = 32
"""Levels of nested lists and mappings; a submission.yaml needs two."""


class TeamYamlError(yaml.YAMLError):
    """The file is too large or uses aliases; the message is written for the team."""


class _NoAliasLoader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent, index):
        mark = self.peek_event().start_mark
        if self.check_event(yaml.events.AliasEvent):
            raise TeamYamlError(f"aliases (*name) are not allowed (line {mark.line + 1})")
        if self.depth >= MAX_TEAM_YAML_DEPTH:
            raise TeamYamlError(f"lists and mappings nest more than {MAX_TEAM_YAML_DEPTH} levels deep "
                                f"(line {mark.line + 1})")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_team_yaml(data: str | bytes, max_bytes: int = MAX_TEAM_YAML_BYTES):
    """Parse YAML a team wrote: safe tags only, no aliases, at most ``max_bytes`` and
    ``MAX_TEAM_YAML_DEPTH`` levels deep."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        raise TeamYamlError(f"the file is {size:,} bytes; the limit is {max_bytes:,}")
    return yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
