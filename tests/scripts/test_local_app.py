"""scripts/launch/local_app.py: which Ray processes belong to the app (start_local_app itself
runs in tests/scripts and tests/reliability through the scripts that use it)."""

from __future__ import annotations

import pytest

from scripts.launch.local_app import serve_process_label


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("ray::ServeReplica:bench:TransformerDeployment", "TransformerDeployment"),
        ("ray::ServeReplica:bench:SmcDeployment.handle_request", "SmcDeployment"),
        ("ray::ServeReplica:bench:Ingress --flag", "Ingress"),
        ("ray::ProxyActor", "ProxyActor"),
        ("ray::ServeController.listen_for_change", "ServeController"),
        ("ray::ServeReplica:other:Ingress", None),
        ("/usr/bin/raylet --node", None),
        ("", None),
    ],
)
def test_serve_process_label(title: str, label: str | None) -> None:
    assert serve_process_label(title, "bench") == label
