import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(capsys):
    from vaetools.demo import main

    main(["--dataset", "penguins"])
    out = capsys.readouterr().out
    assert "VAEImputer" in out and "MissForest-like" in out and "VAECompressor, bound 1% of range" in out
    assert "NOT exact" not in out
