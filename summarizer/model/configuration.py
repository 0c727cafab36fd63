"""`TerraformerConfig`: every architectural choice of the model, validated, with named presets.

A preset is the sparse Terraformer; `summarizer.model.sizing.dense_twin` gives its dense twin
(dense FF, dense QKV, full attention) with `d_ff` widened so that both have the same number of
parameters, as in the paper's comparisons.
"""

from __future__ import annotations

import inspect
from typing import Any

from transformers import PretrainedConfig

ATTENTION_KINDS = ("lsh", "full")
# The decoder may also take "hybrid": LSH among its encoder positions, full attention from its
# target positions (a deviation from the paper; see layers.attention.SelfAttention).
DECODER_ATTENTION_KINDS = (*ATTENTION_KINDS, "hybrid")
INPUT_SELECTIONS = ("opening", "salient")  # see TerraformerConfig.input_selection

# Named presets. Each entry overrides the defaults of `TerraformerConfig.__init__`.
# tiny, small and base read the input through "hybrid" decoder attention, not the paper's LSH:
# with LSH from the target positions too, a tiny decoder had not begun to learn a toy copy
# task after 1,500 steps, where Hugging Face BART of its size needed 405 (README, "Does it
# read its input?").
PRESETS: dict[str, dict[str, Any]] = {
    # For unit tests: every mechanism on, everything small enough to run in milliseconds.
    "tiny": dict(
        vocab_size=320,
        d_model=64,
        d_ff=256,
        n_heads=4,
        n_encoder_layers=2,
        n_decoder_layers=2,
        ff_sparsity=8,
        qkv_sparsity=4,
        loss_sparsity=0,
        decoder_attention="hybrid",
        lsh_chunk_len=8,
        lsh_n_buckets=4,
        lsh_n_hashes=2,
        dropout=0.1,
        ff_dropout=0.1,
    ),
    # Trainable on 2 CPU cores in a few hours (~15M parameters with a 16k vocabulary).
    "small": dict(
        vocab_size=16384,
        d_model=256,
        d_ff=2048,
        n_heads=4,
        n_encoder_layers=4,
        n_decoder_layers=4,
        ff_sparsity=32,
        qkv_sparsity=4,
        decoder_attention="hybrid",
        lsh_chunk_len=64,
        lsh_n_buckets=16,  # ~ length / chunk for 1-2k-token inputs: little bucket padding
        lsh_n_hashes=2,
        dropout=0.1,
        ff_dropout=0.1,
    ),
    # The paper's arXiv summarization config (trax scientific_papers_terraformer.gin), with the
    # Sparse FF / Sparse QKV settings of the paper's medium model (that gin file itself is dense).
    "base": dict(
        vocab_size=32000,
        d_model=1024,
        d_ff=4096,
        n_heads=8,
        n_encoder_layers=8,
        n_decoder_layers=8,
        ff_sparsity=64,
        qkv_sparsity=16,
        decoder_attention="hybrid",
        lsh_chunk_len=128,
        lsh_n_buckets=128,
        lsh_n_hashes=2,
        dropout=0.2,
        ff_dropout=0.1,
        attention_dropout=0.2,
    ),
    # The paper's 800M decoding-speed config (Table 1): 2 encoder + 24 decoder layers, d_model
    # 1024, 16 heads, N = 64, S = 16. d_ff is set so the model has ~800M parameters with our
    # decoder blocks of two attention sublayers each (the paper does not give d_ff for it).
    # The Sparse FF controller's rank is trax's SparseFF default, 64: the d_ff // N rule
    # (214 here) would make its up-projection, which every decoded token reads in full, about
    # a fifth of the sparse model's decoding step (README, "Decoding speed-up").
    "medium-800m": dict(
        vocab_size=32000,
        d_model=1024,
        d_ff=13696,
        ff_lowrank=64,
        n_heads=16,
        n_encoder_layers=2,
        n_decoder_layers=24,
        ff_sparsity=64,
        qkv_sparsity=16,
        loss_sparsity=4,
        encoder_attention="full",
        decoder_attention="full",
        dropout=0.1,
        ff_dropout=0.1,
    ),
}


class TerraformerConfig(PretrainedConfig):
    """Configuration of a Terraformer encoder-decoder.

    Sparsity switches use 0 for "off" (the dense layer), as in trax.
    """

    model_type = "terraformer"

    def __init__(
        self,
        vocab_size: int = 16384,
        d_model: int = 256,  # width of the residual streams and embeddings
        d_ff: int = 1024,  # hidden units of each feed-forward layer
        n_heads: int = 4,  # attention heads; head size is d_model // n_heads
        n_encoder_layers: int = 4,  # reversible blocks of [attention, FF]
        n_decoder_layers: int = 4,  # reversible blocks of [attention x n, FF]
        n_decoder_attention_layers: int = 2,  # attention sublayers per decoder FF (trax: 2)
        dropout: float = 0.1,  # residual and embedding dropout
        ff_dropout: float = 0.1,  # dropout on the FF hidden activations
        # Dropout on attention probabilities. It costs a random mask the size of the attention
        # matrix, the largest tensor of the model, so the CPU presets leave it off.
        attention_dropout: float = 0.0,
        # Sparse FF: N units per block, one active per block (0 = dense FF).
        ff_sparsity: int = 32,
        ff_lowrank: int | None = None,  # controller rank; None = d_ff // ff_sparsity (trax)
        ff_temperature: float = 0.1,  # Gumbel noise scale when choosing units in training
        ff_hard_prob: float = 0.3,  # share of training steps that use the hard one-hot mask
        # Sparse QKV: S modules of size d_model // S (0 = dense Q/K/V projections).
        qkv_sparsity: int = 4,
        qkv_time_kernel: int = 3,  # causal kernel length along time of the Q/K/V convolutions
        loss_sparsity: int = 0,  # multiplicative output layer with S modules (0 = dense)
        # A pointer-generator copy head over the encoder output (See et al. 2017); not in the
        # paper: a direct path from the input to the output (see modeling.CopyHead).
        copy_attention: bool = False,
        encoder_attention: str = "lsh",  # "lsh" or "full"
        decoder_attention: str = "lsh",  # "lsh", "full" or "hybrid"
        lsh_chunk_len: int = 128,
        lsh_n_buckets: int = 128,
        lsh_n_hashes: int = 2,
        lsh_chunks_before: int = 1,
        lsh_chunks_after: int = 1,  # encoder only; the causal decoder never looks ahead
        lsh_eval_seed: int = 0,  # fixed hash rotations at inference, so outputs are repeatable
        reversible: bool = True,  # False stores activations (the memory baseline)
        sparse_ff_gather_max_tokens: int = 8,  # inference: gather path up to this many tokens
        # Dense and convolution weights: None = Glorot-uniform, trax's initializer for Dense
        # layers and the scale the sparse layers already use; a number = N(0, that std), the
        # BERT/BART habit. 0.02 left the dense twin unable to learn even to copy its input (the
        # input's share of the target logits starts ~20x smaller; see benchmarks/copy_task.py).
        initializer_range: float | None = None,
        pad_token_id: int = 0,
        bos_token_id: int = 1,
        eos_token_id: int = 2,
        decoder_start_token_id: int | None = None,
        tie_word_embeddings: bool = True,
        is_encoder_decoder: bool = True,
        use_cache: bool = True,  # incremental decoding in generate()
        # The input length the model was trained on. Positions are sinusoidal, so longer
        # inputs run, but the Summarizer shortens documents to this many tokens by default.
        max_input_tokens: int = 2048,
        # How the encoder's text was chosen in training, so that the Summarizer chooses the
        # same way: "opening", the paper's start (section openings when it is longer);
        # "salient", the salience model's best sentences in document order (extract, then
        # abstract; the model folder then holds the salience model).
        input_selection: str = "opening",
        **kwargs: Any,
    ):
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.d_ff = d_ff
        self.n_heads = n_heads
        self.n_encoder_layers = n_encoder_layers
        self.n_decoder_layers = n_decoder_layers
        self.n_decoder_attention_layers = n_decoder_attention_layers
        self.dropout = dropout
        self.ff_dropout = ff_dropout
        self.attention_dropout = attention_dropout
        self.ff_sparsity = ff_sparsity
        self.ff_lowrank = ff_lowrank
        self.ff_temperature = ff_temperature
        self.ff_hard_prob = ff_hard_prob
        self.qkv_sparsity = qkv_sparsity
        self.qkv_time_kernel = qkv_time_kernel
        self.loss_sparsity = loss_sparsity
        self.copy_attention = copy_attention
        self.encoder_attention = encoder_attention
        self.decoder_attention = decoder_attention
        self.lsh_chunk_len = lsh_chunk_len
        self.lsh_n_buckets = lsh_n_buckets
        self.lsh_n_hashes = lsh_n_hashes
        self.lsh_chunks_before = lsh_chunks_before
        self.lsh_chunks_after = lsh_chunks_after
        self.lsh_eval_seed = lsh_eval_seed
        self.reversible = reversible
        self.sparse_ff_gather_max_tokens = sparse_ff_gather_max_tokens
        self.initializer_range = initializer_range
        self.use_cache = use_cache
        self.max_input_tokens = max_input_tokens
        self.input_selection = input_selection
        if decoder_start_token_id is None:
            decoder_start_token_id = bos_token_id
        # A multiplicative output layer has no matrix to share with the embedding.
        tie_word_embeddings = tie_word_embeddings and loss_sparsity == 0
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            decoder_start_token_id=decoder_start_token_id,
            tie_word_embeddings=tie_word_embeddings,
            is_encoder_decoder=is_encoder_decoder,
            **kwargs,
        )
        self.validate_architecture()

    # Names transformers' generic code looks for.
    @property
    def hidden_size(self) -> int:
        return self.d_model

    @property
    def num_attention_heads(self) -> int:
        return self.n_heads

    @property
    def num_hidden_layers(self) -> int:
        return self.n_decoder_layers

    @property
    def ff_lowrank_dim(self) -> int:
        """Rank of the Sparse FF controller (trax's choice d_ff / N unless set)."""
        if self.ff_lowrank:
            return self.ff_lowrank
        return max(1, self.d_ff // max(1, self.ff_sparsity))

    @property
    def is_dense(self) -> bool:
        return (
            self.ff_sparsity == 0
            and self.qkv_sparsity == 0
            and self.encoder_attention == "full"
            and self.decoder_attention == "full"
        )

    def validate_architecture(self) -> None:
        """Raise ValueError, naming the setting to change, when the settings cannot work."""
        problems = []

        def need(ok: bool, message: str) -> None:
            if not ok:
                problems.append(message)

        for name in (
            "vocab_size",
            "d_model",
            "d_ff",
            "n_heads",
            "n_decoder_attention_layers",
            "max_input_tokens",
        ):
            need(
                getattr(self, name) > 0,
                f"{name} must be positive, got {getattr(self, name)}",
            )
        need(
            self.input_selection in INPUT_SELECTIONS,
            f"input_selection must be one of {INPUT_SELECTIONS}, got {self.input_selection!r}",
        )
        need(self.n_encoder_layers >= 0, "n_encoder_layers must be >= 0")
        need(self.n_decoder_layers >= 1, "n_decoder_layers must be >= 1")
        if problems:  # the divisibility checks below would divide by zero
            raise ValueError("Invalid TerraformerConfig: " + "; ".join(problems))
        need(
            self.d_model % self.n_heads == 0,
            f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}); "
            f"change one of them",
        )
        for name in ("dropout", "ff_dropout", "attention_dropout"):
            value = getattr(self, name)
            need(0.0 <= value < 1.0, f"{name} must be in [0, 1), got {value}")
        need(self.ff_sparsity >= 0, "ff_sparsity must be >= 0 (0 means a dense FF)")
        if self.ff_sparsity > 0:
            need(
                self.d_ff % self.ff_sparsity == 0,
                f"ff_sparsity (block size {self.ff_sparsity}) must divide d_ff ({self.d_ff}); "
                f"pick a d_ff that is a multiple of it",
            )
            need(0.0 <= self.ff_hard_prob <= 1.0, "ff_hard_prob must be in [0, 1]")
        need(self.qkv_sparsity >= 0, "qkv_sparsity must be >= 0 (0 means dense Q/K/V)")
        if self.qkv_sparsity > 0:
            need(
                self.d_model % self.qkv_sparsity == 0,
                f"qkv_sparsity ({self.qkv_sparsity} modules) must divide d_model ({self.d_model})",
            )
            need(self.qkv_time_kernel >= 1, "qkv_time_kernel must be >= 1")
        need(
            self.loss_sparsity >= 0,
            "loss_sparsity must be >= 0 (0 means a dense output layer)",
        )
        if self.loss_sparsity > 0:
            need(
                self.vocab_size % self.loss_sparsity == 0,
                f"loss_sparsity ({self.loss_sparsity}) must divide vocab_size "
                f"({self.vocab_size}); round the vocabulary up to a multiple of it",
            )
        kinds = {"encoder_attention": ATTENTION_KINDS, "decoder_attention": DECODER_ATTENTION_KINDS}
        for name, allowed in kinds.items():
            value = getattr(self, name)
            need(value in allowed, f"{name} must be one of {allowed}, got {value!r}")
        if {"lsh", "hybrid"} & {self.encoder_attention, self.decoder_attention}:
            need(self.lsh_chunk_len >= 1, "lsh_chunk_len must be >= 1")
            need(
                self.lsh_n_buckets == 1
                or (self.lsh_n_buckets >= 2 and self.lsh_n_buckets % 2 == 0),
                f"lsh_n_buckets must be 1 or an even number >= 2, got {self.lsh_n_buckets}",
            )
            need(self.lsh_n_hashes >= 1, "lsh_n_hashes must be >= 1")
            need(
                self.lsh_chunks_before >= 0 and self.lsh_chunks_after >= 0,
                "lsh_chunks_before and lsh_chunks_after must be >= 0",
            )
        if problems:
            raise ValueError("Invalid TerraformerConfig: " + "; ".join(problems))

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TerraformerConfig:
        """A named configuration (see `PRESETS`); `summarizer.model.sizing.dense_twin` gives its
        parameter-matched dense twin."""
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        if "dense" in overrides:  # PretrainedConfig would keep it as an unused attribute
            raise ValueError(
                "TerraformerConfig.preset takes no `dense`; use "
                "summarizer.model.sizing.preset(name, dense=True) or sizing.dense_twin(config)"
            )
        known = inspect.signature(cls.__init__).parameters
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"Unknown TerraformerConfig setting(s) {unknown}")
        return cls(**{**PRESETS[name], **overrides})
