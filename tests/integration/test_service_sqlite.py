import pytest

from tests.integration.service_contract import ServiceContract


class TestServiceOnSQLite(ServiceContract):
    @pytest.fixture
    def url(self, sqlite_url):
        return sqlite_url
