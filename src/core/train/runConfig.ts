// The shape of a resolved run configuration (schemas/run-config.schema.json with every default
// filled in). Types only, with no Node imports, so the webview bundles can share it too.
export interface RunConfig {
  $schema?: string;
  data: { dataset: string };
  model: {
    n_layer: number;
    n_head: number;
    /** Key/value heads (grouped-query attention); null: n_head. */
    n_kv_head: number | null;
    n_embd: number;
    /** Each head's size; null: n_embd / n_head. */
    head_dim: number | null;
    /** The MLP's width; null: 4·n_embd, SwiGLU's 8/3·n_embd. */
    mlp_hidden: number | null;
    block_size: number;
    dropout: number;
    bias: boolean;
    /** Biases on the query, key and value projections alone (Qwen2). */
    attn_bias: boolean;
    position: 'learned' | 'rope';
    rope_base: number;
    norm: 'layernorm' | 'rmsnorm';
    norm_eps: number;
    qk_norm: boolean;
    mlp: 'gelu' | 'relu2' | 'swiglu';
    tie_embeddings: boolean;
    zero_init: boolean;
    skip_connections: boolean;
  };
  train: {
    init_from: string;
    batch_size: number;
    gradient_accumulation_steps: number;
    max_iters: number;
    /** Seconds the run may take, set-up to export; null: train to max_iters. */
    time_budget_s: number | null;
    /** Stop at the first eval whose val loss is at or below this; null: train to max_iters. */
    target_val_loss: number | null;
    eval_interval: number;
    eval_iters: number;
    log_interval: number;
    always_save_checkpoint: boolean;
    sample_tokens: number;
    keep_exports: number;
    seed: number;
    device: string;
    dtype: 'auto' | 'float32' | 'bfloat16' | 'float16';
    compile: 'auto' | 'true' | 'false';
    /** Low-rank adapters on a frozen pretrained model (trainer's train/lora.py); rank null: none. */
    lora: LoraSettings;
  };
  optimizer: {
    name: 'adamw' | 'muon';
    muon_learning_rate: number;
    muon_momentum: number;
    learning_rate: number;
    min_lr: number;
    warmup_iters: number;
    lr_decay_iters: number | null;
    decay_lr: boolean;
    /** With a time budget: the share of its training time spent cooling down to min_lr. */
    cooldown_fraction: number;
    weight_decay: number;
    beta1: number;
    beta2: number;
    grad_clip: number;
  };
  distributed: {
    nproc_per_node: number;
    nnodes: number;
    node_rank: number;
    backend: 'ddp' | 'fsdp' | 'deepspeed';
    zero_stage: number;
    rendezvous: string;
    max_restarts: number;
  };
  logging: { wandb: boolean; wandb_project: string; wandb_run_name: string | null; tensorboard: boolean };
  /** A batch job's request (`wordplay submit`, src/core/cluster/); the trainer ignores it. */
  cluster: {
    scheduler: 'slurm' | 'pbs';
    time: string | null;
    stop_before_s: number;
    partition: string | null;
    queue: string | null;
    account: string | null;
    cpus_per_node: number | null;
  };
}

/** train.lora: the adapters' rank (null: every weight trains), scale alpha / rank, dropout on their
 *  input, and the projections they go on (Llama's names). */
export interface LoraSettings {
  rank: number | null;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
}
export type LoraTarget = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
