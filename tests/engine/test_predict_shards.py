"""Sharded, streamed, resumable prediction: 2 gloo ranks give a single process's bytes; failures are named."""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import time
from pathlib import Path

import cv2
import pytest
import torch.multiprocessing as mp

from cocoseg.cli.main import main
from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.engine.distributed import DistContext
from cocoseg.engine.predict_run import PredictOutputs, run_prediction
from cocoseg.engine.predict_shards import shard_dir, shard_path
from cocoseg.engine.predictor import Predictor
from cocoseg.errors import CocosegError

_spec = importlib.util.spec_from_file_location("predict_helpers", Path(__file__).with_name("test_predict.py"))
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)
KW = dict(imgsz=160, conf=0.3, threads=1, device="cpu")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return str(save_checkpoint(tmp_path_factory.mktemp("w") / "tiny.pt", helpers.calibrated_model()))


@pytest.fixture
def pool(tmp_path):
    """5 images (one of them a corrupt JPEG in the middle): names with integer stems and without."""
    folder = tmp_path / "pool"
    folder.mkdir()
    images = helpers.synthetic_images()
    for name, img in zip(["000000000007.png", "a.png", "b.png", "c.png"], [*images, images[0][::-1].copy()]):
        cv2.imwrite(str(folder / name), img)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    return folder


def _single(weights, pool, save_coco, **out):
    return run_prediction(Predictor(weights, **KW), pool, PredictOutputs(save_coco=str(save_coco), **out), DistContext())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, weights: str, pool: str, out_dir: str, failure: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch

    torch.set_num_threads(1)
    predictor = Predictor(weights, **KW)
    if rank == 1 and failure:
        def broken(frames):
            if failure == "die":
                os._exit(3)  # a rank killed mid-run: no message, no barrier
            raise RuntimeError("out of memory (simulated)")
        predictor.predict_frames = broken
    ctx = DistContext(rank, rank, world)
    try:
        for mode in ("results", "dataset"):
            out = PredictOutputs(save_coco=str(Path(out_dir) / f"ddp_{mode}.json"), as_dataset=mode == "dataset",
                                 timeout=4 if failure == "die" else 60)
            run_prediction(predictor, pool, out, ctx)
    except CocosegError as exc:
        (Path(out_dir) / f"error{rank}.txt").write_text(str(exc))
    finally:  # as cli/predict does: gloo's threads alive at exit may abort the process
        ctx.close()


def _launch(weights, pool, out_dir, failure=""):
    ctx = mp.start_processes(_worker, args=(2, _free_port(), weights, str(pool), str(out_dir), failure), nprocs=2,
                             join=False, start_method="spawn")
    deadline = time.time() + 120  # bounded: a hang fails the test instead of the suite
    for proc in ctx.processes:
        proc.join(max(1.0, deadline - time.time()))
    if any(proc.is_alive() for proc in ctx.processes):
        for proc in ctx.processes:
            proc.kill()
        pytest.fail("the 2-process prediction did not finish in 120 s")
    return [proc.exitcode for proc in ctx.processes]


def test_two_gloo_ranks_write_the_single_process_bytes(weights, pool, tmp_path):
    _single(weights, pool, tmp_path / "one_results.json")
    _single(weights, pool, tmp_path / "one_dataset.json", as_dataset=True)
    assert _launch(weights, pool, tmp_path) == [0, 0]
    assert not list(tmp_path.glob("error*.txt"))
    for mode in ("results", "dataset"):
        single, ddp = tmp_path / f"one_{mode}.json", tmp_path / f"ddp_{mode}.json"
        assert ddp.read_bytes() == single.read_bytes(), mode
        assert not shard_dir(ddp).exists()  # merged, then cleaned up
    records = json.loads((tmp_path / "one_results.json").read_text())
    assert records and {r["image_id"] for r in records} <= {1, 2, 3, 7}  # 000000000007.png keeps its id
    dataset = json.loads((tmp_path / "one_dataset.json").read_text())
    assert [img["file_name"] for img in dataset["images"]] == ["000000000007.png", "a.png", "b.png", "c.png"]
    assert [a["id"] for a in dataset["annotations"]] == list(range(1, len(dataset["annotations"]) + 1))


def test_a_failed_or_dead_rank_is_named_not_waited_for(weights, pool, tmp_path):
    assert _launch(weights, pool, tmp_path / "raise", "raise") == [0, 0]
    for rank in (0, 1):  # both ranks stop with the failing rank's message
        assert "rank 1: RuntimeError: out of memory (simulated)" in (tmp_path / "raise" / f"error{rank}.txt").read_text()
    assert not (tmp_path / "raise" / "ddp_results.json").exists()
    start = time.time()
    codes = _launch(weights, pool, tmp_path / "die", "die")
    assert codes[1] == 3 and codes[0] == 0 and time.time() - start < 60
    message = (tmp_path / "die" / "error0.txt").read_text()
    assert "did not all finish within 4 s" in message and "resume=True" in message
    assert message.endswith("unfinished: rank 1")  # rank 0 names the rank whose shard is incomplete


def test_streams_one_line_per_image_and_resumes(weights, pool, tmp_path, caplog):
    reference = tmp_path / "full.json"
    summary = _single(weights, pool, reference)
    assert (summary.images, summary.skipped) == (4, 1)  # the corrupt JPEG is reported and skipped
    assert "broken.jpg: cannot read image" in caplog.text

    target = tmp_path / "part.json"
    predictor = Predictor(weights, **KW)
    stream, seen = predictor.stream, []

    def interrupted(*args, **kwargs):
        for n, result in enumerate(stream(*args, **kwargs)):
            # each earlier image is on disk before the next one is predicted: nothing accumulates
            lines = shard_path(target, 0, 1).read_text().splitlines()
            seen.append(len(lines) - 1)
            if n == 2:
                raise KeyboardInterrupt
            yield result

    predictor.stream = interrupted
    with pytest.raises(KeyboardInterrupt):
        run_prediction(predictor, pool, PredictOutputs(save_coco=str(target)), DistContext())
    assert seen == [0, 1, 2]  # 000000000007, a, b (sorted: b.png, broken.jpg, c.png)
    assert not target.exists()
    with open(shard_path(target, 0, 1), "a") as fh:
        fh.write('{"i": 4, "path": "torn')  # killed in the middle of a line

    resumed = Predictor(weights, **KW)
    calls = []
    forward = resumed.predict_frames
    resumed.predict_frames = lambda frames: calls.append([f.path for f in frames]) or forward(frames)
    summary = run_prediction(resumed, pool, PredictOutputs(save_coco=str(target), resume=True), DistContext())
    assert [Path(c[0]).name for c in calls] == ["b.png", "c.png"] and summary.resumed == 2
    assert target.read_bytes() == reference.read_bytes()


def test_resume_refuses_another_plan_and_cli_skips_bad_files(weights, pool, tmp_path):
    target = tmp_path / "r.json"
    shard = shard_path(target, 0, 1)
    shard.parent.mkdir()
    shard.write_text('{"cocoseg_shard":1,"rank":0,"world":1,"items":9}\n')
    with pytest.raises(CocosegError, match="written by another plan"):
        _single(weights, pool, target, resume=True)
    out = tmp_path / "cli.json"
    assert main(["predict", f"model={weights}", f"source={pool}", "imgsz=160", "conf=0.3", "threads=1",
                 f"save_coco={out}"]) == 0
    assert json.loads(out.read_text())
