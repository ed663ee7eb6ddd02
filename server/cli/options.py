"""Options several commands declare the same way."""

from typing import Annotated

import typer

PhaseOpt = Annotated[str, typer.Option("--phase", help="COMPETITION/PHASE, e.g. aim2019/validation")]
PhaseArg = Annotated[str, typer.Argument(help="COMPETITION/PHASE")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts instead of tables")]
ServerOpt = Annotated[str | None, typer.Option(
    "--server", envvar="SRCHALLENGE_ORGANIZER_SERVER",
    help="URL of a remote deployment; without it, commands use this machine's database")]
TokenOpt = Annotated[str | None, typer.Option(
    "--token", envvar="SRCHALLENGE_ORGANIZER_TOKEN", help="organizer token (sro_…) for --server")]
