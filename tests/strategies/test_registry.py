import pytest

from allocator.errors import ConfigError
from strategies import registry


def test_every_model_of_the_document_is_registered() -> None:
    assert set(registry.names()) == {"rs_mainline", "ptc_aggressive", "ptc_steady", "ptc", "inventory_reversal",
                                     "combo_equity", "momentum_monitor", "rotation_detector"}


def test_params_come_from_config_with_overrides() -> None:
    p = registry.params_for("rs_mainline")
    assert p["threshold"] == 0.90 and p["min_holdings"] == 3 and p["max_holdings"] == 6
    assert registry.params_for("rs_mainline", {"threshold": 0.8})["threshold"] == 0.8
    nested = registry.params_for("ptc", {"prosperity": {"min_members": 3}})
    assert nested["prosperity"]["min_members"] == 3 and "min_coverage" in nested["prosperity"]


@pytest.mark.parametrize("override", [{"thresh": 0.8}, {"prosperity": {"nope": 1}}, {"prosperity": 3}])
def test_unknown_parameters_are_refused(override) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        registry.params_for("rs_mainline", override)


def test_unknown_model() -> None:
    with pytest.raises(ConfigError, match="unknown strategy"):
        registry.spec("astrology")


def test_models_are_listed_headline_family_first_then_by_module() -> None:
    # Listings, the demo and its first paper book follow this order; it must not depend on which
    # model module happens to import which.
    import subprocess
    import sys

    code = "from strategies import registry; print(','.join(registry.names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().split(",") == ["ptc_aggressive", "ptc_steady", "ptc", "combo_equity", "inventory_reversal",
                                      "momentum_monitor", "rotation_detector", "rs_mainline"]
