"""A ``moto[server]`` process on 127.0.0.1 (S3 and SQS as boto3 sees them), for the remote source
tests: started on a free port, ready when its control API answers, stopped with its process.

    with MotoServer() as aws:
        s3 = aws.client("s3")
"""

from __future__ import annotations

import subprocess
import sys
from types import TracebackType
from typing import Any

import httpx

from tests.servers.local_process import start_on_free_port, stop_process

REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "AKIAWAFPIPETESTKEY00", "wafpipe/test/secret/key/never/printed0000"




class MotoServer:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        def ready(port: int) -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        started = start_on_free_port(
            lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], ready)
        if started is None:
            raise RuntimeError("the moto server did not start (is moto[server] installed? `make install-test`)")
        self.proc, self.port = started
        return self

    def stop(self) -> None:
        stop_process(self.proc)
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
