"""``WeaviateStandIn``: REST and gRPC on loopback over one shared state.

    standin = WeaviateStandIn().start()
    store = WeaviateStore(http_port=standin.http_port, grpc_port=standin.grpc_port)
    standin.faults.rest_status = 503       # readiness and schema calls fail
    standin.faults.grpc_unavailable = True # every gRPC call fails UNAVAILABLE
    standin.faults.delay = 3.0             # every answer comes 3 s late
    standin.faults.reject[object_uuid] = "reason"  # that object fails, its batch succeeds
    standin.faults.go_down(); standin.faults.come_back()  # a switchable outage (503 + UNAVAILABLE)
    standin.faults.outage_after_batches = 2  # two more BatchObjects answered, then down
    standin.stop()                         # unreachable; start() again on the same ports
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from weaviate.proto.v1 import weaviate_pb2_grpc

from tests.weaviate_standin.grpc_api import WeaviateService, health_handler
from tests.weaviate_standin.rest import make_rest_server
from tests.weaviate_standin.state import Faults, StandInState

__all__ = ["WeaviateStandIn", "STANDIN_VERSION"]

#: Server version the stand-in reports in /v1/meta (the client adapts its requests to it).
STANDIN_VERSION = "1.36.2"


class WeaviateStandIn:
    """A small, faithful Weaviate for tests; ports are chosen free on first start and kept."""

    def __init__(self, host: str = "127.0.0.1", version: str = STANDIN_VERSION) -> None:
        self.host = host
        self.version = version
        self.state = StandInState()
        self.http_port = 0
        self.grpc_port = 0
        self._rest = None
        self._rest_thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def running(self) -> bool:
        return self._rest is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def start(self) -> "WeaviateStandIn":
        if self.running:
            return self
        self._rest = make_rest_server(self.state, self.version, self.host, self.http_port)
        self.http_port = self._rest.server_address[1]
        self._rest_thread = threading.Thread(target=self._rest.serve_forever, kwargs={"poll_interval": 0.05},
                                             name="weaviate-standin-rest", daemon=True)
        self._rest_thread.start()
        self._grpc = grpc.server(ThreadPoolExecutor(max_workers=8, thread_name_prefix="weaviate-standin-grpc"),
                                 options=[("grpc.so_reuseport", 0)])
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(WeaviateService(self.state), self._grpc)
        self._grpc.add_generic_rpc_handlers((health_handler(self.state),))
        self.grpc_port = self._grpc.add_insecure_port(f"{self.host}:{self.grpc_port}")
        if not self.grpc_port:
            raise OSError(f"stand-in: cannot bind gRPC port on {self.host}")
        self._grpc.start()
        return self

    def stop(self) -> None:
        """Stop answering (connections refused); objects and schema are kept for a restart."""
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait()
            self._grpc = None
        if self._rest is not None:
            self._rest.shutdown()
            self._rest.server_close()
            self._rest = None
        if self._rest_thread is not None:
            self._rest_thread.join(timeout=5)
            self._rest_thread = None

    def reset(self) -> None:
        """Forget every class, object, fault and recorded call."""
        self.state.reset()

    def object_count(self, collection: str) -> int:
        with self.state.lock:
            return len(self.state.objects.get(collection, {}))

    def __enter__(self) -> "WeaviateStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
