"""The training-throughput benchmark times the model it is asked about."""

import json

from benchmarks.train_throughput import main
from summarizer.model.sizing import count_parameters
from summarizer.paths import REPO_ROOT
from summarizer.training.config import load_run_config


def test_a_training_configs_model_is_timed_against_its_dense_twin(tmp_path):
    config = REPO_ROOT / "configs" / "tiny.toml"
    out = tmp_path / "throughput.json"
    argv = ["--config", str(config), "--input-len", "16", "--target-len", "8", "--repeats", "1"]
    assert main([*argv, "--json", str(out)]) == 0
    runs = {run["model"]: run for run in json.loads(out.read_text())["runs"]}
    trained = load_run_config(config).model_config(320)  # tiny.toml trains a 320-token vocabulary
    assert runs["terraformer"]["parameters"] == count_parameters(trained)
    # parameter-matched, as every dense twin is (within one 8-unit step of d_ff)
    assert abs(runs["dense twin"]["parameters"] / runs["terraformer"]["parameters"] - 1) < 0.01
    assert all(run["seconds_per_step"] > 0 for run in runs.values())
