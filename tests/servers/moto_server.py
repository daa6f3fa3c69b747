"""A ``moto[server]`` process on 127.0.0.1 (S3 and SQS as boto3 sees them), for the remote source
tests: started on a free port, ready when its control API answers, stopped with its process.

    with MotoServer() as aws:
        s3 = aws.client("s3")
"""

from __future__ import annotations

import sys
from typing import Any

import httpx

from tests.servers.local_process import ProcessServer

REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "AKIAWAFPIPETESTKEY00", "wafpipe/test/secret/key/never/printed0000"


class MotoServer(ProcessServer):
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        def ready(port: int) -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        if not self._launch(lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            ready):
            raise RuntimeError("the moto server did not start (is moto[server] installed? `make install-test`)")
        return self

    def reset(self) -> None:
        """Forget every bucket and queue (moto's own reset endpoint)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)
