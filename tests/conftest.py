"""Shared pytest setup: CPU tests run on 2 threads (the CI machine has 2 cores); GPU tests are skipped
without CUDA."""
import pytest


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
        torch.set_num_threads(min(2, torch.get_num_threads()))
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA (run by .ci/gpu on the H200)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
