import subprocess
import sys
from pathlib import Path

import datasets

from skill3d_eval.synth.consistency import check_dataset

CLI = str(Path(sys.executable).parent / "skill3d-eval")


def test_synth_generate_from_the_command_line(tmp_path):
    out = tmp_path / "synth"
    completed = subprocess.run([CLI, "synth", "generate", "--out", str(out), "--scenes", "3", "--seed", "5"], capture_output=True, text=True, check=True)
    assert "spatial_synth written to" in completed.stdout
    splits = datasets.load_dataset("parquet", data_files={s: str(out / "data" / f"{s}.parquet") for s in ("train", "test")})
    assert len(splits["train"]) > 0 and len(splits["test"]) > 0
    assert check_dataset(out) == []


def test_unknown_subcommand_is_an_error():
    completed = subprocess.run([CLI, "teleport"], capture_output=True, text=True)
    assert completed.returncode == 2 and "invalid choice" in completed.stderr
