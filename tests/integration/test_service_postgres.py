import pytest

from tests.integration.service_contract import ServiceContract


@pytest.mark.postgres
class TestServiceOnPostgres(ServiceContract):
    @pytest.fixture
    def url(self, pg_url):
        return pg_url
