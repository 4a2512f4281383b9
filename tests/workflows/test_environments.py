"""The shared Temporal fixtures start from the venv's binaries with duban's search attributes."""

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from schemas.visibility import SEARCH_ATTRIBUTES
from workers.settings import Settings


class TestEnvironments:
    async def test_dev_server_has_every_search_attribute(self, dev_server_env: WorkflowEnvironment) -> None:
        """Listing and filtering need the attributes registered with their design.md types."""
        client = dev_server_env.client
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        registered = {name: int(kind) for name, kind in response.custom_attributes.items()}
        assert set(SEARCH_ATTRIBUTES) <= set(registered)

    async def test_time_skipping_server_skips_time(self, time_skipping_env: WorkflowEnvironment) -> None:
        """Sleeping a day on the test server costs no wall-clock time."""
        before = await time_skipping_env.get_current_time()
        await time_skipping_env.sleep(86_400)
        after = await time_skipping_env.get_current_time()
        assert (after - before).total_seconds() >= 86_400

    def test_settings_use_a_temporary_data_dir(self, settings: Settings, tmp_path) -> None:
        """No test writes into the project's var/."""
        assert settings.data_dir.is_relative_to(tmp_path)
        assert settings.payload_keys is not None

    def test_dev_server_settings_point_at_the_dev_server(
        self, dev_server_settings: Settings, dev_server_env: WorkflowEnvironment
    ) -> None:
        """Code that calls `connect(settings)` reaches the session's dev server, not 7233."""
        assert dev_server_settings.temporal.address == dev_server_env.client.service_client.config.target_host
