"""The `cadl` front door: sample generation and its usage errors."""

from cadl.cli import main


def test_sample_writes_batch_and_ground_truth_beside_it(tmp_path, capsys):
    assert main(["sample", str(tmp_path), "--batch-id", "b-1"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "b-1") in out
    assert (tmp_path / "b-1" / "READY").exists()
    assert (tmp_path / "b-1.ground-truth").is_dir()
    assert not (tmp_path / "b-1" / "ground-truth").exists()
    assert main(["validate", str(tmp_path / "b-1")]) == 0


def test_sample_refuses_to_overwrite_a_batch(tmp_path, capsys):
    (tmp_path / "b-1").mkdir()
    assert main(["sample", str(tmp_path), "--batch-id", "b-1"]) == 2
    assert "remove it or pick another --batch-id" in capsys.readouterr().err
