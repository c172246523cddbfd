"""The README's first command, on a smoke budget: every stage runs and writes its products."""

from qec_gym.cli import main


def test_demo_smoke_end_to_end(tmp_path, capsys):
    assert main(["demo", "--smoke", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for stage in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]", "tensorboard --logdir"):
        assert stage in out
    report = (tmp_path / "report" / "report.md").read_text()
    for policy in ("ppo", "tree", "best_fixed", "threshold", "oracle", "clairvoyant"):
        assert policy in report
    assert (tmp_path / "qec_report" / "report.md").exists()
    assert any((tmp_path / "ppo" / "tb").iterdir())
    # re-running resumes: nothing is retrained or re-evaluated
    assert main(["demo", "--smoke", "--out", str(tmp_path)]) == 0
    assert "PPO already trained" in capsys.readouterr().out
