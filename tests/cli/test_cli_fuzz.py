"""Every option of every ``qec-gym`` command, fed bad values, ends in one line naming the option.

The table of bad values is derived from each option's validator (its range, its kind), so an
option added later is fuzzed too; an option without a validator fails `test_every_option_is_validated`.
"""

from __future__ import annotations

import argparse

import pytest

from qec_gym import cli
from qec_gym.cli import build_parser, main

# Minimal valid arguments of each command (its required options); the option under test replaces its own.
BASE = {
    ("simulate",): [],
    ("demo",): [],
    ("train",): [],
    ("tune",): ["--trials", "1", "--timesteps", "1", "--out", "t"],
    ("eval",): [],
    ("sweep",): ["-d", "3", "-p", "0.01", "--out", "x.csv"],
    ("dataset",): ["--episodes", "1", "--out", "x.csv"],
    ("tree",): ["--dataset", "d.csv", "--out", "t.joblib"],
    ("bosonic", "table"): [],
    ("bosonic", "show"): ["--nbar", "4", "--k1", "1e-3"],
    ("report",): ["--out", "r"],
    ("bench",): [],
    ("ingest",): ["events.b8", "--format", "b8"],
    ("monitor",): ["--replay", "events.b8", "--format", "b8"],
}
# Options whose empty value means something ("" = no reference policy / no oracle).
FREE_TEXT = {(("report",), "--reference"), (("report",), "--oracle")}
COMMON_BAD = ["", "   "]


def _commands(parser: argparse.ArgumentParser, prefix=()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _commands(sub, (*prefix, name))


def _options():
    for cmd, parser in _commands(build_parser()):
        for action in parser._actions:
            if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._HelpAction):
                yield cmd, action


def _bad_values(action: argparse.Action) -> list[str]:
    t = action.type
    if action.choices is not None:
        return ["no-such-choice", *COMMON_BAD]
    if isinstance(t, cli._Number):
        r = t.range
        bad = ["abc", "nan", "inf", "-inf", "1e400", "0x10", *COMMON_BAD]
        if r.kind == "int":
            bad.append(f"{(r.low or 0) + 0.5}")
        if r.low is not None:
            bad.append(f"{r.low:g}" if r.low_open else f"{r.low - 1:g}")
        bad.append(f"{r.high * 10:g}" if r.high is not None else "1e30")
        return bad
    if t is cli._rounds_spec:
        return ["0", "-1", "0d", "abc", "nan", "2.5", *COMMON_BAD]
    if t is cli._existing_file:
        return ["/no/such/file.yml", *COMMON_BAD]
    if t is cli._env_id:
        return ["NoSuchEnv-v0", "qec_gym/NoSuchEnv-v0", *COMMON_BAD]
    if getattr(t, "__name__", "") in ("code family", "decoder", "noise model"):
        return ["no-such-name", *COMMON_BAD]
    if t is cli._text:
        return COMMON_BAD
    raise AssertionError(f"no bad values known for {action.option_strings} (type {t!r})")


def _argv(cmd, action, value):
    base = list(BASE[cmd])
    for opt in action.option_strings:  # drop the option's own valid value from the base
        if opt in base:
            i = base.index(opt)
            del base[i : i + 2]
    long = max(action.option_strings, key=len)
    # --opt=value keeps values such as "-inf" from reading as an option
    arg = [f"{long}={value}"] if long.startswith("--") else [long, value] if value else [long]
    return [*cmd, *base, *arg]


def test_every_command_is_fuzzed():
    assert set(BASE) == {cmd for cmd, _ in _commands(build_parser())}


def test_every_option_is_validated():
    unvalidated = [(cmd, a.option_strings) for cmd, a in _options()
                   if a.type is None and a.choices is None and (cmd, max(a.option_strings, key=len)) not in FREE_TEXT]
    assert not unvalidated, f"options without a type= validator or choices: {unvalidated}"


CASES = [(cmd, action, v) for cmd, action in _options() if (cmd, max(action.option_strings, key=len)) not in FREE_TEXT
         for v in _bad_values(action)]


@pytest.mark.parametrize(("cmd", "action", "value"), CASES,
                         ids=[f"{' '.join(c)} {max(a.option_strings, key=len)}={v!r}" for c, a, v in CASES])
def test_bad_value_is_one_line_naming_the_option(cmd, action, value, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing a parse error could write lands in the repository
    rc = main(_argv(cmd, action, value))
    out, err = capsys.readouterr()
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert any(opt in lines[0] for opt in action.option_strings), lines[0]
    assert lines[0].startswith(f"qec-gym {' '.join(cmd)}: error: ")
    assert out == ""
    assert not any(tmp_path.iterdir())


def test_example_messages_name_the_range(capsys):
    assert main(["simulate", "--shots", "-5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "qec-gym simulate: error: argument --shots: must be an integer in [1, 1000000000], got '-5' "
        "(see qec-gym simulate --help)")
    assert main(["dataset", "--episodes", "1", "--out", "x.csv", "--max-steps", "0"]) == 2
    assert "argument --max-steps: must be an integer in [1, 10000000], got '0'" in capsys.readouterr().err
    assert main(["eval", "--env", "qec_gym/NoSuchEnv-v0"]) == 2
    err = capsys.readouterr().err
    assert "unknown env id 'qec_gym/NoSuchEnv-v0'" in err and "qec_gym/SurfaceSwitch-v" in err


def test_integral_scientific_notation_is_an_int():
    args = build_parser().parse_args(["train", "--timesteps", "1e4", "--seed", "7.0"])
    assert (args.timesteps, args.seed) == (10_000, 7)
    assert isinstance(args.timesteps, int)


def test_unknown_command_and_missing_arguments_are_one_line(capsys):
    for argv in (["nope"], [], ["sweep"], ["bosonic"], ["simulate", "--no-such-option"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)
