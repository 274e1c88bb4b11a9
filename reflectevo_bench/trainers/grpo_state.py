"""What a GRPO checkpoint needs besides Hugging Face's own state so that a resumed run equals an uninterrupted one.

Hugging Face's Trainer restores the weights, the optimizer, the scheduler, the RNG states and the step, and skips
the batches already trained in the current epoch. Two pieces of TRL's ``GRPOTrainer`` live outside that state:

- **The prompt order of later epochs.** TRL's ``RepeatSampler`` draws each epoch's permutation from one generator
  seeded once, so a fresh sampler (a resumed run) replays epoch 0's order in every epoch.
  :class:`EpochRepeatSampler` draws epoch ``e``'s permutation as the ``e``-th of the seeded generator whatever came
  before: the same orders as TRL's in an uninterrupted run, and the right one after a resume.
- **The generation buffer.** With ``steps_per_generation`` or ``num_iterations`` above one, one generation feeds
  several steps; a checkpoint saved between them would make the resumed run generate afresh (from other weights
  and another RNG state) and shift every later generation. :class:`ExactResumeGRPOTrainer` saves the micro-step
  counter and, inside a generation batch, the buffered generations in ``GENERATION_STATE`` (one file per
  process), and restores them on resume. A checkpoint saved inside a generation batch without that file is
  refused (one line): the run could not continue as it would have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from trl import GRPOTrainer
from trl.trainer.utils import RepeatSampler

from reflectevo_bench.errors import BenchError

GENERATION_STATE = "grpo_generation_state.pt"  # rank N > 0: grpo_generation_state.rankN.pt


def generation_state_file(checkpoint: Path, process_index: int) -> Path:
    name = GENERATION_STATE if process_index == 0 else GENERATION_STATE.replace(".pt", f".rank{process_index}.pt")
    return Path(checkpoint) / name


class EpochRepeatSampler(RepeatSampler):
    """TRL's ``RepeatSampler`` whose shuffled order is a function of the epoch (``set_epoch``)."""

    def set_epoch(self, epoch: int) -> None:
        if not self.shuffle or self.seed is None:
            return
        self.generator.manual_seed(self.seed)
        for _ in range(int(epoch)):  # the permutations the earlier epochs drew
            torch.randperm(self.num_samples, generator=self.generator)


class ExactResumeGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose checkpoints resume to the run that was interrupted (see the module docstring)."""

    _epoch_sampler: EpochRepeatSampler | None = None

    def _get_train_sampler(self, dataset: Any = None):
        base = super()._get_train_sampler(dataset)
        sampler = EpochRepeatSampler(
            data_source=base.data_source,
            mini_repeat_count=base.mini_repeat_count,
            batch_size=base.batch_size,
            repeat_count=base.repeat_count,
            shuffle=base.shuffle,
            seed=base.seed,
        )
        self._epoch_sampler = sampler
        return sampler

    def _run_epoch(self, *args: Any, **kwargs: Any):
        # accelerate forwards set_epoch to the sampler except through a skipping, sharded batch sampler: set it here
        if self._epoch_sampler is not None and "epoch" in kwargs:
            self._epoch_sampler.set_epoch(kwargs["epoch"])
        return super()._run_epoch(*args, **kwargs)

    def _generate_every(self) -> int:
        return self.args.steps_per_generation * self.num_iterations

    def _save_checkpoint(self, model, trial) -> None:
        super()._save_checkpoint(model, trial)
        folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
        folder.mkdir(parents=True, exist_ok=True)
        inside = self._step % self._generate_every() != 0
        torch.save(
            {"step": self._step, "buffer": self._buffered_inputs if inside else None},
            generation_state_file(folder, self.args.process_index),
        )

    def _load_optimizer_and_scheduler(self, checkpoint) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = generation_state_file(Path(checkpoint), self.args.process_index)
        if path.is_file():
            try:
                state = torch.load(path, map_location=self.accelerator.device, weights_only=True)
                self._step, self._buffered_inputs = int(state["step"]), state["buffer"]
            except Exception as exc:  # a torn file, or one a future TRL filled with objects we cannot load safely
                raise BenchError(
                    f"cannot read {path} ({type(exc).__name__}): resume from another checkpoint, or delete that "
                    f"checkpoint folder"
                ) from None
            return
        micro_steps = self.state.global_step * self.args.gradient_accumulation_steps
        if micro_steps % self._generate_every() != 0:
            raise BenchError(
                f"cannot resume exactly from {checkpoint}: it was saved inside a generation batch "
                f"(steps_per_generation {self.args.steps_per_generation} x num_iterations {self.num_iterations}) "
                f"and has no {path.name} holding that batch's generations; resume from a checkpoint saved at a "
                f"generation boundary"
            )
        self._step, self._buffered_inputs = micro_steps, None
