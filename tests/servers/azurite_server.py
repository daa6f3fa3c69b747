"""Azurite's blob service (the Azure Storage emulator, ``azurite@3.35.0`` from npm, installed by
``make install-test`` into tests/servers/azurite) as a process on 127.0.0.1 with a free port and
its data in a temporary directory.

Azurite's development account and key are public, documented constants (the same in every Azurite).

    with AzuriteServer(tmp_path) as azure:
        service = azure.service()
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

START_GUARD_S = 60.0  # a hang guard only: start() returns as soon as the port answers
HERE = Path(__file__).resolve().parent / "azurite"
BINARY = HERE / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AzuriteServer:
    def __init__(self, location: Path) -> None:
        self.location = location
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

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
        for _attempt in range(5):  # the free port may be taken between the probe and the bind
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [str(BINARY), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location",
                 str(self.location), "--skipApiVersionCheck", "--silent", "--loose"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + START_GUARD_S
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return self
                except OSError:
                    time.sleep(0.1)
            self.stop()
        raise AzuriteUnavailable("azurite-blob did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.proc = None

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def __enter__(self) -> AzuriteServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
