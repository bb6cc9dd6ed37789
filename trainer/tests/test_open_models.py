"""schemas/open-models.json, the hub models the picker lists, checked against transformers' own
classes: each entry's shape builds its class (on the meta device: no weights, no network) with
exactly the parameter count the picker shows."""

import pytest
import torch
import transformers

from wordplay_trainer.common.schemas import read_json

MODELS = read_json("open-models.json")["models"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_listed_shape_has_the_listed_parameter_count(name):
    m = MODELS[name]
    family = m["class"].removesuffix("ForCausalLM")
    config = getattr(transformers, f"{family}Config")(
        vocab_size=m["vocab_size"],
        hidden_size=m["n_embd"],
        intermediate_size=m["mlp_hidden"],
        num_hidden_layers=m["n_layer"],
        num_attention_heads=m["n_head"],
        num_key_value_heads=m["n_kv_head"],
        head_dim=m["head_dim"],
        tie_word_embeddings=m["tie_embeddings"],
    )
    with torch.device("meta"):
        model = getattr(transformers, m["class"])(config)
    assert sum(p.numel() for p in model.parameters()) == m["params"]
