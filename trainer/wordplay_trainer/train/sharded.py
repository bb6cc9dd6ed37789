"""Sharded training, distributed.backend fsdp or deepspeed: wrap the model, gather a full state
for checkpoints, load a full state into the sharded model and optimizer.

Each process holds a shard of the weights (FSDP, ZeRO-3) or of the optimizer state (ZeRO 1-2),
but checkpoints keep the one contract of checkpoint.py: the full weights, and the full optimizer
state keyed by parameter index as torch's `optimizer.state_dict()` writes it. So a checkpoint
resumes under any backend and any number of processes, and exports like any other. Gathering and
loading are collectives: every process calls them, rank 0 alone receives the full state.

- fsdp: PyTorch FSDP2, `fully_shard` on each block, then on the whole model (whose group holds
  the embedding, tied to the head, and the final norm). On CUDA the blocks compute in the run's
  dtype and reduce gradients in float32 (MixedPrecisionPolicy); the sharded weights stay float32.
  Full states through torch.distributed.checkpoint.state_dict.
- deepspeed: ZeRO stages 1-3 around the run's torch AdamW, which DeepSpeed steps on its float32
  partitions; DeepSpeed accumulates the micro-batches and clips the gradients. Full states read
  from, and written into, those partitions (deepspeed.utils.safe_get/set_full_*).

Limits: DeepSpeed runs without its offload (CPU, NVMe) and its own optimizers; under float16 its
loss scale is not checkpointed (a resumed run starts from the initial scale), and a resumed
bfloat16 run rebuilds its float32 master weights from the bfloat16 ones, as DeepSpeed does at
any start. On the CPU, DeepSpeed compiles its shared-memory collectives once when a C++ compiler
is present (cached in ~/.cache/torch_extensions). Muon is refused under deepspeed (config.py);
under fsdp it runs on the sharded matrices (DTensor computes the orthogonalisation).
"""

from __future__ import annotations

import logging
import os
import sys

import torch
import torch.distributed as dist

from ..common.compute import Compute
from ..common.errors import TrainerError
from ..common.schemas import PACKAGE_DIR
from .model import GPT
from .run_config import RunConfig

DEEPSPEED_REQUIREMENTS = PACKAGE_DIR.parent / "requirements-deepspeed.txt"


def named_groups(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> list[list[str]]:
    """The parameter names of each optimizer group, in order: a parameter's place in this list
    is its index in an optimizer state dict (a tied parameter is named once)."""
    name_of = {id(p): n for n, p in model.named_parameters()}
    return [[name_of[id(p)] for p in group["params"]] for group in optimizer.param_groups]


def group_settings(groups: list[dict]) -> list[dict]:
    """Each group's settings (learning rate, betas, weight decay ...) without its parameters."""
    return [{k: v for k, v in g.items() if k != "params"} for g in groups]


# ---- fsdp ------------------------------------------------------------------------------------


def fsdp_wrap(model: GPT, compute: Compute) -> None:
    """Shards the model in place over every process: each block, then the rest."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard, register_fsdp_forward_method

    policy = MixedPrecisionPolicy()
    if compute.device.type == "cuda" and compute.dtype != "float32":
        policy = MixedPrecisionPolicy(param_dtype=getattr(torch, compute.dtype), reduce_dtype=torch.float32)
    for block in model.transformer.h:
        fully_shard(block, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    # sampling's path (GPT.generate) gathers the shards as forward does
    for module in (*model.transformer.h, model):
        register_fsdp_forward_method(module, "forward_cached")


class Fsdp:
    """Full states of an FSDP2 model and its optimizer (built after fsdp_wrap)."""

    def __init__(self, model: GPT, optimizer: torch.optim.Optimizer):
        self.model, self.optimizer = model, optimizer
        self.names = named_groups(model, optimizer)
        self.order = [name for group in self.names for name in group]

    def full_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The whole weights and optimizer state on rank 0, in the CPU's memory; ({}, {})
        elsewhere."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        weights, by_name = get_state_dict(self.model, self.optimizer, options=options)
        if not weights:  # a rank other than 0
            return {}, {}
        state = {i: by_name["state"][name] for i, name in enumerate(self.order) if name in by_name["state"]}
        return weights, {"state": state, "param_groups": indexed_groups(by_name["param_groups"], self.names)}

    def load_optimizer_state(self, sd: dict) -> None:
        """A whole optimizer state (every process read it), each process keeping its shard."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        by_name = {
            "state": {self.order[i]: value for i, value in sd["state"].items()},
            "param_groups": [
                {**settings, "params": names}
                for settings, names in zip(group_settings(sd["param_groups"]), self.names, strict=True)
            ],
        }
        set_optimizer_state_dict(
            self.model, self.optimizer, by_name, options=StateDictOptions(full_state_dict=True)
        )


def indexed_groups(groups: list[dict], names: list[list[str]]) -> list[dict]:
    """Param groups with each parameter given by its index (the state-dict form)."""
    out, start = [], 0
    for settings, group in zip(group_settings(groups), names, strict=True):
        out.append({**settings, "params": list(range(start, start + len(group)))})
        start += len(group)
    return out


# ---- deepspeed -------------------------------------------------------------------------------


def import_deepspeed(compute: Compute):
    """DeepSpeed, on the CPU accelerator when training on the CPU (it must know before its
    import), or a TrainerError saying how to install it."""
    if compute.device.type == "cpu":
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    try:
        import deepspeed
    except ImportError as e:
        pin = next(
            line for line in DEEPSPEED_REQUIREMENTS.read_text().splitlines() if line.startswith("deepspeed")
        )
        raise TrainerError(
            f"distributed.backend deepspeed needs DeepSpeed, which the trainer's Python ({sys.executable}) "
            f"cannot import ({e}); install it with `wordplay setup --deepspeed` (or `{sys.executable} -m "
            f"pip install {pin}`), or set distributed.backend to ddp or fsdp",
            "distributed.backend",
        ) from None
    # its INFO lines (configuration dumps, a line every few steps) would drown the run's own
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    return deepspeed


class DeepSpeed:
    """A DeepSpeed engine around the model and its torch AdamW, and their full states."""

    def __init__(self, model: GPT, optimizer: torch.optim.Optimizer, cfg: RunConfig, compute: Compute):
        stage = cfg.distributed.zero_stage
        if stage == 0:
            raise TrainerError(
                "distributed.zero_stage 0 shards nothing: it is plain data parallelism, which "
                "distributed.backend ddp runs; set zero_stage to 1, 2 or 3, or backend to ddp",
                "distributed.zero_stage",
            )
        deepspeed = import_deepspeed(compute)
        # DeepSpeed reads it; a process torchrun did not start has none
        os.environ.setdefault("LOCAL_RANK", "0")
        self.stage = stage
        self.names = named_groups(model, optimizer)
        self.order = [name for group in self.names for name in group]
        self.params = [p for group in optimizer.param_groups for p in group["params"]]  # in that order
        ds_config = {
            "train_micro_batch_size_per_gpu": cfg.train.batch_size,
            "gradient_accumulation_steps": cfg.train.gradient_accumulation_steps // compute.world,
            "zero_optimization": {"stage": stage},
            "gradient_clipping": cfg.optimizer.grad_clip,
            "bf16": {"enabled": compute.dtype == "bfloat16"},
            "fp16": {"enabled": compute.dtype == "float16"},
        }
        self.engine, self.optimizer, _, _ = deepspeed.initialize(
            model=model, optimizer=optimizer, config=ds_config
        )
        self.inner = self.optimizer.optimizer  # the torch AdamW, now over float32 partitions

    def _partitions(self) -> list[torch.Tensor]:
        """This process's float32 partitions, the tensors the torch AdamW steps."""
        if self.stage == 3:
            return self.optimizer.fp32_partitioned_groups_flat
        return self.optimizer.single_partition_of_fp32_groups

    def _link_states(self) -> None:
        """ZeRO 1-2 point each parameter at its slice of the optimizer state after the first
        step, but DeepSpeed 0.19.8 links the first group's only (it links after that group's
        step, before the others have a state): link them all."""
        if self.stage == 3:
            return
        from deepspeed.utils import lazy_init_hp_params_optimizer_state

        for group, flat in zip(self.optimizer.bit16_groups, self._partitions(), strict=True):
            lazy_init_hp_params_optimizer_state(group, flat, self.inner.state)

    def full_state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """The whole float32 weights and optimizer state on rank 0, in the CPU's memory; ({}, {})
        elsewhere. Each tensor is assembled from every process's partition in turn."""
        from deepspeed.utils import safe_get_full_fp32_param, safe_get_full_optimizer_state

        master = dist.get_rank() == 0
        weights = {}
        for name, p in zip(self.order, self.params, strict=True):
            full = safe_get_full_fp32_param(p)  # collective
            if master:
                weights[name] = full.detach().cpu()
        first = self.inner.state.get(self._partitions()[0], {})
        state: dict[int, dict] = {}
        if first:  # none before the first step
            self._link_states()
            flat_keys = [k for k, v in first.items() if torch.is_tensor(v) and v.dim() == 1]
            for i, p in enumerate(self.params):
                moments = {k: safe_get_full_optimizer_state(p, k) for k in flat_keys}  # collective
                if master:
                    state[i] = {"step": first["step"].detach().cpu().clone()}
                    state[i].update({k: v.detach().cpu() for k, v in moments.items()})
        if not master:
            return {}, {}
        return weights, {"state": state, "param_groups": indexed_groups(self.inner.param_groups, self.names)}

    def load_optimizer_state(self, sd: dict) -> None:
        """DeepSpeed creates the optimizer state at the first step: create it here, each
        partition's moments at zero and its step count the checkpoint's, then write each
        parameter's full moments into the partitions."""
        from deepspeed.utils import safe_set_full_optimizer_state

        if not sd["state"]:
            return
        saved = sd["state"][0]
        flat_keys = [k for k, v in saved.items() if torch.is_tensor(v) and v.dim() > 0]
        on_device = self.inner.defaults.get("fused") or self.inner.defaults.get("capturable")
        for flat in self._partitions():
            step = saved["step"].to(flat.device if on_device else "cpu", torch.float32)
            self.inner.state[flat] = {"step": step.clone(), **{k: torch.zeros_like(flat) for k in flat_keys}}
        self._link_states()
        for i, p in enumerate(self.params):
            for k in flat_keys:
                safe_set_full_optimizer_state(p, sd["state"][i][k].to(torch.float32), k)
        for current, settings in zip(
            self.inner.param_groups, group_settings(sd["param_groups"]), strict=True
        ):
            current.update(settings)
