"""Training: from Cohan-format data to `save_pretrained` checkpoints, on one CPU, one GPU or
many processes (`torchrun`, DistributedDataParallel).

    python -m summarizer train --config configs/cpu-small.toml --out runs/small [--resume]

OUT receives `tokenizer/`, `checkpoints/step-N/` (model + tokenizer, loadable with
`from_pretrained`, plus the optimizer, scheduler, RNG and data position), `metrics.jsonl`,
TensorBoard events in `tb/`, `loss.png` and `summary.json`.

Each optimizer step takes one global batch of `train.batch_size` documents. With K processes
and A accumulation steps, process r takes every K-th document of it, in A micro-batches, and
every micro-batch's summed token loss is divided by the global batch's token count. So the
gradient is the same whatever K and A are: runs differ only by float summation order.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from data.dataset import load_documents, tokenize_documents, weight_sources
from eval.rouge import rouge_f1
from summarizer.model.growth import GrowthError, grow_from
from summarizer.model.modeling import IGNORE_INDEX, TerraformerForConditionalGeneration
from summarizer.model.tokenizer import load_tokenizer, save_tokenizer, train_tokenizer
from summarizer.paths import write_atomically
from summarizer.salience import SalienceModel
from summarizer.seed import set_seed
from summarizer.training.config import ConfigError, OptimSection, RunConfig
from summarizer.training.inputs import salient_articles

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
LATEST = "latest"  # file in CHECKPOINTS naming the newest complete checkpoint
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    final_checkpoint: Path
    last_loss: float
    val_loss: float | None
    tokens_per_second: float
    precision: str  # "fp32" or "bf16", as the run trained


def train(config: RunConfig, out_dir: str | Path, resume: bool = False) -> TrainResult:
    """Train as `config` says, writing into `out_dir`. See the module docstring."""
    out_dir = Path(out_dir)
    dist_env = Distributed.from_environment(config.train.device)
    try:
        return Trainer(config, out_dir, resume, dist_env).run()
    finally:
        dist_env.shutdown()


class Distributed:
    """Rank, world size and device of this process; one process when not under torchrun."""

    def __init__(self, rank: int, world: int, local_rank: int, device: torch.device):
        self.rank, self.world, self.local_rank, self.device = rank, world, local_rank, device

    @classmethod
    def from_environment(cls, device_setting: str) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device_setting == "auto":
            device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
        else:
            device = torch.device(device_setting)
            if device.type == "cuda" and world > 1:
                device = torch.device(f"cuda:{local_rank}")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return cls(rank, world, local_rank, device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def sum(self, value: float) -> float:
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.item()

    def shutdown(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


class Trainer:
    """One training run. `__init__` sets up all it holds (data, tokenizer, model, optimizer,
    schedule, step; restored from the newest checkpoint with `resume`); `run` trains."""

    def __init__(self, config: RunConfig, out_dir: Path, resume: bool, dist_env: Distributed):
        self.config, self.out_dir, self.dist = config, out_dir, dist_env
        self.settings = config.train  # the [train] section: steps, batches, evaluation
        self.device = dist_env.device
        self.precision = resolve_precision(self.settings.precision, self.device)
        self.autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else nullcontext()
        )
        settings, d = self.settings, self.config.data
        if settings.threads:
            torch.set_num_threads(settings.threads)
        if settings.batch_size < self.dist.world * settings.grad_accum:
            raise ConfigError(
                f"train.batch_size ({settings.batch_size}) must be at least processes x grad_accum "
                f"({self.dist.world} x {settings.grad_accum})"
            )
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        # Data first: a wrong path fails here, before any model is built.
        train_docs = self.load(d.train, d.limit_train)
        val_docs = self.load(d.validation, d.limit_validation) if d.validation else None
        self.tokenizer = self.prepare_tokenizer(train_docs)
        self.salience = None
        if d.input_selection == "salient":
            self.salience = SalienceModel.load(d.salience)
        self.train_set = self.tokenize(train_docs, d.oracle_share)
        if d.source_weights:  # after tokenizing, so each document is tokenized once
            try:
                self.train_set = weight_sources(self.train_set, d.source_weights, settings.seed)
            except ValueError as error:
                raise ConfigError(f"data.source_weights: {error}") from error
            log.info("%d training documents after source weights", len(self.train_set))
        self.val_set = self.tokenize(val_docs, 0.0) if val_docs is not None else None
        # Each unscored text as it is tokenized alone and after a space.
        self.unscored = sorted(
            {
                tuple(self.tokenizer(form, add_special_tokens=False)["input_ids"])
                for text in d.unscored
                for form in (text, " " + text)
            }
        )

        set_seed(settings.seed)  # same initial weights in every process
        model_config = self.config.model_config(len(self.tokenizer))
        self.model = TerraformerForConditionalGeneration(model_config).to(self.device)
        if self.config.model.init_from:  # a checkpoint found by --resume replaces these
            self.grow(Path(self.config.model.init_from))
        self.optimizer = build_optimizer(self.model, self.config.optim)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, functools.partial(lr_factor, self.config.optim, settings.steps)
        )
        self.step = 0
        # Dropout and noise streams differ between processes; a resumed run restores them.
        set_seed(settings.seed + 1 + self.dist.rank)
        if resume:
            self.restore()
        self.ddp = self.model
        if self.dist.world > 1:
            # static_graph: the reversible backward re-enters autograd for each layer, which
            # DDP's default bookkeeping does not allow; the set of parameters used is the
            # same every step, which is what static_graph asks.
            device_ids = [self.device] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=device_ids, static_graph=True)
        columns = self.train_set.with_format(None)  # document lengths, for batching
        self.input_lengths = np.asarray(columns["input_length"])
        self.label_lengths = np.asarray(
            [
                int((unscored_masked(torch.tensor(y)[None], self.unscored) != IGNORE_INDEX).sum())
                for y in columns["labels"]
            ]
            if self.unscored
            else columns["label_length"]
        )  # the tokens each document's loss scores

    def load(self, sources: list[str], limit: int) -> datasets.Dataset:
        parts = []
        for source in sources:
            docs, report = load_documents(source, limit=limit or None)
            if len(docs) == 0:
                raise ConfigError(f"No usable documents in {source} ({report})")
            parts.append(docs)
        return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]

    def prepare_tokenizer(self, train_docs: datasets.Dataset):
        d = self.config.data
        if d.tokenizer:
            return load_tokenizer(d.tokenizer)
        path = self.out_dir / "tokenizer"
        if self.dist.is_main and not (path / "tokenizer.json").is_file():
            n = min(d.tokenizer_docs, len(train_docs))
            subset = train_docs.select(spread(len(train_docs), n))  # from every source
            texts = (text for doc in subset for text in (doc["article"], doc["abstract"]))
            log.info("training a %d-token tokenizer on %d documents", d.vocab_size, n)
            save_tokenizer(train_tokenizer(texts, d.vocab_size), path)
        self.dist.barrier()
        return load_tokenizer(path)

    def tokenize(self, docs: datasets.Dataset, oracle_share: float) -> datasets.Dataset:
        """Token ids of what the encoder reads (data.input_selection) and of the target."""
        d = self.config.data
        # The main process fills the cache; the others then read it.
        if not self.dist.is_main:
            self.dist.barrier()
        if self.salience is not None:
            docs = salient_articles(
                docs, self.tokenizer, self.salience, d.max_input_tokens, oracle_share
            )
        tokenized = tokenize_documents(
            docs, self.tokenizer, d.max_input_tokens, d.max_target_tokens
        )
        if self.dist.is_main:
            self.dist.barrier()
        return tokenized.with_format(
            "numpy", columns=["input_ids", "labels"], output_all_columns=False
        )

    # ------------------------------------------------------------------------ the loop
    def run(self) -> TrainResult:
        settings = self.settings
        lengths = self.input_lengths
        batches_per_epoch = len(epoch_batches(lengths, settings.batch_size, settings.seed, 0))
        metrics = MetricsLog(self.out_dir, self.dist.is_main, resume_step=self.step)
        progress = tqdm(
            total=settings.steps,
            initial=self.step,
            disable=not self.dist.is_main,
            desc="train",
            dynamic_ncols=True,
        )
        last_loss, val_loss, speeds = float("nan"), None, []
        epoch = -1
        while self.step < settings.steps:
            if self.step // batches_per_epoch != epoch:
                epoch = self.step // batches_per_epoch
                order = epoch_batches(lengths, settings.batch_size, settings.seed, epoch)
            batch = order[self.step % batches_per_epoch]
            lr = self.scheduler.get_last_lr()[0]
            started = time.perf_counter()
            loss, n_tokens = self.train_step(batch)
            elapsed = time.perf_counter() - started
            self.step += 1
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"Loss became {loss} at step {self.step}; stopped. The last good checkpoint "
                    f"is kept in {self.out_dir / CHECKPOINTS}. Lower optim.lr, raise "
                    f"optim.warmup_steps or set optim.clip_norm, then resume with --resume."
                )
            last_loss = loss
            speeds.append(n_tokens / elapsed)
            progress.update(1)
            progress.set_postfix(loss=f"{loss:.3f}", tok_s=f"{n_tokens / elapsed:,.0f}")
            record = {
                "step": self.step,
                "epoch": epoch,
                "loss": loss,
                "lr": lr,
                "tokens_per_s": n_tokens / elapsed,
            }
            at_end = self.step == settings.steps
            if at_end or (settings.eval_every and self.step % settings.eval_every == 0):
                record.update(self.evaluate())
                val_loss = record.get("val_loss", val_loss)
            if at_end or self.step % settings.log_every == 0 or "val_loss" in record:
                metrics.write(record)
            if at_end or (settings.save_every and self.step % settings.save_every == 0):
                self.save_checkpoint(epoch)
        progress.close()
        metrics.close()
        final = self.out_dir / CHECKPOINTS / f"step-{self.step:07d}"
        result = TrainResult(
            self.out_dir,
            self.step,
            final,
            last_loss,
            val_loss,
            float(np.median(speeds)) if speeds else 0.0,
            self.precision,
        )
        if self.dist.is_main:
            write_summary(result, self.out_dir)
            plot_losses(self.out_dir / "metrics.jsonl", self.out_dir / "loss.png")
        return result

    def train_step(self, batch: np.ndarray) -> tuple[float, int]:
        """One optimizer step on a global batch of document indices. Returns the mean token
        loss over the whole global batch and the number of tokens (inputs + targets) in it."""
        settings, world = self.settings, self.dist.world
        n_targets = int(self.label_lengths[batch].sum())
        mine = batch[self.dist.rank :: world]
        micro_batches = [m for m in np.array_split(mine, settings.grad_accum) if len(m)]
        self.ddp.train()
        loss_sum, n_tokens = 0.0, 0
        for i, micro in enumerate(micro_batches):
            inputs = self.collate(micro)
            n_tokens += int(inputs["attention_mask"].sum()) + int(
                (inputs["labels"] != IGNORE_INDEX).sum()
            )
            sync = i == len(micro_batches) - 1 or world == 1
            with self.ddp.no_sync() if not sync else nullcontext(), self.autocast:
                # The model's own loss, divided by the global batch's target count: the
                # micro-batches' losses add up to the global-batch mean whatever the split.
                loss = self.ddp(
                    input_ids=inputs["input_ids"],
                    attention_mask=inputs["attention_mask"],
                    labels=inputs["labels"],
                    num_items_in_batch=n_targets,
                    label_smoothing=self.config.optim.label_smoothing,
                ).loss
            # DDP averages gradients over processes; multiplying by `world` turns that into
            # the sum over processes.
            (loss * world).backward()
            loss_sum += loss.item() * n_targets
        if self.config.optim.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.clip_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss_sum, n_tokens = self.dist.sum(loss_sum), int(self.dist.sum(n_tokens))
        return loss_sum / n_targets, n_tokens

    def collate(self, indices: np.ndarray) -> dict[str, torch.Tensor]:
        return self.batch(self.train_set[indices.tolist()])

    def batch(self, rows: dict) -> dict[str, torch.Tensor]:
        """The model's inputs for dataset rows; the decoder reads the unscored tokens of the
        targets, but its loss leaves them out."""
        inputs = collate(
            rows["input_ids"], rows["labels"], self.tokenizer.pad_token_id, self.device
        )
        if self.unscored:
            inputs["decoder_input_ids"] = self.model.shift_right(inputs["labels"])
            inputs["labels"] = unscored_masked(inputs["labels"], self.unscored)
        return inputs

    # ---------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self) -> dict:
        """Validation loss on `eval_docs` documents and ROUGE on `rouge_docs` (main process)."""
        if self.val_set is None or not self.dist.is_main:
            self.dist.barrier()
            return {}
        settings = self.settings
        model = self.model.eval()
        # Evenly spaced documents, so every validation source is represented.
        subset = spread(len(self.val_set), settings.eval_docs)
        total, count = 0.0, 0
        for start in range(0, len(subset), settings.batch_size):
            rows = self.val_set[subset[start : start + settings.batch_size]]
            inputs = self.batch(rows)
            n = int((inputs["labels"] != IGNORE_INDEX).sum())
            with self.autocast:
                total += model(**inputs, num_items_in_batch=n).loss.item() * n
            count += n
        result = {"val_loss": total / count}
        if settings.rouge_docs:
            rows = self.val_set[spread(len(self.val_set), settings.rouge_docs)]
            predictions = []
            for ids in rows["input_ids"]:
                input_ids = torch.as_tensor(ids, device=self.device)[None]
                with self.autocast:
                    out = model.generate(
                        input_ids=input_ids,
                        max_new_tokens=settings.rouge_max_tokens,
                        num_beams=1,
                        do_sample=False,
                    )
                predictions.append(self.tokenizer.decode(out[0], skip_special_tokens=True))
            references = [
                self.tokenizer.decode(ids, skip_special_tokens=True) for ids in rows["labels"]
            ]
            result.update({f"val_{k}": v for k, v in rouge_f1(predictions, references).items()})
        self.dist.barrier()
        return result

    # --------------------------------------------------------------------- checkpoints
    def save_checkpoint(self, epoch: int) -> Path:
        """Write step-N atomically: into a temporary folder, then renamed; `latest` last."""
        root = self.out_dir / CHECKPOINTS
        final = root / f"step-{self.step:07d}"
        tmp = root / f".tmp-step-{self.step:07d}"
        if self.dist.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.dist.barrier()
        torch.save(rng_state(), tmp / f"rng-rank{self.dist.rank}.pt")
        if self.dist.is_main:
            self.model.save_pretrained(tmp)
            save_tokenizer(self.tokenizer, tmp)
            if self.salience is not None:  # the model reads its picks: keep them together
                self.salience.save(tmp)
            torch.save(
                {
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                },
                tmp / OPTIMIZER_FILE,
            )
            state = {
                "step": self.step,
                "epoch": epoch,
                "world_size": self.dist.world,
                "config": self.config.to_dict(),
            }
            (tmp / STATE_FILE).write_text(json.dumps(state, indent=2))
        self.dist.barrier()
        if self.dist.is_main:
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            write_atomically(root / LATEST, final.name)
            prune_checkpoints(root, self.settings.keep_checkpoints)
        self.dist.barrier()
        return final

    def grow(self, source: Path) -> None:
        """Start from the trained model in `source`, deeper by the layers this config adds."""
        trained = TerraformerForConditionalGeneration.from_pretrained(source)
        try:
            added = grow_from(self.model, trained)
        except GrowthError as error:
            raise ConfigError(f"model.init_from {str(source)!r}: {error}") from error
        if self.dist.is_main:
            log.info("started from %s, adding %s silent steps", source, added)

    def restore(self) -> None:
        root = self.out_dir / CHECKPOINTS
        latest = root / LATEST
        if not latest.is_file():
            log.warning("--resume: no checkpoint in %s yet; starting from scratch", root)
            return
        path = root / latest.read_text().strip()
        state = json.loads((path / STATE_FILE).read_text())
        if state["world_size"] != self.dist.world:
            raise ConfigError(
                f"{path} was written by {state['world_size']} process(es); resume with the same "
                f"number ({self.dist.world} now) to continue exactly"
            )
        loaded = TerraformerForConditionalGeneration.from_pretrained(path)
        self.model.load_state_dict(loaded.state_dict())
        saved = torch.load(path / OPTIMIZER_FILE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        set_rng_state(torch.load(path / f"rng-rank{self.dist.rank}.pt", weights_only=True))
        self.step = state["step"]
        if self.dist.is_main:
            log.info("resumed from %s (step %d)", path, self.step)


def lr_factor(optim: OptimSection, steps: int, step: int) -> float:
    """The learning rate at `step` as a share of optim.lr: linear warm-up, reciprocal-square-root
    decay, and over the last optim.cooldown_steps of `steps` a linear fall to zero."""
    warmup = max(1, optim.warmup_steps)
    factor = min((step + 1) / warmup, math.sqrt(warmup / (step + 1)))
    if optim.cooldown_steps:
        factor *= min(1.0, max(0.0, (steps - step) / optim.cooldown_steps))
    return factor


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The epoch's global batches: a seeded shuffle, then documents of similar length grouped
    (sorted within windows of 50 batches) so padding is small, then the batches shuffled."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    batches = [b for b in batches if len(b) == batch_size]  # equal-size steps
    return [batches[i] for i in rng.permutation(len(batches))]


def spread(n: int, k: int) -> list[int]:
    """k indices evenly spread over range(n) (all of them when k >= n)."""
    if k >= n:
        return list(range(n))
    return sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)})


def collate(
    inputs: list, labels: list, pad_id: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """Right-pad a batch: input_ids and attention_mask (B, S); labels (B, T) padded with -100."""
    s = max(len(x) for x in inputs)
    t = max(len(y) for y in labels)
    input_ids = torch.full((len(inputs), s), pad_id, dtype=torch.long)
    mask = torch.zeros((len(inputs), s), dtype=torch.long)
    label_ids = torch.full((len(labels), t), IGNORE_INDEX, dtype=torch.long)
    for i, (x, y) in enumerate(zip(inputs, labels, strict=True)):
        input_ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
        label_ids[i, : len(y)] = torch.tensor(y)
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": mask.to(device),
        "labels": label_ids.to(device),
    }


def unscored_masked(labels: torch.Tensor, sequences: list[tuple[int, ...]]) -> torch.Tensor:
    """`labels` (B, T) with every run of one of the token `sequences` set to IGNORE_INDEX."""
    masked = labels.clone()
    for sequence in sequences:
        n = len(sequence)
        if not n or n > labels.shape[1]:
            continue
        windows = labels.unfold(1, n, 1)  # (B, T - n + 1, n)
        starts = (windows == labels.new_tensor(sequence)).all(-1)
        for k in range(n):
            masked[:, k : k + starts.shape[1]][starts] = IGNORE_INDEX
    return masked


def build_optimizer(model: torch.nn.Module, optim) -> torch.optim.Optimizer:
    # No weight decay on biases, norms and other vectors.
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": optim.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if optim.name == "adamw":
        return torch.optim.AdamW(groups, lr=optim.lr, betas=(optim.beta1, optim.beta2))
    from transformers.optimization import Adafactor

    return Adafactor(
        groups,
        lr=optim.lr,
        scale_parameter=False,
        relative_step=False,
        warmup_init=False,
        clip_threshold=1.0,
    )


def resolve_precision(setting: str, device: torch.device) -> str:
    """What `train.precision` trains in: "fp32", or "bf16" (autocast; weights, gradients and
    optimizer stay fp32). "auto" takes bf16 where the hardware computes it natively: CUDA, and
    CPUs with AVX512-BF16 or AMX instructions, where the training step of
    configs/salient-cpu.toml ran 1.57x faster and a 2,000-step run ended at the same
    validation loss as fp32 (README, "Precision"). Other CPUs emulate bf16, slower than fp32."""
    if setting != "auto":
        return setting
    return "bf16" if native_bf16(device) else "fp32"


def native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return True
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's probes
    return device.type == "cpu" and any(getattr(torch.cpu, c, lambda: False)() for c in checks)


def rng_state() -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


def prune_checkpoints(root: Path, keep: int) -> None:
    if keep <= 0:
        return
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


class MetricsLog:
    """metrics.jsonl (truncated to the resume step, so a resumed run does not repeat lines)
    and TensorBoard, written by the main process only."""

    def __init__(self, out_dir: Path, active: bool, resume_step: int):
        self.active = active
        if not active:
            return
        self.path = out_dir / "metrics.jsonl"
        kept = []
        if self.path.exists():
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= resume_step
            ]
        write_atomically(self.path, "".join(line + "\n" for line in kept))
        self.file = open(self.path, "a")  # noqa: SIM115 - closed in close()
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(str(out_dir / "tb"), purge_step=resume_step + 1)

    def write(self, record: dict) -> None:
        if not self.active:
            return
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        for key, value in record.items():
            if key not in ("step", "epoch"):
                self.tb.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self.active:
            self.file.close()
            self.tb.close()


def write_summary(result: TrainResult, out_dir: Path) -> None:
    summary = {
        "steps": result.steps,
        "final_checkpoint": str(result.final_checkpoint),
        "last_loss": result.last_loss,
        "val_loss": result.val_loss,
        "median_tokens_per_s": result.tokens_per_second,
        "precision": result.precision,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))


def plot_losses(metrics_path: Path, image_path: Path) -> None:
    """Training and validation loss against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["step"] for r in records], [r["loss"] for r in records], label="train")
    val = [r for r in records if "val_loss" in r]
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats / token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(image_path, dpi=100)
    plt.close(fig)
