"""The learning-rate schedules: a time budget's warmup-stable-decay against its formula at given
progress values (optimizer.budget_learning_rate), the budget's clock that drives it (budget.py),
and the cosine by iteration a run without a budget keeps."""

from __future__ import annotations

import dataclasses
import math

import pytest
from conftest import tiny_config

from wordplay_trainer.train.budget import Budget
from wordplay_trainer.train.config import load_config
from wordplay_trainer.train.optimizer import budget_learning_rate, learning_rate

PEAK, MIN = 0.01, 0.001


def optimizer(**kw):
    cfg = tiny_config("/nonexistent", optimizer={"learning_rate": PEAK, "min_lr": MIN, **kw})
    return load_config(cfg).optimizer


def test_warmup_then_constant_then_a_linear_cool_down():
    opt = optimizer(warmup_iters=9, cooldown_fraction=0.4)
    # warmup: by this run's steps, (step + 1) / (warmup_iters + 1) of the peak, whatever the time
    assert [budget_learning_rate(s, 0.0, opt) for s in (0, 4, 8)] == pytest.approx(
        [PEAK * 0.1, PEAK * 0.5, PEAK * 0.9]
    )
    # constant at the peak until the last 40% of the training time
    for progress in (0.0, 0.3, 0.59, 0.6):
        assert budget_learning_rate(100, progress, opt) == PEAK
    # then linear down to min_lr: min + (peak - min) * (1 - progress) / cooldown_fraction
    for progress in (0.7, 0.8, 0.95, 1.0):
        expected = MIN + (PEAK - MIN) * (1 - progress) / 0.4
        assert budget_learning_rate(100, progress, opt) == pytest.approx(expected)
    assert budget_learning_rate(100, 0.8, opt) == pytest.approx((PEAK + MIN) / 2)
    assert budget_learning_rate(100, 1.0, opt) == pytest.approx(MIN)
    assert budget_learning_rate(100, 1.7, opt) == pytest.approx(MIN)  # past the end: stays at min_lr


def test_a_budget_too_short_for_its_warmup_still_ends_at_min_lr():
    opt = optimizer(warmup_iters=100, cooldown_fraction=0.5)
    # the lower of the warmup's ramp and the cool-down's line
    assert budget_learning_rate(10, 0.2, opt) == pytest.approx(PEAK * 11 / 101)
    assert budget_learning_rate(10, 1.0, opt) == pytest.approx(MIN)


def test_no_cool_down_and_no_decay():
    assert budget_learning_rate(50, 0.99, optimizer(warmup_iters=0, cooldown_fraction=0.0)) == PEAK
    assert budget_learning_rate(0, 1.0, optimizer(decay_lr=False)) == PEAK


def test_without_a_budget_the_cosine_by_iteration_is_unchanged():
    opt = optimizer(warmup_iters=10)
    assert learning_rate(5, opt, 110) == pytest.approx(PEAK * 6 / 11)
    assert learning_rate(60, opt, 110) == pytest.approx(MIN + 0.5 * (PEAK - MIN))
    assert learning_rate(110, opt, 110) == MIN
    mid = learning_rate(35, opt, 110)
    assert mid == pytest.approx(MIN + 0.5 * (1 + math.cos(math.pi * 0.25)) * (PEAK - MIN))


def budget(seconds=100.0, start_iter=0, max_iters=1000) -> Budget:
    return Budget(seconds, t0=0.0, start_iter=start_iter, max_iters=max_iters, n_params=0)


def test_progress_is_the_share_of_the_training_time_or_of_the_iterations_whichever_is_further():
    b = budget()
    b.evaluated(3.0)  # the latest evaluation, its checkpoint included; the export is predicted at 2 s
    assert b.local_reserve() == pytest.approx(5.0)
    b.agree(0, 19.0, 5.0)
    assert b.progress(10) == pytest.approx(19.0 / 95.0)  # of the 95 s left to train
    assert b.progress(500) == pytest.approx(0.5)  # the iterations are further along
    b.agree(0, 95.0, 5.0)
    assert b.progress(10) == 1.0


def test_the_run_ends_when_the_next_step_would_run_into_the_reserve():
    b = budget()
    b.evaluated(3.0)
    for elapsed in (20.0, 20.5, 21.0, 21.5, 22.0):  # steps of 0.5 s
        b.agree(0, elapsed, 5.0)
    assert b.step_s == pytest.approx(0.5)
    assert not b.spent()
    b.agree(0, 94.4, 5.0)
    assert not b.spent()
    b.agree(0, 94.6, 5.0)
    assert b.spent()  # 94.6 + 0.5 >= 100 - 5


def test_an_evaluation_between_two_steps_is_not_taken_for_a_step():
    b = budget()
    b.agree(0, 10.0, 5.0)
    b.agree(0, 10.5, 5.0)
    b.evaluated(30.0)
    b.agree(0, 41.0, 5.0)
    assert list(b.steps) == [0.5]
    assert b.save_s == 0.0  # n_params 0: nothing predicted, nothing measured


def test_a_resumed_budget_counts_its_iterations_and_warmup_from_where_it_resumes():
    b = budget(start_iter=5000, max_iters=1000)
    assert b.end_iter == 6000
    b.agree(0, 1.0, 5.0)
    assert b.progress(5500) == pytest.approx(0.5)
    opt = optimizer(warmup_iters=9)
    assert b.learning_rate(5000, opt) == pytest.approx(PEAK * 0.1)  # warming up again
    assert b.learning_rate(5100, opt) == PEAK


def test_max_iters_too_low_for_the_budget_is_named_once_the_steps_are_timed(capsys):
    b = Budget(300.0, t0=0.0, start_iter=0, max_iters=100, n_params=0, master=True)
    for i in range(5):
        b.agree(i, 10.0 + 0.125 * i, 5.0)
    assert capsys.readouterr().err == ""  # four steps timed: not yet
    b.agree(5, 10.625, 5.0)
    message = capsys.readouterr().err
    assert "train.max_iters 100" in message and "train.time_budget_s" in message
    assert "after about 27 s of its 300 s budget" in message  # 10.625 + 94 steps of 0.125 s + 5
    assert "about 2,281 iterations fit" in message  # 6 + (300 - 5 - 10.625) / 0.125
    b.agree(6, 10.75, 5.0)
    assert capsys.readouterr().err == ""  # once


def test_a_budget_the_end_alone_would_spend_is_named(capsys):
    b = Budget(3.0, t0=0.0, start_iter=0, max_iters=10**6, n_params=10**6, master=True)  # export: 2.05 s
    b.evaluated(1.0)
    b.agree(0, 0.5, b.local_reserve())  # at the first step, before any is timed
    assert "train.time_budget_s 3 leaves no time to train" in capsys.readouterr().err
    assert b.spent()


def test_only_rank_0_logs_the_warning(capsys):
    b = budget(seconds=300.0, max_iters=100)  # master False
    for i in range(7):
        b.agree(i, 10.0 + 0.125 * i, 5.0)
    assert b.warned and capsys.readouterr().err == ""


def test_the_typed_config_carries_the_budget():
    cfg = load_config(
        tiny_config("/nonexistent"), ["train.time_budget_s=90", "optimizer.cooldown_fraction=0.5"]
    )
    assert (cfg.train.time_budget_s, cfg.optimizer.cooldown_fraction) == (90.0, 0.5)
    defaults = load_config(tiny_config("/nonexistent"))
    assert (defaults.train.time_budget_s, defaults.optimizer.cooldown_fraction) == (None, 0.4)
    assert "time_budget_s" in dataclasses.asdict(defaults.train)
