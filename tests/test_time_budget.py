"""A time budget instead of epochs: the plan, the deadline, and a whole run that keeps to it."""

import time

import pytest

from core.config import StudioConfig
from core.events import BudgetPlanned, CancelToken, Cancelled
from core.train.budget import BudgetReached, DeadlineToken, deadline_for, make_plan
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def test_plan_spends_views_first_then_fine_tuning_epochs():
    small = make_plan(60, 55, n_train=200, n_val=50, seconds_per_image=0.05,
                      build_seconds=2, fine_tune=True)
    big = make_plan(900, 895, n_train=200, n_val=50, seconds_per_image=0.05,
                    build_seconds=2, fine_tune=True)
    assert small.views == 1 and small.fine_tune_epochs <= 1
    assert 1 < big.views <= 8 and big.fine_tune_epochs >= 10
    assert big.reserve == pytest.approx(small.reserve)  # saving and scoring, not the budget
    frozen = make_plan(900, 895, 200, 50, 0.05, 2, fine_tune=False)
    assert frozen.fine_tune_epochs == 0
    assert "plan:" in big.describe(200) and "fine-tuning" in big.describe(200)


def test_deadline_token_says_budget_and_still_hears_the_user():
    user = CancelToken()
    token = DeadlineToken(user, time.time() + 60)
    token.raise_if_cancelled()
    token.cancel()
    assert user.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()
    with pytest.raises(BudgetReached):
        DeadlineToken(CancelToken(), time.time() - 1).raise_if_cancelled()
    assert deadline_for(100.0, 60, 20.0) == 140.0  # a resume spends what is left
    assert deadline_for(100.0, 60, 90.0) == 101.0


def test_cli_time_budget_flag_is_the_setting():
    from core.cli import build_parser
    from core.cli.commands.train import config_from_args

    args = build_parser().parse_args(["train", "DATA", "--time-budget", "120"])
    assert config_from_args(args).train.time_budget == 120
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "DATA", "--time-budget", "3"])  # below 10 s


def test_a_run_with_a_budget_finishes_in_it_and_keeps_its_best_model(tmp_path, tiny_weights):
    """1000 fine-tuning epochs asked for; the budget's plan and deadline decide instead.

    The run may only overrun the budget to finish its first epoch (a model to keep):
    on a machine busy enough that the head alone takes longer, the run ends right
    after it, plus the time to save and score the model.
    """
    from core.events import BatchEnd, EpochEnd
    from core.train.engine import train

    data = make_bright_dark(tmp_path / "data", per_class=16)
    budget = 15
    cfg = tiny_config(data, tiny_weights, epochs=1, fine_tune_epochs=1000, time_budget=budget)
    cfg.train.head_solver = "logistic"
    events, first_epoch, trained = [], [], []

    def listen(event):
        events.append(event)
        if isinstance(event, (BatchEnd, EpochEnd)):
            trained.append(time.time() - t0)
            if isinstance(event, EpochEnd) and not first_epoch:
                first_epoch.append(trained[-1])

    t0 = time.time()
    result = train(cfg, tmp_path / "run", listener=listen)
    # No training after the deadline (but the first epoch: a model to keep), whatever the
    # load; then only saving and scoring the model remain.
    assert trained[-1] <= max(budget, first_epoch[0]) + 2, (trained[-1], first_epoch[0])
    assert time.time() - t0 < max(budget, first_epoch[0]) + 30
    assert result.status == "completed" and (tmp_path / "run" / "model.keras").exists()
    plans = [e for e in events if isinstance(e, BudgetPlanned)]
    assert len(plans) == 1 and plans[0].fine_tune_epochs < 1000
    saved = StudioConfig.load(tmp_path / "run" / "config.json").train
    assert saved.fine_tune_epochs == plans[0].fine_tune_epochs  # a resume follows the plan
    assert result.metrics is not None and result.metrics.accuracy >= 0.8


def test_a_resumed_run_says_the_plan_it_follows(monkeypatch):
    """A resume made a new plan for the time left and printed it, but followed the saved one
    (views and epochs from config.json): the log said one plan, training did another."""
    from types import SimpleNamespace

    import core.train.budget as budget

    cfg = StudioConfig()
    cfg.train.time_budget, cfg.train.head_feature_views, cfg.train.fine_tune_epochs = 600, 3, 7
    heard = []
    session = SimpleNamespace(
        cfg=cfg, cancel=DeadlineToken(CancelToken(), time.time() + 60), model=None,
        train_records=[None] * 200, split=SimpleNamespace(val=[None] * 50), device=None,
        worker_batch=8, scratch=False, listener=heard.append)
    monkeypatch.setattr(budget, "probe", lambda *args: 0.05)  # 50 ms per image, as measured
    budget.plan_budget(session, build_seconds=2, fresh=False)
    (planned,) = [e for e in heard if isinstance(e, BudgetPlanned)]
    assert (planned.cached_views, planned.fine_tune_epochs) == (3, 7)
    assert "plan: 3 cached views" in planned.message and "up to 7 fine-tuning" in planned.message
    assert (cfg.train.head_feature_views, cfg.train.fine_tune_epochs) == (3, 7)


def test_the_budget_plans_no_fine_tuning_when_nothing_unfreezes(monkeypatch):
    """With the top 0 layers it planned fine-tuning epochs the run then skipped (a review of
    the day's diff)."""
    from types import SimpleNamespace

    import core.train.budget as budget
    from core.config import FreezeConfig

    cfg = StudioConfig()
    cfg.train.time_budget, cfg.train.fine_tune_epochs = 600, 7
    cfg.model.freeze = FreezeConfig(mode="top_n", top_n=0)
    session = SimpleNamespace(
        cfg=cfg, cancel=DeadlineToken(CancelToken(), time.time() + 60), model=None,
        train_records=[None] * 200, split=SimpleNamespace(val=[None] * 50), device=None,
        worker_batch=8, scratch=False, listener=lambda e: None,
        cluster=SimpleNamespace(is_chief=False))
    monkeypatch.setattr(budget, "probe", lambda *args: 0.05)
    budget.plan_budget(session, build_seconds=2, fresh=True)
    assert cfg.train.fine_tune_epochs == 0
