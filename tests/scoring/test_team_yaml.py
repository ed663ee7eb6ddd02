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


@pytest.mark.parametrize("nested", ["tracks: " + "[" * 20_000, "a: " + "{b: " * 5_000 + "1" + "}" * 5_000,
                                    "".join(f"{' ' * i}k:\n" for i in range(300))],
                         ids=["20,000 [", "5,000 {", "300 indented keys"])
def test_deep_nesting_is_refused_with_a_reason(nested):
    """A few kilobytes of nesting raised RecursionError: a 500 at upload, a platform failure in the worker."""
    with pytest.raises(TeamYamlError, match="nest more than 32 levels deep"):
        load_team_yaml(nested)


def test_nesting_up_to_the_limit_is_read():
    lists = []
    for _ in range(30):
        lists = [lists]
    assert load_team_yaml("a: " + "[" * 31 + "]" * 31) == {"a": lists}
