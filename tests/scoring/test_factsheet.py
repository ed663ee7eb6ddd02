"""Self-reported figures from NTIRE/AIM readme.txt files as teams actually write them."""

import pytest

from scoring.errors import SubmissionError
from scoring.factsheet import Factsheet, parse_factsheet

NTIRE_README = """Runtime per image [s] : 0.10
Parameters : 1517571
CPU[1] / GPU[0] : 0
Extra Data [1] / No Extra Data [0] : 1
Other description : MSRResNet trained on DIV2K and Flickr2K.
"""


def test_the_ntire_template():
    assert parse_factsheet(NTIRE_README) == Factsheet(
        params=1_517_571,
        runtime=0.10,
        uses_gpu=True,
        extra_data=True,
        description="MSRResNet trained on DIV2K and Flickr2K.",
    )


def test_case_spacing_and_bracket_hints_do_not_matter():
    readme = (
        "  runtime PER image(s):0.039\r\n"
        "NUMBER OF PARAMETERS  :  893,936\r\n"
        "Running time of MSRResNet [s] : 0.091\r\n"
        "cpu [1]/gpu [0] : 1\r\n"
        "extra data[1] / no extra data[0]: No\r\n"
        "GPU : RTX 2080Ti\r\n"
    )
    sheet = parse_factsheet(readme)
    assert (sheet.params, sheet.runtime, sheet.runtime_baseline) == (893_936, 0.039, 0.091)
    assert (sheet.uses_gpu, sheet.extra_data, sheet.gpu) == (False, False, "RTX 2080Ti")


def test_the_baseline_runtime_key_follows_the_baseline_name():
    sheet = parse_factsheet("Runtime of RLFN [s] : 0.2\nRuntime [s] : 0.1\n", baseline_name="RLFN")
    assert (sheet.runtime, sheet.runtime_baseline) == (0.1, 0.2)
    assert parse_factsheet("Baseline runtime : 0.13\n").runtime_baseline == 0.13


def test_milliseconds_from_the_value_or_the_key():
    assert parse_factsheet("Runtime per image : 45 ms\n").runtime == pytest.approx(0.045)
    assert parse_factsheet("Runtime per image [ms] : 45\n").runtime == pytest.approx(0.045)
    assert parse_factsheet("Runtime per image : 0.05s\n").runtime == 0.05


def test_a_description_runs_over_lines_and_may_mention_times():
    readme = NTIRE_README + "Training time: 2 days on 8 GPUs.\nNo ensembles.\n"
    assert parse_factsheet(readme).description == (
        "MSRResNet trained on DIV2K and Flickr2K.\nTraining time: 2 days on 8 GPUs.\nNo ensembles."
    )


def test_figures_after_the_description_are_still_read():
    sheet = parse_factsheet("Other description : small net\nmore text\nParameters : 12\n")
    assert (sheet.description, sheet.params) == ("small net\nmore text", 12)


def test_missing_blank_and_unknown_keys():
    sheet = parse_factsheet("Team : rainbow\nParameters :\nHyper-parameters : lr=1e-4\nfree text\n")
    assert sheet == Factsheet()


def test_bytes_with_bom_or_latin_1():
    assert parse_factsheet("\ufeffParameters : 7\n".encode("utf-8")).params == 7
    assert parse_factsheet("Other description : réseau\n".encode("latin-1")).description == "réseau"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Parameters : 1.5M", '"Parameters" should be the exact count, like 1517571; got "1.5M"'),
        ("Runtime per image [s] : fast", '"Runtime per image [s]" should be seconds per image, like 0.10; got "fast"'),
        ("Runtime per image [s] : 1.2.3", "should be seconds per image"),
        ("Runtime per image [s] : 0", "must be more than 0 seconds"),
        ("Runtime per image [s] : 1e999", "must be at most 3600 seconds"),
        ("Runtime per image [s] : -0.5", "must be more than 0 seconds"),
        ("Parameters : -5", "should be the exact count"),
        ("Parameters : 99999999999999999999999", "must be from 0 to"),
        ("Parameters : " + "9" * 5000, "must be from 0 to"),
        ("CPU[1] / GPU[0] : maybe", '"CPU[1] / GPU[0]" should be 1 or 0; got "maybe"'),
        ("Extra Data [1] / No Extra Data [0] : 2", "should be 1 or 0"),
    ],
)
def test_unreadable_figures_are_explained_to_the_team(line, message):
    with pytest.raises(SubmissionError, match="readme.txt") as err:
        parse_factsheet(line + "\n")
    assert message in str(err.value)


def test_a_figure_given_twice_is_refused():
    with pytest.raises(SubmissionError, match="gives the parameter count twice"):
        parse_factsheet("Parameters : 1\nNumber of parameters : 2\n")
