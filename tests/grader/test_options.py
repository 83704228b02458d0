"""A grading run's settings are declared once (grader.options.GradingOptions): the command line is made from them,
they are checked where they are made, and a cell's timeout is applied as given, to the fraction of a second."""

import argparse
import dataclasses

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader import cli, grade
from grader.options import GradingOptions, add_arguments, from_arguments
from grader.preprocessors.execute_submission import TIMEOUT_ENAME, ExecuteSubmission
from grader.state import GradingState


def parsed(*argv: str) -> GradingOptions:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = vars(parser.parse_args(list(argv)))
    options = from_arguments(args)
    assert args == {}, "every parsed argument is an option"
    return options


def test_the_command_line_is_made_from_the_options_with_their_defaults_and_help():
    assert parsed() == GradingOptions()
    grade_parser = cli.build_parser()._subparsers._group_actions[0].choices["grade"]
    helps = {a.dest: a.help for a in grade_parser._actions}
    for f in dataclasses.fields(GradingOptions):
        assert f.metadata["help"], f"{f.name} has no help text"
        assert helps.get(f.name) == f.metadata["help"], f"grader grade has no option for {f.name}"


def test_options_parse_as_their_fields_say():
    o = parsed("--timeout", "0.5", "--memory", "2G", "--no-sandbox", "--due", "ps1=2026-01-10 17:00", "--due",
               "2026-02-01", "--tmp-size", "64M", "--workers", "3", "--no-stderr-fails")
    assert (o.timeout, o.memory, o.sandbox, o.due, o.tmp_bytes, o.workers, o.stderr_fails) == \
        (0.5, 2 * 2**30, False, ("ps1=2026-01-10 17:00", "2026-02-01"), 64 * 2**20, 3, False)
    assert parsed("--stderr-fails").stderr_fails is True and parsed().stderr_fails is None


def test_the_budget_is_at_least_one_cells_time_and_bad_values_are_refused():
    assert GradingOptions(timeout=900, budget=600).budget == 900
    assert GradingOptions(timeout=30).replace(budget=100).budget == 100
    for bad in ({"timeout": 0}, {"timeout": -1}, {"engines": 0}, {"workers": 0}, {"network": "wifi"}):
        with pytest.raises(ValueError):
            GradingOptions(**bad)
    with pytest.raises(dataclasses.FrozenInstanceError):
        GradingOptions().timeout = 5


def test_grade_main_says_which_option_is_wrong(tmp_path, capsys):
    assert grade.main(tmp_path, timeout=0) == 2
    assert "--timeout 0" in capsys.readouterr().err
    with pytest.raises(TypeError):
        grade.main(tmp_path, no_such_option=1)


def test_a_fraction_of_a_second_is_a_timeout_not_none():
    """--timeout 0.5 once became int(0.5) == 0, which nbclient reads as no timeout at all."""
    options = GradingOptions(timeout=0.5)
    nb = new_notebook(cells=[new_code_cell("import time\ntime.sleep(10)"), new_code_cell("print('after')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    step = ExecuteSubmission(cell_timeout=options.timeout, budget=options.budget)
    state = GradingState()
    out, _ = step.preprocess(nbformat.from_dict(nb), {"grader": state, "metadata": {"path": "."}})
    reply = state.replies[0]
    assert (reply.ename, reply.evalue) == (TIMEOUT_ENAME, "the cell ran longer than 0.5 s")
    assert out.cells[1].outputs[0].text == "after\n"
