"""Tests against a real single-node OpenSearch 2.19 (tests/servers/opensearch)."""
