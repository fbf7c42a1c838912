"""Where the deployment artefacts live in the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = ROOT / "deploy"
ALERTS: Final = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST: Final = ROOT / "tests" / "ops" / "alerts_test.yml"
DASHBOARD: Final = DEPLOY / "grafana" / "power-exporter.json"
DOCKERFILE: Final = DEPLOY / "docker" / "Dockerfile"
COMPOSE: Final = DEPLOY / "compose" / "compose.yaml"
KUBERNETES: Final = DEPLOY / "kubernetes"
UNIT: Final = DEPLOY / "systemd" / "power-exporter.service"
