"""A word-level text corpus in Penn Treebank layout (train / valid / test text files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nasplat import hookimpl
from nasplat.dataset import Dataset, Split
from nasplat.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where tensors are made: `nasplat --help` stays fast
    import torch

FILES = {"train": ("ptb.train.txt", "train.txt"), "validation": ("ptb.valid.txt", "valid.txt"),
         "test": ("ptb.test.txt", "test.txt")}
LAYOUT = ("a folder with ptb.train.txt, ptb.valid.txt and ptb.test.txt (or train.txt, "
          "valid.txt, test.txt): one sentence per line, words separated by spaces")
EOS, UNK = "<eos>", "<unk>"


class TextCorpus(Dataset):
    """Next-word prediction on a local corpus in Penn Treebank layout (PTB, or the like).

    Words are split on spaces, each line ends in ``<eos>``, and the vocabulary is the training
    set's words in sorted order; a word of valid/test missing from it becomes ``<unk>``. Each
    split is cut into windows of ``seq_len`` words, the label of each word being the next one.
    """

    name = "text_corpus"
    task = "language_modelling"

    class Options(BaseModel):
        """Where the files are, the window length, and an optional cap on training words."""

        model_config = ConfigDict(extra="forbid")
        path: str | None = None
        seq_len: int = Field(default=35, ge=2)  # the BPTT length of Zaremba et al. (2014)
        train_limit: int | None = Field(default=None, ge=2)
        """Use only the first this-many training words (quick runs)."""

    def __init__(self, path: str | None = None, seq_len: int = 35,
                 train_limit: int | None = None) -> None:
        self.path = Path(path).expanduser() if path else None
        self.seq_len, self.train_limit = seq_len, train_limit
        self.input_shape = (seq_len,)
        self._ids: dict[str, np.ndarray] = {}
        self._vocab: dict[str, int] | None = None
        if self.path is not None:
            self._files()  # a wrong path fails now, with the layout, not at the first trial

    @property
    def classes(self) -> int:  # type: ignore[override]
        """The vocabulary size (read from the training file)."""
        return len(self.vocab)

    @property
    def vocab(self) -> dict[str, int]:
        """Word → id, from the training file."""
        if self._vocab is None:
            words = sorted(set(self._words("train")))
            self._vocab = {w: i for i, w in enumerate(words)}
        return self._vocab

    def load(self, split: str) -> Split:
        """Windows of ``seq_len`` word ids and, as labels, the word after each."""
        import torch

        if split not in FILES:
            raise self.unknown_split(split)
        ids = torch.from_numpy(self._token_ids(split))
        n = (len(ids) - 1) // self.seq_len
        if n < 1:
            raise ConfigError(f"dataset '{self.name}': split {split} has {len(ids)} words, fewer "
                              f"than seq_len + 1 = {self.seq_len + 1}")
        t = self.seq_len
        return Split(ids[:n * t].view(n, t), ids[1:n * t + 1].view(n, t))

    def sizes(self) -> dict[str, int]:
        """Windows per split."""
        return {s: max((len(self._token_ids(s)) - 1) // self.seq_len, 0) for s in FILES}

    def _token_ids(self, split: str) -> np.ndarray:
        if split not in self._ids:
            vocab, unk = self.vocab, self.vocab.get(UNK)
            words = self._words(split)
            if split == "train" and self.train_limit:
                words = words[:self.train_limit]
            try:
                ids = [vocab[w] if unk is None else vocab.get(w, unk) for w in words]
            except KeyError as exc:
                raise ConfigError(f"dataset '{self.name}': word {exc} of {split} is not in the "
                                  f"training vocabulary, and the corpus has no {UNK} token to "
                                  f"stand for it") from None
            self._ids[split] = np.asarray(ids, dtype=np.int64)
        return self._ids[split]

    def _words(self, split: str) -> list[str]:
        text = self._files()[split].read_text(encoding="utf-8")
        return text.replace("\n", f" {EOS} ").split()

    def _files(self) -> dict[str, Path]:
        if self.path is None:
            raise ConfigError(f"dataset '{self.name}' needs its files: set "
                              f"dataset.options.path to {LAYOUT}")
        if not self.path.is_dir():
            raise ConfigError(f"dataset '{self.name}': path {self.path} is not a folder: "
                              f"expected {LAYOUT}")
        found = {}
        for split, names in FILES.items():
            match = next((self.path / n for n in names if (self.path / n).is_file()), None)
            if match is None:
                raise ConfigError(f"dataset '{self.name}': folder {self.path} has no "
                                  f"{' or '.join(names)}: expected {LAYOUT}")
            found[split] = match
        return found


@hookimpl
def nasplat_register_datasets(register: Any) -> None:
    """Register the text corpus dataset."""
    register(TextCorpus)
