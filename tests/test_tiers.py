"""The two tiers (tests/conftest.py): a test that starts the CLI must be in the slow tier."""

from __future__ import annotations

import pytest

from .conftest import require_slow_tier


def test_starting_the_cli_outside_the_slow_tier_fails_the_test():
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.slow"):
        require_slow_tier("starts the CLI in a subprocess")


@pytest.mark.slow
def test_a_slow_test_may_start_the_cli():
    require_slow_tier("starts the CLI in a subprocess")  # no failure: it is in the slow tier
