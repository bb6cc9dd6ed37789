"""The run configuration, typed: a frozen dataclass per group of schemas/run-config.schema.json
(its keys, nanoGPT's names), and RunConfig of them all, as the rest of the trainer reads it.
train/config.py builds one from a file, a preset or JSON text; as_dict() is config.json's form.
src/core/train/runConfig.ts is the TypeScript side's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class DataConfig:
    dataset: str


@dataclass(frozen=True)
class ModelConfig:
    # n_kv_head, head_dim, mlp_hidden null: today's rule (GPTConfig fills in n_head, n_embd / n_head,
    # 4·n_embd or SwiGLU's 8/3·n_embd)
    n_layer: int
    n_head: int
    n_kv_head: int | None
    n_embd: int
    head_dim: int | None
    mlp_hidden: int | None
    block_size: int
    dropout: float
    bias: bool
    attn_bias: bool
    position: str
    rope_base: float
    norm: str
    norm_eps: float
    qk_norm: bool
    mlp: str
    tie_embeddings: bool
    zero_init: bool
    skip_connections: bool


@dataclass(frozen=True)
class LoraConfig:
    """train.lora: low-rank adapters on a frozen pretrained model (train/lora.py); rank None: none."""

    rank: int | None
    alpha: float
    dropout: float
    targets: tuple[str, ...]


@dataclass(frozen=True)
class TrainConfig:
    init_from: str
    batch_size: int
    gradient_accumulation_steps: int
    max_iters: int
    time_budget_s: float | None
    target_val_loss: float | None
    eval_interval: int
    eval_iters: int
    log_interval: int
    always_save_checkpoint: bool
    sample_tokens: int
    keep_exports: int
    seed: int
    device: str
    dtype: str
    compile: str
    lora: LoraConfig


@dataclass(frozen=True)
class OptimizerConfig:
    name: str
    muon_learning_rate: float
    muon_momentum: float
    learning_rate: float
    min_lr: float
    warmup_iters: int
    lr_decay_iters: int | None
    decay_lr: bool
    cooldown_fraction: float
    weight_decay: float
    beta1: float
    beta2: float
    grad_clip: float


@dataclass(frozen=True)
class DistributedConfig:
    nproc_per_node: int
    nnodes: int
    node_rank: int
    backend: str
    zero_stage: int
    rendezvous: str
    max_restarts: int


@dataclass(frozen=True)
class LoggingConfig:
    wandb: bool
    wandb_project: str
    wandb_run_name: str | None
    tensorboard: bool


@dataclass(frozen=True)
class ClusterConfig:
    """A batch job's request, read by `wordplay submit` (src/core/cluster/); the trainer keeps it
    in config.json and otherwise ignores it."""

    scheduler: str
    time: str | None
    stop_before_s: int
    partition: str | None
    queue: str | None
    account: str | None
    cpus_per_node: int | None


@dataclass(frozen=True)
class RunConfig:
    """A valid configuration with every default filled and its paths absolute."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    optimizer: OptimizerConfig
    distributed: DistributedConfig
    logging: LoggingConfig
    cluster: ClusterConfig
    schema: str | None = None  # the file's "$schema", kept so config.json still names it

    @classmethod
    def from_dict(cls, cfg: dict) -> RunConfig:
        """From a dict the schema has validated and filled (a key it lacks raises TypeError)."""
        lora = {**cfg["train"]["lora"], "targets": tuple(cfg["train"]["lora"]["targets"])}
        return cls(
            data=DataConfig(**cfg["data"]),
            model=ModelConfig(**cfg["model"]),
            train=TrainConfig(**{**cfg["train"], "lora": LoraConfig(**lora)}),
            optimizer=OptimizerConfig(**cfg["optimizer"]),
            distributed=DistributedConfig(**cfg["distributed"]),
            logging=LoggingConfig(**cfg["logging"]),
            cluster=ClusterConfig(**cfg["cluster"]),
            schema=cfg.get("$schema"),
        )

    def as_dict(self) -> dict:
        """The JSON form, as config.json holds it."""
        groups = {f.name: asdict(getattr(self, f.name)) for f in fields(self) if f.name != "schema"}
        groups["train"]["lora"]["targets"] = list(self.train.lora.targets)  # a tuple here, a list in JSON
        return groups if self.schema is None else {"$schema": self.schema, **groups}
