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


def test_sample_also_writes_a_journal_and_a_record_described_book(tmp_path, capsys):
    import json

    assert main(["sample", str(tmp_path), "--batch-id", "b-1"]) == 0
    serial = tmp_path / "sample-batch-002"
    assert str(serial) in capsys.readouterr().out
    assert (serial / "records.xml").is_file() and not (serial / "muqtabas").exists()
    assert main(["validate", str(serial), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["is_valid"] and not [p for p in report["problems"]
                                       if p["severity"] != "notice"]
    # A second run keeps the serial sample and still refuses nothing it need not.
    assert main(["sample", str(tmp_path), "--serial-only"]) == 0
