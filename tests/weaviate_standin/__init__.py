"""A Weaviate stand-in for tests: REST and gRPC on loopback, with fault injection.

weaviate-client v4 runs unchanged against it. The gRPC side is built on the
servicer and messages the client ships (``weaviate.proto.v1``); the REST side
serves what the client calls to connect and to create or read a collection.
It answers like a real server where the store depends on it: schema defaults
filled in, integers cast back, per-object batch errors, the default query
limit of 10, tokenized filters. Use the ``weaviate_standin`` fixture
(``tests.weaviate_standin.fixture``) or ``WeaviateStandIn`` directly.
"""

from tests.weaviate_standin.server import STANDIN_VERSION, WeaviateStandIn
from tests.weaviate_standin.state import Faults

__all__ = ["WeaviateStandIn", "Faults", "STANDIN_VERSION"]
