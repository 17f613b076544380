import pytest

from tests.e2e.repo import make_clone


@pytest.fixture
def clone(tmp_path):
    return make_clone(tmp_path / "clone")
