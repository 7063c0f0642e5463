"""deploy/k8s/: the manifests agree with each other and with the node they run.

Not a Kubernetes schema validation (that needs a schema package the project does not depend on
yet): these checks read the YAML and compare it with the node's own defaults and routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chordshare.api.routes.ops import router as ops_routes
from chordshare.model.limits import DEFAULT_REPLICAS
from chordshare.service.config import NodeConfig

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def manifest(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((K8S / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


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
