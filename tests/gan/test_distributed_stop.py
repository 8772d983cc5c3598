"""Under torchrun a stop asked of one process stops all at the same step, and a run folder the main process
cannot make stops every process at once (instead of the others waiting in an all-reduce until the timeout).
A process group the caller made is used and left to the caller."""

import json
import os
import socket
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import torch.distributed as dist
    from vislab.errors import VislabError
    from vislab.gan import train
    from vislab.gan.settings import GanTrainSettings

    out, rank = sys.argv[1], int(os.environ["RANK"])
    dist.init_process_group("gloo")  # the caller's group: both runs use it and leave it (no re-making)
    settings = GanTrainSettings(arch="mlp", data="digits", batch_size=16, noise_dim=8, max_steps=8,
                                eval_samples=0, device="cpu")
    steps = []
    stop = lambda: rank == 0 and len(steps) >= 3  # only the main process is asked to stop
    r = train.run(settings, out + "/run", progress=lambda step, total, **n: steps.append(step), should_stop=stop)
    # the other processes have no progress callback call: count their steps from the result
    result = {"status": r.status, "steps": r.steps}
    try:
        train.run(settings, out + "/taken")  # holds another kind of run: the main process refuses it
        result["second"] = "ran"
    except VislabError as e:
        result["second"] = str(e)
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump(result, f)
    assert dist.is_initialized()
    dist.destroy_process_group()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stop_and_refusal_reach_every_process(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "config.json").write_text('{"kind": "fool", "config": {}}')
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), str(script), str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert [(r["status"], r["steps"]) for r in ranks] == [("cancelled", 3)] * 2
    assert "'fool'" in ranks[0]["second"]
    assert "another process" in ranks[1]["second"]
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "cancelled"
