"""The Priority Learning Channel (PLC): a training sampler that draws clips by priority, P(i) = p_i^eta / sum p_j^eta.

Priorities come from the rewards the trainer observes (the negative per-frame errors of a clip, see
``signllm_hf.training.trainer``); by default p_i = |r_i| + eps, so clips the model still gets wrong are drawn more
often, and clips not seen yet keep the highest priority so far (they are drawn early, as in prioritised experience
replay).

Under Accelerate every process must draw the same global stream (each keeps its own share of the batches), so the
sampler is not rank-aware: its stream is a function of the seed, the epoch and the priorities it drew with, and the
trainer reduces priority updates across processes before applying them. Each epoch draws from a snapshot of the
priorities taken when the epoch starts; :meth:`state_dict` keeps that snapshot, so a run resumed in the middle of an
epoch redraws exactly the same batches.

With ``language_batches`` every batch holds one language (MLSF trains one group per step): a batch's language is
drawn in proportion to its clips' total probability, then the batch within it, which keeps each clip's probability.
Without priorities (``uniform=True``) it is a shuffled pass over the data, one language per batch. With several
processes, ``language_rounds`` = their number makes consecutive batches share a language in runs of that length;
Accelerate deals batch k of a run to process k, so all processes train the same language's group in every step (DDP
then averages gradients of one group, and FSDP's collectives meet on the same layers).

Example:
    >>> from signllm_hf.training.plc import PriorityLearningChannelSampler
    >>> sampler = PriorityLearningChannelSampler(["ase", "ase", "gsg", "gsg"], batch_size=2, eta=1.0, seed=0)
    >>> sampler.update([0, 1], [-0.9, -0.1])  # clip 0 is still far off, clip 1 nearly right
    >>> [round(p, 2) for p in sampler.probabilities().tolist()]
    [0.32, 0.04, 0.32, 0.32]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

EPS = 1e-3
PRIORITIES = ("error", "rank", "reward")


class PriorityLearningChannelSampler(Sampler[int]):
    """Dataset indices drawn with probability P(i) = p_i^eta / sum_j p_j^eta (with replacement), batch by batch.

    Args:
        languages: the language of every training clip (one per dataset row).
        batch_size: rows per batch (the per-device batch size: the DataLoader groups consecutive indices).
        eta: PLC strength; 0 < eta (1: proportional to priority; smaller flattens, larger sharpens).
        priority: ``"error"`` (|r| + eps), ``"rank"`` (1 / rank by error) or ``"reward"`` (exp(r)).
        batches_per_epoch: length of a sampler epoch in batches (priorities reshape the draw at each epoch).
        seed: the stream is a function of (seed, epoch, priorities).
        language_batches: one language per batch.
        language_rounds: with ``language_batches``, runs of this many consecutive batches share a language (the
            number of processes; ``batches_per_epoch`` is rounded up to a multiple of it).
        uniform: ignore priorities: a shuffled pass over the data (the sampler without PLC).
    """

    def __init__(
        self,
        languages: Sequence[str],
        batch_size: int,
        eta: float = 1.0,
        priority: str = "error",
        batches_per_epoch: int | None = None,
        seed: int = 0,
        language_batches: bool = True,
        language_rounds: int = 1,
        uniform: bool = False,
    ):
        if priority not in PRIORITIES:
            raise ValueError(f"`priority` must be one of {PRIORITIES}, got {priority!r}")
        if language_rounds < 1:
            raise ValueError(f"`language_rounds` must be >= 1, got {language_rounds}")
        if eta <= 0:
            raise ValueError(f"`eta` must be > 0, got {eta}")
        if batch_size <= 0:
            raise ValueError(f"`batch_size` must be > 0, got {batch_size}")
        if not len(languages):
            raise ValueError("cannot sample from an empty training set")
        self.languages = np.asarray(list(languages))
        self.codes = sorted(set(self.languages.tolist()))
        self.members = {code: np.flatnonzero(self.languages == code) for code in self.codes}
        self.batch_size = batch_size
        self.eta = eta
        self.priority = priority
        self.seed = seed
        self.language_batches = language_batches
        self.rounds = language_rounds if language_batches else 1
        self.uniform = uniform
        default_batches = sum(-(-len(m) // batch_size) for m in self.members.values()) if language_batches else None
        batches = batches_per_epoch or default_batches or -(-len(self.languages) // batch_size)
        self.batches_per_epoch = -(-batches // self.rounds) * self.rounds
        self.rewards = np.full(len(self.languages), np.nan)  # last observed per-clip reward (NaN: not seen yet)
        self.epoch = 0
        self.drawn_epoch: int | None = None
        self.drawn_priorities: np.ndarray | None = None  # what the current epoch was drawn with
        self._restored: tuple[int, np.ndarray] | None = None

    # -- priorities ----------------------------------------------------------------------------------------------

    def priorities(self) -> np.ndarray:
        """p_i of every clip from its last reward; unseen clips get the highest priority so far."""
        seen = ~np.isnan(self.rewards)
        if self.uniform or not seen.any():
            return np.ones(len(self.rewards))
        errors = -self.rewards[seen]
        if self.priority == "error":
            values = np.abs(errors) + EPS
        elif self.priority == "rank":
            order = np.argsort(-errors, kind="stable")  # rank 1 = the largest error
            values = np.empty(len(errors))
            values[order] = 1.0 / np.arange(1, len(errors) + 1)
        elif self.priority == "reward":
            values = np.exp(self.rewards[seen])
        priorities = np.full(len(self.rewards), values.max())
        priorities[seen] = values
        return priorities

    def probabilities(self, priorities: np.ndarray | None = None) -> np.ndarray:
        """P(i) = p_i^eta / sum_j p_j^eta."""
        powered = (self.priorities() if priorities is None else priorities) ** self.eta
        return powered / powered.sum()

    def update(self, indices: Sequence[int], rewards: Sequence[float]) -> None:
        """Record the rewards (<= 0) observed for these clips; later epochs draw with the new priorities."""
        self.rewards[np.asarray(indices, dtype=np.int64)] = np.asarray(rewards, dtype=np.float64)

    def importance_weights(self, indices: Sequence[int], beta: float) -> np.ndarray:
        """Prioritised-replay correction for clips drawn this epoch: (N P(i))^-beta, divided by its maximum."""
        if self.uniform or beta == 0:
            return np.ones(len(indices))
        drawn = self.drawn_priorities if self.drawn_priorities is not None else self.priorities()
        probabilities = self.probabilities(drawn)
        weights = (len(probabilities) * probabilities) ** -beta
        return weights[np.asarray(indices, dtype=np.int64)] / weights.max()

    # -- the stream ----------------------------------------------------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.batches_per_epoch * self.batch_size

    def __iter__(self) -> Iterator[int]:
        if self._restored is not None and self._restored[0] == self.epoch:
            priorities = self._restored[1]  # a resumed epoch: the priorities it was first drawn with
        else:
            priorities = self.priorities()
        self._restored = None
        self.drawn_epoch, self.drawn_priorities = self.epoch, priorities.copy()
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        batches = self._uniform_batches(generator) if self.uniform else self._priority_batches(priorities, generator)
        for batch in batches[: self.batches_per_epoch]:
            yield from (int(i) for i in batch)

    def _priority_batches(self, priorities: np.ndarray, generator: torch.Generator) -> list[np.ndarray]:
        probabilities = torch.from_numpy(self.probabilities(priorities))
        if not self.language_batches:
            drawn = torch.multinomial(
                probabilities, self.batches_per_epoch * self.batch_size, True, generator=generator
            )
            return list(drawn.numpy().reshape(-1, self.batch_size))
        language_mass = torch.stack([probabilities[self.members[c]].sum() for c in self.codes])
        chosen = torch.multinomial(language_mass, self.batches_per_epoch // self.rounds, True, generator=generator)
        batches = []
        for code_index in chosen.tolist():  # a run of `rounds` batches per drawn language
            members = self.members[self.codes[code_index]]
            for _ in range(self.rounds):
                within = torch.multinomial(probabilities[members], self.batch_size, True, generator=generator)
                batches.append(members[within.numpy()])
        return batches

    def _uniform_batches(self, generator: torch.Generator) -> list[np.ndarray]:
        # A shuffled pass: each language's clips permuted and cut into runs of `rounds` batches (the last one topped
        # up from the start of the same permutation), then the runs shuffled; repeated when the epoch asks for more.
        batches: list[np.ndarray] = []
        run = self.batch_size * self.rounds
        while len(batches) < self.batches_per_epoch:
            groups = self.members.values() if self.language_batches else [np.arange(len(self.languages))]
            runs = []
            for members in groups:
                order = members[torch.randperm(len(members), generator=generator).numpy()]
                padded = np.resize(order, -(-len(order) // run) * run)
                runs.extend(padded.reshape(-1, self.rounds, self.batch_size))
            permutation = torch.randperm(len(runs), generator=generator).tolist()
            batches.extend(batch for i in permutation for batch in runs[i])
        return batches

    # -- checkpoints ---------------------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        drawn = self.drawn_priorities if self.drawn_priorities is not None else self.priorities()
        return {"rewards": self.rewards.copy(), "drawn_epoch": self.drawn_epoch, "drawn_priorities": drawn}

    def load_state_dict(self, state: dict) -> None:
        rewards = np.asarray(state["rewards"], dtype=np.float64)
        if rewards.shape != self.rewards.shape:
            raise ValueError(
                f"the checkpoint's PLC state covers {len(rewards)} clips but the training set has "
                f"{len(self.rewards)}; resume with the same training data"
            )
        self.rewards = rewards
        if state.get("drawn_epoch") is not None:
            self._restored = (int(state["drawn_epoch"]), np.asarray(state["drawn_priorities"], dtype=np.float64))
            # Resuming mid-epoch with several processes, the Trainer's set_epoch does not reach this sampler (it
            # sits under accelerate's batch skipping): start from the epoch the checkpoint was in.
            self.epoch = int(state["drawn_epoch"])


class LanguagePriority:
    """The Priority Learning Channel for a stream of clips (letter strings spelled on the fly): the language of each
    batch is drawn with probability proportional to its running training loss to the power ``eta``.

    An MLSF signer trains one group per language, and languages are not equally hard (a two-handed alphabet with
    letters drawn in the air takes longer than a one-handed one); drawn uniformly, the hard ones are under-trained
    when the easy ones are already legible. The running loss of a language is an exponential moving average of the
    mean frame error of the batches that trained it (``decay`` per batch of that language); a language not seen yet
    takes the highest running loss so far, so every language is drawn early. ``eta`` 0 is uniform.

    The trainer gathers each update over all processes before applying it, and every process draws from the same
    seeded stream, so all of them keep the same probabilities and train the same language in a step.

    >>> priority = LanguagePriority(["ase", "gsg", "tsm"], eta=1.0)
    >>> priority.probabilities().tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    >>> priority.update({"ase": 0.2, "tsm": 0.6})  # gsg not seen yet: it counts as the hardest so far
    >>> [round(p, 3) for p in priority.probabilities().tolist()]
    [0.143, 0.429, 0.429]
    """

    def __init__(self, languages: Sequence[str], eta: float = 1.0, decay: float = 0.9):
        if eta < 0:
            raise ValueError(f"`eta` must be >= 0, got {eta}")
        if not 0 <= decay < 1:
            raise ValueError(f"`decay` must be in [0, 1), got {decay}")
        self.languages, self.eta, self.decay = list(languages), eta, decay
        self.losses: dict[str, float] = {}
        # Updates each language received: its training steps (with several processes, a step's batches are one update).
        self.batches: dict[str, int] = dict.fromkeys(self.languages, 0)

    def update(self, losses: dict[str, float]) -> None:
        """Fold in the mean frame error of each language trained in a batch."""
        for language, loss in losses.items():
            if language not in self.languages:
                raise ValueError(f"language {language!r} is not one of this stream's {self.languages}")
            self.batches[language] += 1
            previous = self.losses.get(language)
            self.losses[language] = loss if previous is None else self.decay * previous + (1 - self.decay) * loss

    def probabilities(self) -> np.ndarray:
        """The probability of each language (in ``languages`` order) for the next batch."""
        highest = max(self.losses.values(), default=1.0)
        running = np.array([self.losses.get(code, highest) for code in self.languages], dtype=np.float64)
        weights = np.maximum(running, EPS) ** self.eta
        return weights / weights.sum()

    def summary(self) -> dict:
        """What a run's ``metrics.json`` keeps: the running losses, the last probabilities and the batches drawn."""
        probabilities = dict(zip(self.languages, self.probabilities().round(4).tolist()))
        losses = {code: round(loss, 5) for code, loss in self.losses.items()}
        return {"eta": self.eta, "running_loss": losses, "probabilities": probabilities, "batches": self.batches}
