"""A ``moto[server]`` process on 127.0.0.1 (S3 and SQS as boto3 sees them), for the remote source
tests: started on a free port, ready when its control API answers, stopped with its process.

    with MotoServer() as aws:
        s3 = aws.client("s3")
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

import httpx

START_GUARD_S = 60.0  # a hang guard only: start() returns as soon as the server answers
REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "AKIAWAFPIPETESTKEY00", "wafpipe/test/secret/key/never/printed0000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        for _attempt in range(5):  # the free port may be taken between the probe and the bind
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + START_GUARD_S
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if httpx.get(f"{self.url}/moto-api/", timeout=2).status_code == 200:
                        return self
                except httpx.HTTPError:
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError("the moto server did not start (is moto[server] installed? `make install-test`)")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def reset(self) -> None:
        """Forget every bucket and queue (moto's own reset endpoint)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
