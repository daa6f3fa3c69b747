"""Component templates, index templates and ILM policies on the Elasticsearch stand-in."""

from __future__ import annotations

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from .elasticsearch import ElasticsearchServer
from .es_samples import DS, doc, install


# -- templates and ILM ------------------------------------------------------------------------------
def test_templates_compose_and_read_back(client: Elasticsearch) -> None:
    install(client)
    got = client.indices.get_index_template(name="logs-imperva.waf")["index_templates"][0]
    assert got["name"] == "logs-imperva.waf"
    tmpl = got["index_template"]
    assert tmpl["composed_of"] == ["imperva-waf@settings", "imperva-waf@mappings"]
    assert tmpl["data_stream"] == {"hidden": False, "allow_custom_routing": False}
    comp = client.cluster.get_component_template(name="imperva-waf@mappings")["component_templates"][0]
    props = comp["component_template"]["template"]["mappings"]["properties"]
    assert props["source"]["properties"]["ip"] == {"type": "ip"}  # dotted names stored expanded
    settings = client.cluster.get_component_template(name="imperva-waf@settings")["component_templates"][0]
    assert settings["component_template"]["template"]["settings"]["index"]["number_of_shards"] == "1"
    assert client.indices.exists_index_template(name="logs-imperva.waf")
    assert not client.indices.exists_index_template(name="nope")
    with pytest.raises(NotFoundError) as excinfo:
        client.indices.get_index_template(name="nope")
    assert excinfo.value.body["error"]["reason"] == "index template matching [nope] not found"
    policy = client.ilm.get_lifecycle(name="imperva-waf")["imperva-waf"]
    assert policy["version"] == 1
    assert policy["policy"]["phases"]["hot"]["min_age"] == "0ms"
    assert policy["in_use_by"]["composable_templates"] == ["logs-imperva.waf"]


def test_missing_component_template(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as excinfo:
        client.indices.put_index_template(name="t", index_patterns=["t-*"], composed_of=["nope"])
    error = excinfo.value.body["error"]
    assert error["type"] == "invalid_index_template_exception"
    assert error["reason"] == ("index_template [t] invalid, cause [index template [t] specifies component templates "
                               "[nope] that do not exist]")


def test_same_priority_overlap_is_rejected(client: Elasticsearch) -> None:
    client.indices.put_index_template(name="a", index_patterns=["x-*"], priority=10)
    with pytest.raises(BadRequestError) as excinfo:
        client.indices.put_index_template(name="b", index_patterns=["x-y*"], priority=10)
    assert excinfo.value.body["error"]["reason"] == (
        "index template [b] has index patterns [x-y*] matching patterns from existing templates [a] with patterns "
        "(a => [x-*]) that have the same priority [10], multiple index templates may not match during index "
        "creation, please use a different priority")
    client.indices.put_index_template(name="b", index_patterns=["x-y*"], priority=11)
    client.indices.put_index_template(name="c", index_patterns=["z-*"], priority=10)  # no overlap


def test_builtin_logs_template_collides_at_priority_100(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as excinfo:
        install(client, priority=100)
    assert "existing templates [logs]" in excinfo.value.body["error"]["reason"]


def test_builtin_logs_template_wins_over_a_lower_priority(es: ElasticsearchServer, client: Elasticsearch) -> None:
    install(client, priority=50)
    client.index(index=DS, document=doc(1), op_type="create")
    assert client.indices.get_data_stream(name=DS)["data_streams"][0]["template"] == "logs"


def test_bad_mappings_are_rejected(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as excinfo:
        client.cluster.put_component_template(name="m", template={"mappings": {"properties": {"a": {"type": "keywrd"}}}})
    assert excinfo.value.body["error"]["type"] == "mapper_parsing_exception"
    assert "No handler for type [keywrd] declared on field [a]" in excinfo.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as excinfo:
        client.cluster.put_component_template(name="m", template={"mappings": {"properties": {
            "n": {"type": "long", "ignore_above": 10}}}})
    assert "unknown parameter [ignore_above] on mapper [n] of type [long]" in excinfo.value.body["error"]["reason"]
    with pytest.raises(BadRequestError):
        client.indices.put_index_template(name="t", index_patterns=["t-*"], data_stream={}, template={
            "mappings": {"properties": {"@timestamp": {"type": "keyword"}}}})


def test_component_and_policy_in_use_cannot_be_deleted(client: Elasticsearch) -> None:
    install(client)
    with pytest.raises(BadRequestError) as excinfo:
        client.cluster.delete_component_template(name="imperva-waf@mappings")
    assert "still in use by index templates [logs-imperva.waf]" in excinfo.value.body["error"]["reason"]
    client.index(index=DS, document=doc(1), op_type="create")
    with pytest.raises(BadRequestError) as excinfo:
        client.indices.delete_index_template(name="logs-imperva.waf")
    assert f"in use by a data streams [{DS}]" in excinfo.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as excinfo:
        client.ilm.delete_lifecycle(name="imperva-waf")
    assert "Cannot delete policy [imperva-waf]" in excinfo.value.body["error"]["reason"]
    client.indices.delete_data_stream(name=DS)
    client.indices.delete_index_template(name="logs-imperva.waf")
    client.cluster.delete_component_template(name="imperva-waf@mappings")
    client.ilm.delete_lifecycle(name="imperva-waf")
    with pytest.raises(NotFoundError):
        client.ilm.get_lifecycle(name="imperva-waf")


def test_ilm_policy_validation(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as excinfo:
        client.ilm.put_lifecycle(name="p", policy={"phases": {"hot": {"actions": {"delete": {}}}}})
    assert excinfo.value.body["error"]["reason"] == "invalid action [delete] defined in phase [hot]"
    with pytest.raises(BadRequestError):
        client.ilm.put_lifecycle(name="p", policy={"phases": {"lukewarm": {"actions": {}}}})
