"""llama.cpp's saved prompt states, held within the RAM the user gave them (`models.prompt_cache_mb`).

llama-cpp-python's `LlamaRAMCache` counts only each state's context bytes against its capacity, but
every state it saves also carries a copy of the model's logits buffer: `n_batch` rows of the whole
vocabulary (256 x 151,936 floats, 156 MB, for Qwen2.5), which a model made without `logits_all`
never reads, since llama.cpp's sampler picks the tokens. A cache of 512 MB so held several GB.
"""

from __future__ import annotations

from collections.abc import Sequence

from llama_cpp import LlamaRAMCache
from llama_cpp.llama import LlamaState


def state_bytes(state: LlamaState) -> int:
    """All the memory a saved state holds: the context's bytes, its logits and its tokens."""
    return int(state.llama_state_size) + int(state.scores.nbytes) + int(state.input_ids.nbytes)


class PromptStateCache(LlamaRAMCache):
    """A `LlamaRAMCache` whose capacity bounds everything it holds.

    A state's logits are cut to their last row unless the model keeps every token's logits
    (restoring a state broadcasts that row over the rows it fills, which nothing reads), and the
    capacity counts each state whole, so the least recently used states go when it is full.
    """

    def __init__(self, capacity_bytes: int, keeps_all_logits: bool = False) -> None:
        super().__init__(capacity_bytes)
        self.keeps_all_logits = keeps_all_logits

    @property
    def cache_size(self) -> int:
        return sum(state_bytes(state) for state in self.cache_state.values())

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        if not self.keeps_all_logits:
            value.scores = value.scores[-1:].copy()
        super().__setitem__(key, value)
