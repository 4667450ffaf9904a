import pytest
from li_flows import reset


@pytest.fixture(autouse=True)
def _fresh_counters():
    reset()
    yield
    reset()
