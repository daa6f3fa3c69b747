"""The test servers the tools' tests start (doctor's remote probes), and the browser (the report)."""

from tests.servers.fixtures import azurite, sshd  # noqa: F401 - fixtures, used by name
from tests.web.conftest import browser  # noqa: F401 - a fixture, used by name
