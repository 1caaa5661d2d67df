import re
import sys
from pathlib import Path

import pytest

# the gradcheck helper lives beside the tests
sys.path.insert(0, str(Path(__file__).parent))

#: Tests that `make test-fast` leaves out (`make test` runs them): the deep symbolic proofs,
#: PDF compilation, the wheel install, and the full trainer matrix beyond its smallest nets.
SLOW = re.compile(r"3-4-4-2|3-4-3|test_install\.py|test_document(_wide)?\.py|test_trainer\.py::.*\[(?!2-3-2|2-2-1)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: left out of `make test-fast`")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW.search(item.nodeid):
            item.add_marker(pytest.mark.slow)
