"""Team YAML: aliases refused (the billion laughs), size capped, ordinary files read as before."""

import pytest

from scoring.team_yaml import TeamYamlError, load_team_yaml


def alias_bomb(depth: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth + 1)]
    return "\n".join(lines) + f"\ntracks: *a{depth}\n"


def test_an_alias_bomb_is_refused_before_it_expands():
    bomb = alias_bomb(8)
    assert len(bomb) < 1000
    with pytest.raises(TeamYamlError, match="aliases"):
        load_team_yaml(bomb)


def test_oversized_files_are_refused_and_plain_ones_read():
    with pytest.raises(TeamYamlError, match="limit"):
        load_team_yaml("description: " + "x" * 70_000)
    assert load_team_yaml("data_range: 255\ntracks: [params, psnr]\nanchor: &a 1\n") == {
        "data_range": 255, "tracks": ["params", "psnr"], "anchor": 1}
