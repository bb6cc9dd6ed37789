"""Issue 16: Muon for the blocks' matrices, AdamW for the rest (muon.py), against computations
written out by hand; the trainer's parameter groups."""

import torch

from wordplay_trainer.train.config import load_config
from wordplay_trainer.train.model import GPT, GPTConfig
from wordplay_trainer.train.muon import MuonAdamW, orthogonalize
from wordplay_trainer.train.optimizer import make_optimizer


def test_orthogonalize_keeps_the_singular_vectors_and_evens_the_values():
    torch.manual_seed(0)
    for rows, cols in ((48, 16), (16, 48), (32, 32)):
        k = min(rows, cols)
        u, _ = torch.linalg.qr(torch.randn(rows, k))
        v, _ = torch.linalg.qr(torch.randn(cols, k))
        values = torch.logspace(-1.3, 0, k) * 7  # spread 20-fold, at any scale
        o = orthogonalize(u @ torch.diag(values) @ v.T)
        # five quintic steps bring every singular value near 1, not exactly to it, and keep
        # the singular vectors: o is close to u v^T
        assert torch.linalg.svdvals(o).min() > 0.6 and torch.linalg.svdvals(o).max() < 1.25
        cosine = (o * (u @ v.T)).sum() / (o.norm() * (u @ v.T).norm())
        assert cosine > 0.97


def test_a_muon_step_as_written_out():
    torch.manual_seed(1)
    w = torch.nn.Parameter(torch.randn(12, 4))  # tall: the update is scaled by sqrt(12 / 4)
    opt = MuonAdamW([w], [], muon_lr=0.05, momentum=0.9, adamw_lr=1e-3, betas=(0.9, 0.95))
    start = w.detach().clone()
    grads = [torch.randn(12, 4), torch.randn(12, 4)]
    buf = torch.zeros(12, 4)
    expected = start.clone()
    for g in grads:
        buf = 0.9 * buf + 0.1 * g
        nesterov = 0.1 * g + 0.9 * buf
        expected -= 0.05 * 3**0.5 * orthogonalize(nesterov)
        w.grad = g.clone()
        opt.step()
    assert torch.allclose(w.detach(), expected, atol=1e-6)


def test_its_adamw_groups_step_as_torch_adamw():
    torch.manual_seed(2)
    a = torch.nn.Parameter(torch.randn(5, 3))
    b = torch.nn.Parameter(a.detach().clone())
    ours = MuonAdamW([], [{"params": [a], "weight_decay": 0.1}], 0.02, 0.95, adamw_lr=3e-3, betas=(0.9, 0.99))
    theirs = torch.optim.AdamW([b], lr=3e-3, betas=(0.9, 0.99), weight_decay=0.1, eps=1e-8)
    for _ in range(5):
        g = torch.randn(5, 3)
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
    assert torch.allclose(a, b, atol=1e-7)


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest():
    model = GPT(
        GPTConfig(65, 16, n_layer=2, n_head=2, n_embd=16, position="rope", qk_norm=True, tie_embeddings=False)
    )
    cfg = load_config({"optimizer": {"name": "muon", "muon_learning_rate": 0.03, "learning_rate": 0.004}})
    opt = make_optimizer(model, cfg.optimizer, torch.device("cpu"))
    names = {id(p): n for n, p in model.named_parameters()}
    muon = [g for g in opt.param_groups if g["muon"]]
    adamw = [g for g in opt.param_groups if not g["muon"]]
    assert [g["peak_lr"] for g in muon] == [0.03] and {g["peak_lr"] for g in adamw} == {0.004}
    muon_names = sorted(names[id(p)] for p in muon[0]["params"])
    assert muon_names == sorted(
        f"transformer.h.{i}.{m}.weight"
        for i in range(2)
        for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
    )
    adamw_names = {names[id(p)] for g in adamw for p in g["params"]}
    assert {"transformer.wte.weight", "lm_head.weight", "transformer.h.0.attn.q_norm.weight"} <= adamw_names
    assert len(muon_names) + len(adamw_names) == len(names)
