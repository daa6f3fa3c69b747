"""The test servers the tools' tests start (doctor's remote probes)."""

from tests.servers.fixtures import azurite, sshd  # noqa: F401 - fixtures, used by name
