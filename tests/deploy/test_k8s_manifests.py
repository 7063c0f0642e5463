"""deploy/k8s/: the manifests are valid Kubernetes objects and agree with the node they run.

No cluster runs here: every resource is validated, strictly (no unknown field), against the
Kubernetes OpenAPI schemas that ``kubernetes-validate`` ships, for the oldest and the newest
Kubernetes version checked; the other checks compare the YAML with the node's own defaults and
routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from chordshare.api.routes.ops import router as ops_routes
from chordshare.model.limits import DEFAULT_REPLICAS
from chordshare.service.config import NodeConfig

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
RESOURCES = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]


def manifest(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", RESOURCES)
def test_each_resource_is_valid_against_the_kubernetes_schema(name: str, version: str) -> None:
    kubernetes_validate.validate(manifest(name), version, strict=True)


def test_the_schema_check_refuses_a_misspelt_field() -> None:
    broken = manifest("statefulset.yaml")
    broken["spec"]["replica"] = broken["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(manifest("kustomization.yaml")["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_selectors_name_the_pods_of_the_statefulset() -> None:
    sts, svc, pdb = manifest("statefulset.yaml"), manifest("service.yaml"), manifest("pdb.yaml")
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["clusterIP"] == "None"
    assert sts["spec"]["serviceName"] == svc["metadata"]["name"]


def test_the_budget_keeps_k_minus_one_replicas() -> None:
    sts, pdb = manifest("statefulset.yaml"), manifest("pdb.yaml")
    assert sts["spec"]["replicas"] == DEFAULT_REPLICAS
    assert pdb["spec"]["minAvailable"] == DEFAULT_REPLICAS - 1


def test_termination_outlasts_the_graceful_leave() -> None:
    pod = manifest("statefulset.yaml")["spec"]["template"]["spec"]
    leave = NodeConfig.model_fields["leave_handoff_timeout"].default
    assert pod["terminationGracePeriodSeconds"] > leave


def test_ports_and_probes_match_the_node() -> None:
    container = manifest("statefulset.yaml")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    fields = NodeConfig.model_fields
    assert ports == {"grpc": fields["grpc_port"].default, "http": fields["http_port"].default}
    paths = {getattr(route, "path", None) for route in ops_routes.routes}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= paths
    claims = {
        c["metadata"]["name"] for c in manifest("statefulset.yaml")["spec"]["volumeClaimTemplates"]
    }
    assert {m["name"] for m in container["volumeMounts"]} <= claims
