"""The Terraformer encoder-decoder (Jaszczur et al. 2021), as a Hugging Face model.

    input ids ──embed──► reversible [LSH attention | Sparse FF] × n_enc ──► avg, dense, norm ─┐
                                                                                              │
    [encoder output ; embedded shifted target] ◄──────────────────────────────────────────────┘
        └─► reversible causal [attention, attention | Sparse FF] × n_dec ──► avg, norm
        └─► keep target positions ──► output layer (dense or multiplicative) ──► logits

There is no cross-attention: the decoder is one causal stack over the encoder output followed
by the target, so its self-attention does the work of encoder-decoder attention (trax
ConfigurableTerraformer). The token embedding is shared by encoder inputs and decoder targets.

Optional, and a deviation from the paper (`copy_attention`): a pointer-generator head (See et al.
2017) whose one full-attention head from each target position over the encoder output gives a
distribution over the input's tokens, mixed with the vocabulary distribution by a learned gate.

Notation: B batch, S encoder length, T target length, L = S + T, D d_model, V vocabulary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput

from summarizer.model.configuration import TerraformerConfig
from summarizer.model.layers.attention import AttentionState, LSHAttention, SelfAttention
from summarizer.model.layers.dropout import dropout
from summarizer.model.layers.packed import FEW_ROWS, Linear
from summarizer.model.layers.reversible import ReversibleStack
from summarizer.model.layers.sparse import DenseFF, MultiplicativeDense, SparseFF

IGNORE_INDEX = -100  # label value excluded from the loss, as in transformers


class TerraformerPreTrainedModel(PreTrainedModel):
    config_class = TerraformerConfig
    base_model_prefix = "terraformer"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False  # reversible layers already recompute activations
    _no_split_modules: ClassVar[list[str]] = ["Residual"]

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Conv2d)) and std is None:
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            # With the sqrt(D) scale in TokenEmbedding, token vectors have unit-variance entries
            # (like the sinusoidal positions) and tied output logits start with unit variance.
            nn.init.normal_(module.weight, std=self.config.d_model**-0.5)
        elif isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, (SparseFF, MultiplicativeDense)):
            module.reset_parameters()


class TerraformerForConditionalGeneration(TerraformerPreTrainedModel, GenerationMixin):
    """Terraformer for summarization: `forward` gives the loss on target tokens, `generate`
    decodes. Inputs follow transformers' seq2seq conventions (`input_ids`, `attention_mask`,
    `decoder_input_ids` or `labels`)."""

    _tied_weights_keys: ClassVar[dict[str, str]] = {"lm_head.weight": "encoder.embed.token.weight"}

    def __init__(self, config: TerraformerConfig):
        super().__init__(config)
        self.encoder = TerraformerEncoder(config)
        self.decoder = TerraformerDecoder(config)
        if config.loss_sparsity:
            self.lm_head = MultiplicativeDense(
                config.d_model, config.vocab_size, config.loss_sparsity
            )
        else:
            self.lm_head = Linear(config.d_model, config.vocab_size, bias=False)
        self.copy_head = CopyHead(config.d_model) if config.copy_attention else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embed.token

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.encoder.embed.token = value

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def output_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """lm_head(hidden): (B, T, D) -> (B, T, V). The few rows of a decoding step go through
        the packed weight (`Linear`). Where it does not apply (one row on one thread, gradients
        on) the dense layer is taken as weight @ hidden^T: on 2 CPU threads that product ran
        3-5x faster than nn.Linear's at 2-16 rows of a 16k x 256 float32 layer (equal up to
        rounding), and this layer was a fifth of a beam-4 step."""
        rows = hidden.shape[:-1].numel()
        packs = isinstance(self.lm_head, Linear) and self.lm_head.packs(hidden)
        if not isinstance(self.lm_head, nn.Linear) or rows > FEW_ROWS or packs:
            return self.lm_head(hidden)
        flat = hidden.reshape(rows, hidden.shape[-1])
        return (self.lm_head.weight @ flat.t()).t().reshape(*hidden.shape[:-1], -1)

    def get_encoder(self, modality: str | None = None) -> TerraformerEncoder:
        return self.encoder

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        labels: torch.LongTensor | None = None,
        cache: TerraformerCache | None = None,
        use_cache: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: int | None = None,
        label_smoothing: float = 0.0,
        **kwargs,  # other generation bookkeeping, unused
    ) -> Seq2SeqLMOutput:
        """input_ids, attention_mask: (B, S); decoder_input_ids or labels: (B, T).

        Returns logits (B, T, V) and, with labels, the cross-entropy summed over labels that
        are not -100 and divided by `num_items_in_batch` (default: their number here, i.e. the
        mean). Gradient accumulation passes the whole batch's count, so that the micro-batches'
        losses add up to the batch mean whatever their sizes (transformers' convention).

        With `use_cache=True` (inference, no labels), also the decoding cache: pass
        it back with the longer `decoder_input_ids` and only the new positions are computed;
        logits are then given for those positions only."""
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("Pass input_ids (or precomputed encoder_outputs)")
            encoder_outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        elif isinstance(encoder_outputs, tuple):
            encoder_outputs = BaseModelOutput(last_hidden_state=encoder_outputs[0])
        enc = encoder_outputs.last_hidden_state  # (B, S, D)
        if attention_mask is None:
            attention_mask = torch.ones(enc.shape[:2], dtype=torch.bool, device=enc.device)
        # The copy head needs the input's token ids; generate() only passes the encoder
        # output, which carries them (TerraformerEncoderOutput).
        source_ids = getattr(encoder_outputs, "input_ids", None)
        if source_ids is None:
            source_ids = input_ids
        if self.copy_head is not None and source_ids is None:
            raise ValueError("copy_attention needs input_ids (or the encoder's own output)")

        if decoder_input_ids is None:
            if labels is None:
                raise ValueError("Pass decoder_input_ids or labels")
            decoder_input_ids = self.shift_right(labels)
        if decoder_attention_mask is None:
            # Causality already hides target padding from real positions (it comes after
            # them), so every target position can be marked real.
            decoder_attention_mask = torch.ones_like(decoder_input_ids, dtype=torch.bool)

        # A plain call computes the whole target at once; generate() asks for the cache.
        if use_cache is None:
            use_cache = cache is not None
        if use_cache and not self.training and labels is None:
            # Incremental: prefill once, then only the target positions not yet in the cache.
            if cache is None:
                cache = self.decoder.prefill(enc, attention_mask.bool())
                inputs = [enc, attention_mask] + ([source_ids] if source_ids is not None else [])
                cache.inputs = same_inputs(*inputs)
                if self.copy_head is not None:
                    cache.copy = self.copy_head.source(enc, attention_mask.bool(), source_ids)
            copy_source = cache.copy
            new_ids = decoder_input_ids[:, cache.length :]
            hidden = []
            for i in range(new_ids.shape[1]):
                target = self.encoder.embed(new_ids[:, i : i + 1], offset=cache.length)
                hidden.append(self.decoder.step(target, cache))
            hidden = torch.cat(hidden, dim=1)  # (B, new positions, D)
        else:
            cache = None
            target = self.encoder.embed(decoder_input_ids)  # (B, T, D)
            mask = attention_mask.bool()
            hidden = self.decoder(enc, mask, target, decoder_attention_mask.bool())
            copy_source = None
            if self.copy_head is not None:
                copy_source = self.copy_head.source(enc, mask, source_ids)
        logits = self.output_logits(hidden)  # (B, T, V)
        if copy_source is not None:
            logits = self.copy_head(hidden, logits, copy_source)  # log-probabilities

        loss = None
        if labels is not None:
            summed = F.cross_entropy(
                logits.float().flatten(0, 1),
                labels.flatten(),
                ignore_index=IGNORE_INDEX,
                reduction="sum",
                label_smoothing=label_smoothing,
            )
            count = num_items_in_batch or (labels != IGNORE_INDEX).sum().clamp_min(1)
            loss = summed / count
        return Seq2SeqLMOutput(loss=loss, logits=logits, cache=cache, encoder_last_hidden_state=enc)

    def shift_right(self, labels: torch.LongTensor) -> torch.LongTensor:
        """Decoder inputs from labels: start token first, ignored labels become padding."""
        shifted = labels.new_full(labels.shape, self.config.pad_token_id)
        shifted[:, 1:] = labels[:, :-1]
        shifted[:, 0] = self.config.decoder_start_token_id
        return shifted.masked_fill(shifted == IGNORE_INDEX, self.config.pad_token_id)

    def prepare_inputs_for_generation(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | None = None,
        cache: TerraformerCache | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> dict:
        # generate() runs the encoder once; with the cache each step then computes only the
        # new target position (the forward slices what the cache already holds).
        return {
            "decoder_input_ids": input_ids,
            "attention_mask": attention_mask,
            "encoder_outputs": encoder_outputs,
            "cache": cache,
            "use_cache": self.config.use_cache if use_cache is None else use_cache,
        }

    @classmethod
    def _supports_default_dynamic_cache(cls) -> bool:
        return False  # our own cache (TerraformerCache), made by forward() on the first step


class TerraformerEncoder(nn.Module):
    """Token embedding, reversible bidirectional blocks [attention | FF], then (trax) the mean of
    the two streams, a dense layer and LayerNorm. Owns the embedding shared with the decoder."""

    main_input_name = "input_ids"  # read by generate()

    def __init__(self, config: TerraformerConfig):
        super().__init__()
        self.embed = TokenEmbedding(config.vocab_size, config.d_model, config.dropout)
        layers = []
        for i in range(config.n_encoder_layers):
            layers.append(Residual(build_attention(config, causal=False, index=i), config))
            layers.append(Residual(build_ff(config), config))
        self.stack = ReversibleStack(layers, reversible=config.reversible)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.norm = nn.LayerNorm(config.d_model)

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        return_dict: bool = True,
        **kwargs,  # output_attentions etc. from generate(); not supported, ignored
    ) -> BaseModelOutput:
        """input_ids, attention_mask: (B, S) -> last_hidden_state (B, S, D)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids, dtype=torch.bool)
        x = self.embed(input_ids)  # (B, S, D)
        x1, x2 = self.stack(x, x, attention_mask.bool())
        h = self.norm(self.proj((x1 + x2) / 2))
        return TerraformerEncoderOutput(last_hidden_state=h, input_ids=input_ids)


class TerraformerDecoder(nn.Module):
    """One causal reversible stack over [encoder output ; target]; blocks of
    `n_decoder_attention_layers` attention sublayers and one FF."""

    def __init__(self, config: TerraformerConfig):
        super().__init__()
        layers = []
        index = config.n_encoder_layers
        for _ in range(config.n_decoder_layers):
            for _ in range(config.n_decoder_attention_layers):
                layers.append(Residual(build_attention(config, causal=True, index=index), config))
                index += 1
            layers.append(Residual(build_ff(config), config))
        self.stack = ReversibleStack(layers, reversible=config.reversible)
        self.norm = nn.LayerNorm(config.d_model)

    def forward(
        self,
        enc: torch.Tensor,
        enc_mask: torch.Tensor,
        target: torch.Tensor,
        target_mask: torch.Tensor,
    ) -> torch.Tensor:
        """enc: (B, S, D), enc_mask: (B, S), target: (B, T, D), target_mask: (B, T)
        -> hidden states at the target positions (B, T, D)."""
        x, mask, target_index = concat_encoder_target(enc, enc_mask, target, target_mask)
        x1, x2 = self.stack(x, x, mask, target_index)  # (B, L, D) each
        h = self.norm((x1 + x2) / 2)
        return h.gather(1, target_index[..., None].expand(-1, -1, h.shape[-1]))

    # Incremental decoding: the encoder part of [encoder ; target] once, then one target
    # position at a time. The cache keeps the encoder positions in place, padding included
    # (masked), and appends targets after them: each layer sees the same keys as in
    # `forward`, where the target follows the last real encoder token directly.

    def prefill(self, enc: torch.Tensor, enc_mask: torch.Tensor) -> TerraformerCache:
        """Run the stack over the encoder output (B, S, D) and keep each layer's state."""
        states: list[AttentionState | None] = []
        x1 = x2 = enc
        for layer in self.stack.layers:
            y, state = layer.prefill(x2, enc_mask)
            x1, x2 = x2, x1 + y
            states.append(state)
        return TerraformerCache(states, prefix=enc.shape[1])

    def step(self, target: torch.Tensor, cache: TerraformerCache) -> torch.Tensor:
        """target: (B, 1, D) embedded next target token -> hidden state (B, 1, D)."""
        x1 = x2 = target
        for layer, state in zip(self.stack.layers, cache.layers, strict=True):
            x1, x2 = x2, x1 + layer.step(x2, state)
        cache.length += 1
        return self.norm((x1 + x2) / 2)


class TerraformerCache:
    """Decoding state of every decoder layer (None for feed-forward layers) and the number of
    target positions processed. Passed as `cache` through `generate()`.

    Every layer's state starts with the `prefix` encoder positions. Beam search moves rows
    among the beams of one input, whose encoder positions hold the same values, so a reorder
    that keeps each row within rows of the same input (`inputs`) moves the target positions
    only: at 512 encoder positions this is most of the copying a beam-search step would do."""

    def __init__(self, layers: list[AttentionState | None], prefix: int = 0):
        self.layers = layers
        self.length = 0
        self.prefix = prefix
        # (B,) each row's input: the first row with the same encoder output, mask and ids.
        self.inputs: torch.Tensor | None = None
        self.copy: CopySource | None = None  # the copy head's view of the input, if any

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Keep the rows of the beams that survived (beam search)."""
        rows = beam_idx.to(next(s for s in self.layers if s is not None).key_mask.device)
        same_input = self.inputs is not None and torch.equal(self.inputs[rows], self.inputs)
        start = self.prefix if same_input else 0
        self.layers = [None if s is None else s.reorder(rows, start) for s in self.layers]
        if self.copy is not None and not same_input:  # otherwise every row keeps its own
            self.copy = self.copy.index_select(rows)


def same_inputs(*rows_of: torch.Tensor) -> torch.Tensor:
    """(B,) for each row of the given (B, ...) tensors, the first row equal to it in all."""
    flat = [x.reshape(x.shape[0], -1) for x in rows_of]
    first = list(range(flat[0].shape[0]))
    for i in range(len(first)):
        for j in range(i):
            if first[j] == j and all(torch.equal(x[i], x[j]) for x in flat):
                first[i] = j
                break
    return torch.tensor(first, device=rows_of[0].device)


@dataclass
class TerraformerEncoderOutput(BaseModelOutput):
    """The encoder output, with the token ids it read (for the copy head). generate() expands
    every tensor of it for beams, so the ids follow their rows."""

    input_ids: torch.LongTensor | None = None


@dataclass
class CopySource:
    """What the copy head reads of the input, computed once per document."""

    keys: torch.Tensor  # (B, S, D) projected encoder output
    values: torch.Tensor  # (B, S, D) encoder output
    mask: torch.Tensor  # (B, S) bool, real positions
    ids: torch.LongTensor  # (B, S) the input's token ids

    def index_select(self, rows: torch.Tensor) -> CopySource:
        rows = rows.to(self.keys.device)
        return CopySource(*(getattr(self, f.name).index_select(0, rows) for f in fields(self)))


class CopyHead(nn.Module):
    """Pointer-generator output (See et al. 2017): p(w) = g * p_vocab(w) + (1 - g) * sum of the
    copy attention on the input positions holding w, with the gate g = sigmoid(W [h; context]).

    One full-attention head from each target position over the encoder output: a short, direct
    path from the input to the output, which the concatenated decoder otherwise has to learn
    through every layer, and a way to write rare terms and numbers exactly. Returns
    log-probabilities, which generate() and the loss use as logits (their softmax is p)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.query = nn.Linear(d_model, d_model, bias=False)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.gate = nn.Linear(2 * d_model, 1)

    def source(self, enc: torch.Tensor, mask: torch.Tensor, ids: torch.Tensor) -> CopySource:
        """enc: (B, S, D), mask and ids: (B, S)."""
        return CopySource(self.key(enc), enc, mask, ids)

    def forward(self, hidden: torch.Tensor, logits: torch.Tensor, src: CopySource) -> torch.Tensor:
        """hidden: (B, T, D) decoder states, logits: (B, T, V) -> log p (B, T, V), float32."""
        scale = hidden.shape[-1] ** -0.5
        scores = self.query(hidden) @ src.keys.transpose(1, 2) * scale  # (B, T, S)
        scores = scores.float().masked_fill(~src.mask[:, None, :], float("-inf"))
        attention = scores.softmax(dim=-1)  # (B, T, S)
        context = attention.to(src.values.dtype) @ src.values  # (B, T, D)
        gate = torch.sigmoid(self.gate(torch.cat([hidden, context], dim=-1)).float())  # (B, T, 1)
        p = gate * logits.float().softmax(dim=-1)
        index = src.ids[:, None, :].expand(-1, hidden.shape[1], -1)  # (B, T, S)
        p = p.scatter_add(-1, index, (1 - gate) * attention)
        return p.clamp_min(1e-12).log()


def concat_encoder_target(
    enc: torch.Tensor,
    enc_mask: torch.Tensor,
    target: torch.Tensor,
    target_mask: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lay out each row as [real encoder positions ; target ; encoder padding].

    The target starts right after the row's last real encoder token (trax ConcatWithPadding),
    so encoder padding never sits between a target token and the text it summarizes and the
    amount of padding cannot change any result.

    Returns x (B, L, D), its key mask (B, L) and the positions of the target in x (B, T).
    """
    b = enc_mask.shape[0]
    t = target.shape[1]
    # Stable sort by group: 0 = real encoder position, 1 = target, 2 = encoder padding.
    group = torch.cat([torch.where(enc_mask, 0, 2), enc_mask.new_ones((b, t), dtype=torch.long)], 1)
    order = group.argsort(dim=1, stable=True)  # (B, L)
    x = torch.cat([enc, target], dim=1).gather(1, order[..., None].expand(-1, -1, enc.shape[-1]))
    mask = torch.cat([enc_mask, target_mask], dim=1).gather(1, order)
    n_real = enc_mask.sum(dim=1, keepdim=True)  # (B, 1)
    target_index = n_real + torch.arange(t, device=enc.device)  # (B, T)
    return x, mask, target_index


class TokenEmbedding(nn.Module):
    """Token embedding scaled by sqrt(D) plus fixed sinusoidal positions (trax 'fixed-base'),
    which extend to any length; then dropout."""

    def __init__(self, vocab_size: int, d_model: int, dropout: float):
        super().__init__()
        self.token = nn.Embedding(vocab_size, d_model)
        self.scale = math.sqrt(d_model)
        self.dropout = dropout

    def forward(self, ids: torch.LongTensor, offset: int = 0) -> torch.Tensor:
        """ids: (B, T) -> (B, T, D); positions start at `offset`."""
        x = self.token(ids) * self.scale
        x = x + sinusoidal_positions(ids.shape[1], x.shape[-1], offset, x.device, x.dtype)
        return dropout(x, self.dropout, self.training)


def sinusoidal_positions(
    length: int, d_model: int, offset: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """(length, D): sin on even channels, cos on odd, wavelengths 2π .. 10000·2π."""
    pos = torch.arange(offset, offset + length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, d_model, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / d_model)
    )
    table = torch.zeros(length, d_model, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: d_model // 2])
    return table.to(dtype)


class Residual(nn.Module):
    """The function F of one half-residual step (x1, x2) -> (x2, x1 + F(x2)):
    LayerNorm, then the sublayer, then dropout."""

    def __init__(self, sublayer: nn.Module, config: TerraformerConfig):
        super().__init__()
        self.norm = nn.LayerNorm(config.d_model)
        self.sublayer = sublayer
        self.dropout = config.dropout
        self.takes_mask = isinstance(sublayer, SelfAttention)

    def forward(
        self, x: torch.Tensor, key_mask: torch.Tensor, targets: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, L, D), key_mask: (B, L), targets: (B, T) or None -> (B, L, D)."""
        h = self.norm(x)
        h = self.sublayer(h, key_mask, targets) if self.takes_mask else self.sublayer(h)
        return dropout(h, self.dropout, self.training)

    def silence_(self) -> None:
        """F = 0 from now until trained: this step only swaps the two streams."""
        self.sublayer.silence_()

    def prefill(
        self, x: torch.Tensor, key_mask: torch.Tensor
    ) -> tuple[torch.Tensor, AttentionState | None]:
        """Inference over a prefix, with the sublayer's decoding state (None for FF)."""
        if self.takes_mask:
            return self.sublayer.prefill(self.norm(x), key_mask)
        return self.sublayer(self.norm(x)), None

    def step(self, x: torch.Tensor, state: AttentionState | None) -> torch.Tensor:
        """Inference for one new position per row: x (B, 1, D)."""
        if self.takes_mask:
            return self.sublayer.step(self.norm(x), state)
        return self.sublayer(self.norm(x))


def build_attention(config: TerraformerConfig, causal: bool, index: int) -> SelfAttention:
    """Encoder (`causal=False`) or decoder attention as the config asks; `index` numbers the
    attention sublayers so each LSH layer gets its own fixed inference rotations."""
    core = config.decoder_attention if causal else config.encoder_attention
    lsh = None
    if core in ("lsh", "hybrid"):
        lsh = LSHAttention(
            n_buckets=config.lsh_n_buckets,
            n_hashes=config.lsh_n_hashes,
            chunk_len=config.lsh_chunk_len,
            chunks_before=config.lsh_chunks_before,
            chunks_after=0 if causal else config.lsh_chunks_after,
            eval_seed=config.lsh_eval_seed * 1000 + index,
        )
    return SelfAttention(
        config.d_model,
        config.n_heads,
        causal=causal,
        core=core,
        qkv_sparsity=config.qkv_sparsity,
        qkv_time_kernel=config.qkv_time_kernel,
        dropout=config.attention_dropout,
        lsh=lsh,
    )


def build_ff(config: TerraformerConfig) -> nn.Module:
    if config.ff_sparsity:
        return SparseFF(
            config.d_model,
            config.d_ff,
            block=config.ff_sparsity,
            d_lowrank=config.ff_lowrank_dim,
            temperature=config.ff_temperature,
            hard_prob=config.ff_hard_prob,
            dropout=config.ff_dropout,
            gather_max_tokens=config.sparse_ff_gather_max_tokens,
        )
    return DenseFF(config.d_model, config.d_ff, dropout=config.ff_dropout)
