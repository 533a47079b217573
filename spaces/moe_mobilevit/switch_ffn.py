"""The Switch-FFN: a transformer FFN replaced by top-1 routed experts (Fedus et al., 2022).

Tokens are dispatched without a loop over tokens: sorted by expert, then one matmul per expert
on a contiguous slice (``sorted``), or one grouped GEMM for all experts on CUDA (``grouped``,
``torch._grouped_mm``). Both give the outputs of routing each token on its own.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Dispatch = Literal["auto", "sorted", "grouped"]


def grouped_mm_available(device: torch.device) -> bool:
    """Whether ``torch._grouped_mm`` can run on ``device`` (CUDA, compute capability 9.0+)."""
    if not hasattr(torch, "_grouped_mm") or device.type != "cuda":
        return False
    return torch.cuda.get_device_capability(device) >= (9, 0)


class SwitchFFN(nn.Module):
    """A position-wise FFN with ``experts`` experts and a top-1 router (dense when 1 expert).

    Input and output are ``(..., dim)``. Each token goes to the expert of highest router
    probability and its output is scaled by that probability (Switch Transformer, eq. 1-2).
    With one expert there is no router and the layer is exactly the dense FFN
    ``Linear(dim, hidden) → SiLU → Linear(hidden, dim)`` of MobileViTv2.

    After a forward pass in training mode, ``aux_loss`` holds the load-balancing loss
    ``E · Σᵢ fᵢ Pᵢ`` (Switch Transformer, eq. 4; not yet scaled by its coefficient);
    ``last_expert`` holds each token's expert when ``record`` is set.
    """

    def __init__(self, dim: int, hidden: int, experts: int = 1,
                 capacity_factor: float | None = None, dispatch: Dispatch = "auto") -> None:
        super().__init__()
        if experts < 1:
            raise ValueError(f"a Switch-FFN needs at least one expert, got {experts}")
        self.dim, self.hidden, self.capacity_factor, self.dispatch = (dim, hidden,
                                                                     capacity_factor, dispatch)
        # experts' weights stacked (experts, in, out): one slice per expert, one grouped GEMM
        # for all of them, and pruning an expert is dropping a slice
        self.w1 = nn.Parameter(torch.empty(experts, dim, hidden))
        self.b1 = nn.Parameter(torch.zeros(experts, hidden))
        self.w2 = nn.Parameter(torch.empty(experts, hidden, dim))
        self.b2 = nn.Parameter(torch.zeros(experts, dim))
        # the Switch router is a bias-free linear map to one logit per expert
        self.router = nn.Linear(dim, experts, bias=False) if experts > 1 else None
        for w in (self.w1, self.w2):  # nn.Linear's default initialisation, per expert
            for e in range(experts):
                nn.init.kaiming_uniform_(w.data[e].T, a=math.sqrt(5))
        for w, b in ((self.w1, self.b1), (self.w2, self.b2)):
            bound = 1 / math.sqrt(w.shape[1])
            nn.init.uniform_(b, -bound, bound)
        self.aux_loss: torch.Tensor | None = None
        self.record = False
        self.last_expert: torch.Tensor | None = None

    @property
    def experts(self) -> int:
        """The number of experts."""
        return self.w1.shape[0]

    @staticmethod
    def param_count(dim: int, hidden: int, experts: int) -> int:
        """Parameters of a Switch-FFN, without building it."""
        router = dim * experts if experts > 1 else 0
        return experts * (2 * dim * hidden + hidden + dim) + router

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Route each token of ``x`` (``(..., dim)``) to its expert; same shape out."""
        shape = x.shape
        tokens = x.reshape(-1, self.dim)
        if self.router is None:
            self.aux_loss = None
            if self.record:
                self.last_expert = torch.zeros(len(tokens), dtype=torch.long, device=x.device)
            return self._expert(tokens, 0).reshape(shape)
        # the router in fp32: its softmax decides the routing (Switch Transformer, sec. 2.4)
        probs = F.softmax(self.router(tokens).float(), dim=-1)
        gate, expert = probs.max(dim=-1)
        if self.record:
            self.last_expert = expert.detach()
        if self.training:
            # Switch eq. (4): f_i share of tokens sent to expert i, P_i its mean probability
            share = torch.bincount(expert, minlength=self.experts).to(probs.dtype) / len(expert)
            self.aux_loss = self.experts * torch.sum(share * probs.mean(dim=0))
        else:
            self.aux_loss = None
        out = self._dispatch(tokens, expert, gate.to(x.dtype))
        return out.reshape(shape)

    # --- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, tokens: torch.Tensor, expert: torch.Tensor,
                  gate: torch.Tensor) -> torch.Tensor:
        """Sort tokens by expert, run each expert on its contiguous slice, scatter back."""
        order = torch.argsort(expert, stable=True)  # stable: within an expert, token order
        counts = torch.bincount(expert, minlength=self.experts)
        if self.capacity_factor is not None:
            # tokens past an expert's capacity are dropped: their FFN output is 0 and the
            # residual connection carries them on (Switch Transformer, sec. 2.2)
            capacity = math.ceil(self.capacity_factor * len(tokens) / self.experts)
            starts = torch.cumsum(counts, 0) - counts
            rank = torch.arange(len(order), device=order.device) - starts[expert[order]]
            order = order[rank < capacity]
            counts = counts.clamp(max=capacity)
        inputs = tokens[order]
        if self._use_grouped(tokens):
            outputs = self._grouped(inputs, counts)
        else:
            # one host sync for the slice sizes; then one matmul per expert, never per token
            pieces = torch.split(inputs, counts.tolist())
            outputs = torch.cat([self._expert(piece, e) for e, piece in enumerate(pieces)])
        out = torch.zeros_like(tokens)
        return out.index_copy(0, order, outputs * gate[order, None])

    def _use_grouped(self, tokens: torch.Tensor) -> bool:
        if self.dispatch == "sorted":
            return False
        if self.dispatch == "grouped":
            return hasattr(torch, "_grouped_mm")
        return grouped_mm_available(tokens.device) and tokens.dtype == torch.bfloat16

    def _grouped(self, inputs: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """All experts in two grouped GEMMs; ``offs`` are the slices' end offsets."""
        offs = torch.cumsum(counts, 0).to(torch.int32)
        dtype = inputs.dtype
        w1, w2 = self.w1.to(dtype), self.w2.to(dtype)
        expert_of_row = torch.repeat_interleave(torch.arange(self.experts, device=inputs.device),
                                                counts, output_size=len(inputs))
        hidden = torch._grouped_mm(inputs, w1, offs=offs) + self.b1.to(dtype)[expert_of_row]
        hidden = F.silu(hidden)
        return torch._grouped_mm(hidden, w2, offs=offs) + self.b2.to(dtype)[expert_of_row]

    def _expert(self, x: torch.Tensor, e: int) -> torch.Tensor:
        """Expert ``e`` on tokens ``x``: MobileViTv2's FFN, ``Linear → SiLU → Linear``."""
        hidden = F.silu(torch.addmm(self.b1[e].to(x.dtype), x, self.w1[e].to(x.dtype)))
        return torch.addmm(self.b2[e].to(x.dtype), hidden, self.w2[e].to(x.dtype))

    # --- pruning --------------------------------------------------------------------------------

    @torch.no_grad()
    def remove_expert(self, e: int) -> None:
        """Drop expert ``e`` and its router row; its tokens go to their next-best expert.

        The router's softmax runs over the remaining experts, so a token of ``e`` now picks
        the expert that had its second-highest probability. One expert left: the router goes
        too (its softmax over one logit is always 1), leaving exactly the dense FFN.
        """
        if self.experts == 1:
            raise ValueError("cannot remove the last expert of a Switch-FFN")
        keep = [i for i in range(self.experts) if i != e]
        for name in ("w1", "b1", "w2", "b2"):
            old = getattr(self, name)
            setattr(self, name, nn.Parameter(old.data[keep].clone(),
                                             requires_grad=old.requires_grad))
        assert self.router is not None
        if len(keep) == 1:
            self.router = None
        else:
            router = nn.Linear(self.dim, len(keep), bias=False).to(self.w1.device)
            router.weight.copy_(self.router.weight[keep])
            self.router = router
