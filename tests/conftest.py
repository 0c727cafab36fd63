import pytest
import torch

from summarizer import TerraformerConfig
from summarizer.model import sizing
from summarizer.seed import set_seed


@pytest.fixture(autouse=True)
def _seeded():
    set_seed(0)
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_config() -> TerraformerConfig:
    return TerraformerConfig.preset("tiny")


@pytest.fixture
def tiny_dense_config() -> TerraformerConfig:
    return sizing.preset("tiny", dense=True)
