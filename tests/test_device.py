"""The GPU path's logic, checked without a GPU: what decide() picks for each machine."""

import pytest

from core.train.device import decide


def test_cpu_uses_neither_mixed_precision_nor_xla():
    info = decide("auto", "auto", "auto", [])
    assert (info.kind, info.mixed_precision, info.xla, info.strategy) == ("CPU", False, False, "default")
    assert "CPU" in info.describe() and "mixed precision off" in info.describe()


def test_one_gpu_turns_both_on():
    info = decide("auto", "auto", "auto", ["/physical_device:GPU:0"])
    assert (info.kind, info.mixed_precision, info.xla, info.strategy) == ("GPU", True, True,
                                                                          "one-device")
    assert "mixed precision on" in info.describe() and "XLA on" in info.describe()


def test_several_gpus_mirror():
    assert decide("auto", "auto", "auto", ["g0", "g1"]).strategy == "mirrored"


@pytest.mark.parametrize("mp,xla", [("off", "off"), ("on", "off"), ("off", "on")])
def test_switches_override(mp, xla):
    info = decide(mp, xla, "auto", ["g0"])
    assert info.mixed_precision == (mp == "on") and info.xla == (xla == "on")


def test_configure_sets_and_resets_policy():
    import keras

    from core.config import TrainConfig
    from core.train.device import configure, reset_policy

    info = configure(TrainConfig(mixed_precision="on"))
    try:
        assert info.mixed_precision
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    finally:
        reset_policy()
    assert keras.mixed_precision.global_policy().name == "float32"
