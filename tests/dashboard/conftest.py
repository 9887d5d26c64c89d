"""The dashboard tests' fixture: known serving documents in the in-process MongoDB stand-in."""
import pytest

from serving import load_serving_documents


@pytest.fixture
def serving_db(mongo_db):
    return load_serving_documents(mongo_db)
