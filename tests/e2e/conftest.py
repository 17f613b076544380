import pytest

from tests.e2e.repo import make_clone, stop_daemons


@pytest.fixture
def clone(tmp_path):
    return make_clone(tmp_path / "clone")


@pytest.fixture(autouse=True)
def no_daemon_outlives_the_test(tmp_path):
    yield
    stop_daemons(tmp_path)
