"""The type of the handles the deployments are bound to each other with.

Imported only by modules that already import ``ray.serve`` (which loads the handle module),
so it adds nothing to what the light modules import.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from ray.serve.handle import DeploymentHandle

Handle: TypeAlias = DeploymentHandle[Any]
"""A handle on another deployment. Its class parameter is left open: for the checker a
``@serve.deployment`` class stays a class (it is a ``Deployment`` at run time), and what a
``.remote`` call returns is untyped in Ray. Tests bind stand-ins with the same methods
(``tests/deployments/fake_handles.py``)."""
