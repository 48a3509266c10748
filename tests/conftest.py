"""Shared pytest setup: torch runs one intra-op thread; GPU tests are skipped without CUDA."""
import pytest


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
        # Tests run tiny models: a second intra-op thread gains nothing, and on the shared 2-core CI
        # machine two threads under load ran them ~18x slower (200 GRU steps: 1.5 s vs 28 s).
        torch.set_num_threads(1)
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA (run by .ci/gpu on the H200)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory, monkeypatch):
    """No test reads the developer's own tapehead configuration (agent/cli/config.py): an empty
    XDG_CONFIG_HOME, no TAPEHEAD_CONFIG. A test that wants a file makes its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.delenv("TAPEHEAD_CONFIG", raising=False)
