"""`python -m summarizer export`: checkpoint averaging, half precision, generation defaults."""

import torch
from safetensors import safe_open

from summarizer.api import Summarizer
from summarizer.cli import main
from summarizer.model.modeling import TerraformerForConditionalGeneration
from summarizer.paths import MEASUREMENTS
from summarizer.salience import SalienceModel
from tests.model_fixtures import save_tiny_model


def fake_run(tmp_path):
    """A training folder with two checkpoints whose weights differ."""
    first = save_tiny_model(tmp_path / "run" / "checkpoints" / "step-0000010")
    second = tmp_path / "run" / "checkpoints" / "step-0000020"
    model = TerraformerForConditionalGeneration.from_pretrained(first)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    model.save_pretrained(second)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (second / name).write_bytes((first / name).read_bytes())
    return tmp_path / "run", first, second


def test_export_averages_casts_and_sets_defaults(tmp_path):
    run, first, second = fake_run(tmp_path)
    out = tmp_path / "shipped"
    argv = ["export", "--run", str(run), "--out", str(out), "--average", "2", "--num-beams", "3"]
    assert main(argv) == 0
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        names = list(f.keys())
        assert names and all(f.get_tensor(k).dtype == torch.bfloat16 for k in names)
    shipped = TerraformerForConditionalGeneration.from_pretrained(out, dtype=torch.float32)
    a = TerraformerForConditionalGeneration.from_pretrained(first).state_dict()
    b = TerraformerForConditionalGeneration.from_pretrained(second).state_dict()
    for name, value in shipped.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (a[name] + b[name]) / 2, atol=2e-2, rtol=1e-2)
    summarizer = Summarizer.from_pretrained(out)
    assert summarizer.defaults.num_beams == 3 and summarizer.defaults.no_repeat_ngram_size == 3
    assert summarizer.max_input_tokens == 96
    assert summarizer.defaults.length == "medium" and summarizer.defaults.min_new_tokens == 0


def test_export_decoding_defaults_reach_the_summarizer(tmp_path):
    run, _, _ = fake_run(tmp_path)
    out = tmp_path / "shipped"
    argv = ["export", "--run", str(run), "--out", str(out), "--num-beams", "1",
            "--max-new-tokens", "256", "--min-new-tokens", "40",
            "--repetition-penalty", "1.2"]  # fmt: skip
    assert main(argv) == 0
    defaults = Summarizer.from_pretrained(out).defaults
    assert defaults.length == "long" and defaults.max_new_tokens == 256  # 256 is a named length
    assert defaults.min_new_tokens == 40 and defaults.repetition_penalty == 1.2
    for bad in (["--min-new-tokens", "999"], ["--repetition-penalty", "0.5"]):
        assert main(["export", "--run", str(run), "--out", str(out), *bad]) == 2


def test_reexport_keeps_the_model_card_and_takes_the_newest(tmp_path):
    run, _, second = fake_run(tmp_path)
    out = tmp_path / "shipped"
    assert main(["export", "--run", str(run), "--out", str(out), "--dtype", "float32"]) == 0
    (out / "MODEL_CARD.md").write_text("card")
    for measured in MEASUREMENTS:  # of the weights being replaced: they must not label the new
        (out / measured).write_text('{"gap": 2.0, "share": 0.9}')
    assert main(["export", "--run", str(run), "--out", str(out), "--dtype", "float32"]) == 0
    assert (out / "MODEL_CARD.md").read_text() == "card"
    assert not any((out / measured).exists() for measured in MEASUREMENTS)
    shipped = TerraformerForConditionalGeneration.from_pretrained(out).state_dict()
    newest = TerraformerForConditionalGeneration.from_pretrained(second).state_dict()
    assert all(torch.equal(shipped[k], newest[k]) for k in newest)


def test_export_without_checkpoints_is_a_usage_error(tmp_path, capsys):
    assert main(["export", "--run", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "No checkpoints" in capsys.readouterr().err


def test_export_can_make_extractive_the_default_mode(tmp_path, capsys):
    run, _, _ = fake_run(tmp_path)
    out = tmp_path / "shipped"
    argv = ["export", "--run", str(run), "--out", str(out), "--mode", "extractive"]
    assert main(argv) == 2  # no salience model in --out yet
    assert "salience" in capsys.readouterr().err
    SalienceModel().save(out)
    assert main(argv) == 0
    summarizer = Summarizer.from_pretrained(out)
    assert summarizer.defaults.mode == "extractive" and summarizer.salience is not None
    assert main([*argv[:-1], "abstractive"]) == 0  # re-export keeps the salience model
    summarizer = Summarizer.from_pretrained(out)
    assert summarizer.defaults.mode == "abstractive" and summarizer.salience is not None


def test_export_makes_rewritten_the_default_only_beside_a_rewriter(tmp_path, capsys):
    from summarizer.paths import REWRITER_DIR

    run, _, _ = fake_run(tmp_path)
    out = tmp_path / "shipped"
    argv = ["export", "--run", str(run), "--out", str(out), "--mode", "rewritten"]
    SalienceModel().save(out)
    assert main(argv) == 2
    assert "no sentence rewriter" in capsys.readouterr().err
    assert main(["export", "--run", str(run), "--out", str(out / REWRITER_DIR)]) == 0
    assert main(argv) == 0
    summarizer = Summarizer.from_pretrained(out)
    assert summarizer.defaults.mode == "rewritten" and summarizer.rewriter is not None
