"""A deeper model started from a trained one (`summarizer.model.growth`) computes what the
trained one computes, through the full forward pass and cached generation."""

import pytest
import torch

from summarizer import TerraformerForConditionalGeneration
from summarizer.model import sizing
from summarizer.model.growth import GrowthError, grow_from
from summarizer.seed import set_seed


def model(dense: bool, **overrides) -> TerraformerForConditionalGeneration:
    # full attention: LSH's hashing of a deeper stack would draw other random rotations
    settings = dict(encoder_attention="full", decoder_attention="full", copy_attention=True)
    config = sizing.preset("tiny", dense=dense, **{**settings, **overrides})
    return TerraformerForConditionalGeneration(config).eval()


def deeper(trained: TerraformerForConditionalGeneration, **layers):
    """The trained model's configuration with other layer counts (the dense twin's preset
    would re-solve d_ff for them)."""
    config = type(trained.config)(**{**trained.config.to_dict(), **layers})
    return TerraformerForConditionalGeneration(config).eval()


@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
def test_added_layers_start_silent_so_the_deeper_model_computes_the_same(dense):
    set_seed(0)
    trained = model(dense)
    grown = deeper(trained, n_encoder_layers=3, n_decoder_layers=4)
    ids = torch.randint(3, 300, (2, 40))
    labels = torch.randint(3, 300, (2, 10))
    with torch.no_grad():
        before = grown(input_ids=ids, labels=labels).loss
        # steps added: an encoder layer is attention + FF, a decoder layer two attentions + FF
        assert grow_from(grown, trained) == {"encoder": 2, "decoder": 2 * 3}
        expected = trained(input_ids=ids, labels=labels)
        got = grown(input_ids=ids, labels=labels)
    assert not torch.isclose(before, expected.loss)  # the deeper model was another function
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-5, rtol=1e-5)
    # cached decoding runs the layers' step paths
    generated = [
        m.generate(input_ids=ids[:1], max_new_tokens=8, num_beams=1, do_sample=False)
        for m in (trained, grown)
    ]
    assert torch.equal(*generated)


def test_the_added_layers_learn_from_the_first_step():
    trained = model(False)
    grown = deeper(trained, n_decoder_layers=3)
    grow_from(grown, trained)
    grown.train()
    ids, labels = torch.randint(3, 300, (2, 40)), torch.randint(3, 300, (2, 10))
    grown(input_ids=ids, labels=labels).loss.backward()
    new_layer = grown.decoder.stack.layers[-1].sublayer  # the last FF
    assert new_layer.w2.grad.abs().sum() > 0


def test_only_depth_may_change():
    trained = model(False)
    with pytest.raises(GrowthError, match="only depth may grow"):
        grow_from(model(False, d_model=96), trained)
    with pytest.raises(GrowthError, match="must keep every layer"):
        grow_from(deeper(trained, n_decoder_layers=1), trained)
    with pytest.raises(GrowthError, match="must keep every layer"):  # another FF kind
        grow_from(model(True), trained)
