"""`cocoseg eval --analysis --plots --out`: the analysis reaches the user through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocoseg.cli.main import main

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cocoapi-val2014-fake100"


def test_eval_cli_analysis_plots_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not DATA.exists():
        pytest.skip(f"{DATA} is absent (../shared is only beside the project in CI and dev)")
    gt = DATA / "annotations" / "instances_val2014_100.json"
    res = DATA / "results" / "instances_val2014_fakebbox100_results.json"
    out = tmp_path / "m.json"
    code = main(["eval", str(gt), str(res), "iou_type=bbox", "analysis=True", "slices=False",
                 f"plots={tmp_path / 'plots'}", f"out={out}", "per_class=False"])
    assert code == 0
    text = capsys.readouterr().out
    assert "= 0.505" in text.splitlines()[0]  # the published bbox AP
    assert "TIDE errors" in text and "Confusion" in text and "Challenge slices" not in text
    payload = json.loads(out.read_text())
    assert payload["stats"][0] == pytest.approx(0.5045806987249628, abs=1e-12)
    assert "errors" in json.dumps(payload["analysis"])
    assert {p.name for p in (tmp_path / "plots").iterdir()} >= {"pr_curve.png", "f1_curve.png", "confusion_matrix.png"}


def test_eval_cli_bad_results_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not DATA.exists():
        pytest.skip(f"{DATA} is absent (../shared is only beside the project in CI and dev)")
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps([{"image_id": 999999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]))
    code = main(["eval", str(DATA / "annotations" / "instances_val2014_100.json"), str(bad)])
    err = capsys.readouterr().err
    assert code == 1 and "999999" in err and "Traceback" not in err
