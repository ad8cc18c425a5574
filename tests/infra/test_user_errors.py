"""poseaug_tf/infra/user_errors.py: one line and exit code 1 for a user error; other errors pass through."""

from __future__ import annotations

import pytest
from absl import flags

from poseaug_tf.infra import user_errors


def test_one_line_joins_the_lines_of_a_message():
    assert user_errors.one_line(ValueError("failed:\n  float16: too far\n\n  int8: too far")) == (
        "failed: float16: too far; int8: too far"
    )


def test_an_input_error_becomes_one_line_and_exit_code_1(capsys):
    with pytest.raises(SystemExit) as exit_:
        with user_errors.exit_on_input_error("tool"):
            raise user_errors.InputError("dets.json: frame 3: expected a number;\nreceived 'x'.")
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "tool: error: dets.json: frame 3: expected a number;; received 'x'.\n"


def test_listed_errors_too_but_not_others(capsys):
    with pytest.raises(SystemExit):
        with user_errors.exit_on_input_error("tool", also=(RuntimeError,)):
            raise RuntimeError("verification failed")
    assert capsys.readouterr().err == "tool: error: verification failed\n"
    with pytest.raises(KeyError):  # a bug keeps its traceback
        with user_errors.exit_on_input_error("tool"):
            raise KeyError("x")


def test_a_malformed_flag_is_one_line(capsys):
    values = flags.FlagValues()
    flags.DEFINE_integer("epochs", 1, "", lower_bound=1, flag_values=values)
    parse = user_errors.absl_flags_parser("tool")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flags, "FLAGS", values)
        with pytest.raises(SystemExit) as exit_:
            parse(["tool", "--epochs=0"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.startswith("tool: error: flag --epochs=0: ")
