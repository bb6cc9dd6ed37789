"""What a Hugging Face folder or a GGUF file cannot hold of our GPT, refused in one wording: the
exporter names its format, the code that would run the model, and the configs that export."""

from ..common.errors import TrainerError
from ..train.model import GPTConfig


def refuse_ours_only(c: GPTConfig, target: str, why: str) -> None:
    """An option only our GPT computes (GPTConfig.ours_only) has no `target` export."""
    if key := c.ours_only():
        raise TrainerError(
            f"model.{key} true has no {target} export: {why}. Export it as ONNX (--format onnx) "
            f"instead, or train with model.{key} false",
            f"model.{key}",
        )


def refuse_gpt2_heads(c: GPTConfig, target: str, computer: str, fix: str) -> None:
    """`computer`, the target's GPT-2, computes GPT-2's heads only (GPTConfig.gpt2_heads_conflict)."""
    if conflict := c.gpt2_heads_conflict():
        key, ours, gpt2 = conflict
        raise TrainerError(
            f"model.{key} {ours} has no {target} export with learned positions: {computer} computes "
            f"model.{key} {gpt2} only. Export it as ONNX (--format onnx) instead, or train with {fix}",
            f"model.{key}",
        )
