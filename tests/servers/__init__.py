"""Real local servers for tests (DESIGN §8): an Elasticsearch 8.x stand-in and a Kibana 8.x
stand-in, both HTTP servers on 127.0.0.1 with random ports, usable in-process (fixtures) or as a
separate process (``python -m tests.servers.elasticsearch``). See ``elasticsearch.py``, ``kibana.py``
and ``fixtures.py``."""
