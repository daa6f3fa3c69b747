"""Azurite's blob service (the Azure Storage emulator, ``azurite@3.35.0`` from npm, installed by
``make install-test`` into tests/servers/azurite) as a process on 127.0.0.1 with a free port and
its data in a temporary directory.

Azurite's development account and key are public, documented constants (the same in every Azurite).

    with AzuriteServer(tmp_path) as azure:
        service = azure.service()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.servers.local_process import ProcessServer, accepts_connections

HERE = Path(__file__).resolve().parent / "azurite"
BINARY = HERE / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteUnavailable(RuntimeError):
    pass


class AzuriteServer(ProcessServer):
    def __init__(self, location: Path) -> None:
        super().__init__()
        self.location = location

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.account_url};")

    def start(self) -> AzuriteServer:
        if not BINARY.exists():
            raise AzuriteUnavailable(f"{BINARY} is missing: run `make install-test` (npm install of azurite@3.35.0)")
        self.location.mkdir(parents=True, exist_ok=True)
        if not self._launch(
            lambda port: [str(BINARY), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
                          str(self.location), "--skipApiVersionCheck", "--silent", "--loose"],
            accepts_connections):
            raise AzuriteUnavailable("azurite-blob did not start")
        return self

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)
