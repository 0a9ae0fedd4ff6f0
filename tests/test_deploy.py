"""Deployment files: the Kubernetes manifests against the API schemas, offline; compose config.

The kustomizations are rendered by the real kubectl (`kubectl kustomize`, from the test
requirements) and every resource is validated strictly (unknown fields fail) against the bundled
Kubernetes 1.31 schemas. The schemas carry no enums, so the values that matter are checked here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from fetcher.config import secrets
from fetcher.config.load import load

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy" / "kubernetes"
KUBERNETES = "1.31.0"
VARIANTS = {"s3": DEPLOY, "pvc": DEPLOY / "pvc"}


def render(directory: Path) -> list[dict[str, Any]]:
    kubectl = Path(sys.executable).parent / "kubectl"
    result = subprocess.run(
        [str(kubectl), "kustomize", str(directory)], capture_output=True, text=True, check=True, timeout=60
    )
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (document,) = [document for document in documents if document["kind"] == kind]
    return document


_FAIL_JOB_ON_CONFIG_ERROR = {
    "action": "FailJob",
    "onExitCodes": {"containerName": "fetcher", "operator": "In", "values": [2]},
}


def problems(cronjob: dict[str, Any]) -> list[str]:
    """What the schemas cannot check: the values this CronJob must have."""
    spec = cronjob["spec"]
    job = spec["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    expected = {
        "concurrencyPolicy": (spec.get("concurrencyPolicy"), "Forbid"),
        "restartPolicy": (pod.get("restartPolicy"), "Never"),
        "runAsNonRoot": (pod["securityContext"].get("runAsNonRoot"), True),
        "seccompProfile": (pod["securityContext"].get("seccompProfile"), {"type": "RuntimeDefault"}),
        "readOnlyRootFilesystem": (container["securityContext"].get("readOnlyRootFilesystem"), True),
        "allowPrivilegeEscalation": (container["securityContext"].get("allowPrivilegeEscalation"), False),
        "capabilities": (container["securityContext"].get("capabilities"), {"drop": ["ALL"]}),
        "args": (container.get("args"), ["once"]),
        "podFailurePolicy": (job.get("podFailurePolicy"), {"rules": [_FAIL_JOB_ON_CONFIG_ERROR]}),
    }
    found = [
        f"{key}: {actual!r}, expected {wanted!r}"
        for key, (actual, wanted) in expected.items()
        if actual != wanted
    ]
    for key in (
        "schedule",
        "timeZone",
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ):
        if key not in spec:
            found.append(f"{key} is not set")
    for key in ("backoffLimit", "activeDeadlineSeconds"):
        if key not in job:
            found.append(f"{key} is not set")
    return found


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(VARIANTS[request.param])


class TestKubernetes:
    def test_every_rendered_resource_validates_strictly(
        self, rendered: tuple[str, list[dict[str, Any]]]
    ) -> None:
        _, documents = rendered

        for document in documents:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
        assert {document["kind"] for document in documents} >= {"CronJob", "ConfigMap"}

    def test_secret_example_validates(self) -> None:
        (secret,) = yaml.safe_load_all((DEPLOY / "secret.example.yaml").read_text())

        kubernetes_validate.validate(secret, KUBERNETES, strict=True)

    def test_cronjob_has_every_required_setting(self, rendered: tuple[str, list[dict[str, Any]]]) -> None:
        _, documents = rendered

        assert problems(by_kind(documents, "CronJob")) == []

    def test_active_deadline_is_the_sources_run_timeouts_plus_slack(
        self, rendered: tuple[str, list[dict[str, Any]]]
    ) -> None:
        _, documents = rendered
        settings = tomllib.loads(by_kind(documents, "ConfigMap")["data"]["fetcher.toml"])
        deadline = by_kind(documents, "CronJob")["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]

        # `once` runs the sources one after another, each within its own run_timeout_s
        assert deadline == sum(source.get("run_timeout_s", 3000) for source in settings["sources"]) + 300

    def test_configmap_is_a_valid_fetcher_config_mounted_where_read(
        self, rendered: tuple[str, list[dict[str, Any]]], tmp_path: Path
    ) -> None:
        variant, documents = rendered
        text = by_kind(documents, "ConfigMap")["data"]["fetcher.toml"]
        pod = by_kind(documents, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        token_file = tomllib.loads(text)["sources"][0]["auth"]["token_file"]
        (tmp_path / "token").write_text("t")

        path = _write(tmp_path / "fetcher.toml", text.replace(token_file, str(tmp_path / "token")))
        settings = secrets.resolve(load(str(path), {}), {})

        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        assert {"name": "FETCHER_CONFIG", "value": mounts["config"] + "/fetcher.toml"} in container["env"]
        assert os.path.dirname(token_file) == mounts["secrets"]
        assert settings.output_dir == {"s3": "s3://my-lake/raw", "pvc": mounts.get("output")}[variant]

    def test_pvc_variant_mounts_the_claim(self) -> None:
        documents = render(VARIANTS["pvc"])
        pod = by_kind(documents, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]

        claim = by_kind(documents, "PersistentVolumeClaim")["metadata"]["name"]
        assert {"name": "output", "persistentVolumeClaim": {"claimName": claim}} in pod["volumes"]

    def test_validation_rejects_broken_manifests(self) -> None:
        cronjob = by_kind(render(VARIANTS["s3"]), "CronJob")
        cronjob["spec"]["concurrencyPolicy"] = "Sometimes"
        cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] = ["cron"]

        assert problems(cronjob) == [
            "concurrencyPolicy: 'Sometimes', expected 'Forbid'",
            "args: ['cron'], expected ['once']",
        ]
        cronjob["spec"]["retryForever"] = True
        with pytest.raises(kubernetes_validate.ValidationError, match="retryForever"):
            kubernetes_validate.validate(cronjob, KUBERNETES, strict=True)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    if os.environ.get("FETCHER_REQUIRE_DOCKER") == "1":
        pytest.fail("FETCHER_REQUIRE_DOCKER=1 but neither docker-compose nor docker compose is installed")
    pytest.skip("neither docker-compose nor the docker compose plugin is installed")


def compose_config(*files: str, profile: str | None = None) -> dict[str, Any]:
    args = [*_compose(), *(f"-f{REPO / name}" for name in files)]
    if profile:
        args += ["--profile", profile]
    result = subprocess.run([*args, "config"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


class TestCompose:
    def test_compose_config_is_valid_with_the_fetcher_by_default(self) -> None:
        services = compose_config("compose.yaml")["services"]

        assert services["fetcher"]["volumes"][0].endswith(":/out:rw")
        assert services["demo-api"]["profiles"] == ["demo"]
        assert services["fetcher-demo"]["network_mode"] == "service:demo-api"

    def test_compose_builds_the_runtime_stage_and_the_demo_api_checks_its_own_health(self) -> None:
        services = compose_config("compose.yaml", profile="demo")["services"]

        assert services["fetcher"]["build"]["target"] == "runtime"
        assert services["demo-api"]["healthcheck"]["test"] == [
            "CMD",
            "python",
            "/app/demo/api.py",
            "--check",
            "--port",
            "8900",
        ]

    def test_host_override_puts_every_service_on_the_host_network(self) -> None:
        document = compose_config("compose.yaml", "compose.host.yaml", profile="demo")

        assert {service["network_mode"] for service in document["services"].values()} == {"host"}
        assert not document.get("networks")
