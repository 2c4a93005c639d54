"""Client methods of served generations and staged trainings, over any transport or in process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

from chariots import errors
from chariots.op_store._fleet_routes import generation_from_json
from chariots.op_store._names import check_node_name
from chariots.op_store._records import record_from_json, record_to_json

if TYPE_CHECKING:
    from chariots.op_store._service import OpStoreService
    from chariots.pipelines import Generation, StateRecord
    from chariots.versioning import Version

__all__ = ["FleetClientMixin", "EmbeddedFleetMixin"]


class FleetClientMixin:
    """Served generations and staged trainings through the op store's routes (mixed into
    :class:`~chariots.op_store.BaseOpStoreClient`, whose ``_json`` sends the requests)."""

    def record_generation(self, pipeline_name: str, versions: Dict[str, "Version"]) -> "Generation":
        """Records the versions a load checked as the pipeline's next served generation.

        :param pipeline_name: the pipeline loaded
        :param versions: op name -> version, each one stored
        :raises NotFoundError: if a version is not stored
        :returns: the recorded generation
        """
        body = {
            "pipeline_name": check_node_name(pipeline_name, "pipeline name"),
            "versions": {name: str(version) for name, version in versions.items()},
        }
        return generation_from_json(self._json("POST", "/generations", json_body=body))

    def latest_generation(self, pipeline_name: str) -> Optional["Generation"]:
        """The newest served generation of a pipeline (None: no load was ever recorded)."""
        from urllib.parse import quote

        check_node_name(pipeline_name, "pipeline name")
        try:
            return generation_from_json(self._json("GET", f"/generations/{quote(pipeline_name, safe='')}"))
        except errors.NotFoundError:
            return None

    def generation_numbers(self) -> Dict[str, int]:
        """The newest generation number of every pipeline ever loaded."""
        return {name: int(number) for name, number in self._json("GET", "/generations")["generations"].items()}

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List["StateRecord"]) -> None:
        """Stages the states of a training run whose bytes were uploaded, for any process's save."""
        body = {
            "pipeline_name": check_node_name(pipeline_name, "pipeline name"),
            "node_names": list(node_names),
            "states": [record_to_json(state) for state in states],
        }
        self._json("POST", "/staged_trainings", json_body=body)

    def commit_staged_training(self, pipeline_name: str) -> Optional[List["StateRecord"]]:
        """Commits the pipeline's newest staged training (None: it was committed already, or none was staged)."""
        body = self._json(
            "POST", "/staged_trainings/commits", json_body={"pipeline_name": check_node_name(pipeline_name,
                                                                                            "pipeline name")}
        )
        if not body["committed"]:
            return None
        return [record_from_json(state, index) for index, state in enumerate(body["states"])]


class EmbeddedFleetMixin:
    """The same methods calling the op store service of this process directly."""

    service: "OpStoreService"

    def record_generation(self, pipeline_name: str, versions: Dict[str, "Version"]) -> "Generation":
        """Records the versions a load checked as the pipeline's next served generation."""
        return self.service.record_generation(pipeline_name, versions)

    def latest_generation(self, pipeline_name: str) -> Optional["Generation"]:
        """The newest served generation of a pipeline (None: no load was ever recorded)."""
        return self.service.latest_generation(pipeline_name)

    def generation_numbers(self) -> Dict[str, int]:
        """The newest generation number of every pipeline ever loaded."""
        return self.service.generation_numbers()

    def stage_training(self, pipeline_name: str, node_names: List[str], states: List["StateRecord"]) -> None:
        """Stages the states of a training run whose bytes were uploaded."""
        self.service.stage_training(pipeline_name, node_names, states)

    def commit_staged_training(self, pipeline_name: str) -> Optional[List["StateRecord"]]:
        """Commits the pipeline's newest staged training (None: nothing to commit)."""
        return self.service.commit_staged_training(pipeline_name)
