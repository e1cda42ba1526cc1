"""FairCom's documented examples, replayed against the embedded server.

Every example of ``tests/faircom_examples.json`` is sent as FairCom printed it (placeholders filled
by the kit's filler, nothing else changed) to one server whose running configuration allows
permanent sessions. The answer must have the documented shape, except where the example's ``kit``
part says otherwise; each such difference must name kit's-choice rows that exist
(``kit_choices.KIT_CHOICES``) or sources rows (``sources:<key>``) that record a disagreement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tutorial_kit.client.examples import Example, Replayer, differences, find_corpus, load_examples
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.control.servicesfile import set_default
from tutorial_kit.server import EmulatorServer, services_path
from tutorial_kit.server.kit_choices import KIT_CHOICES

CORPUS = Path(__file__).with_name("faircom_examples.json")
EXAMPLES = load_examples(CORPUS)
FAIRCOM_HOSTS = ("docs.faircom.com", "documentation.faircom.com", "faircom.helpjuice.com")


def _row_exists(name: str) -> bool:
    """A kit's-choice row, or a sources row that records where the pages disagree."""
    if not name.startswith("sources:"):
        return name in KIT_CHOICES
    try:
        from tutorial_kit.server.sources import SOURCES
    except ImportError:
        return False
    source = SOURCES.get(name.removeprefix("sources:"))
    return source is not None and bool(source.differs)


@pytest.fixture(scope="module")
def replayer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayer]:
    home = tmp_path_factory.mktemp("corpus-home")
    server = EmulatorServer(home, port=0).start()
    try:
        set_default(services_path(home), "enablePermanentJsonApiSessions", True)
        server.restart()
        with KitClient(server.url) as client:
            yield Replayer(client, "ADMIN", "ADMIN")
    finally:
        server.stop()


def test_the_corpus_is_the_checkouts_and_large_enough() -> None:
    assert find_corpus(Path(__file__).parent) == CORPUS.resolve()
    assert len(EXAMPLES) >= 40
    ids = [e.id for e in EXAMPLES]
    assert len(ids) == len(set(ids)), "example ids must be unique"
    for example in EXAMPLES:
        assert urlsplit(example.url).hostname in FAIRCOM_HOSTS, example.id
        assert example.title and isinstance(example.printed, str), example.id


def test_broken_examples_are_marked_and_the_rest_parse() -> None:
    for example in EXAMPLES:
        try:
            json.loads(example.printed)
            parses = True
        except ValueError:
            parses = False
        if not parses:
            assert example.broken, f"{example.id} is not JSON as printed but is not marked broken"
    broken = {e.id for e in EXAMPLES if e.broken}
    # the three FairCom printed broken that the issue names
    assert {"seed-createSession-permanent", "createSession-maximal-newest"} <= broken
    assert any('"username"' in e.printed and e.printed.count('"username"') == 2 for e in EXAMPLES if e.broken)


def test_every_named_row_exists() -> None:
    missing = sorted({(e.id, row) for e in EXAMPLES for row in e.because if not _row_exists(row)})
    assert not missing, f"examples name kit's-choice rows that do not exist: {missing}"


def test_every_kit_difference_names_a_row() -> None:
    for example in EXAMPLES:
        if example.kit:
            assert example.because, f"{example.id}: the kit answers otherwise but names no row"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_the_example_gets_the_documented_answer(replayer: Replayer, example: Example) -> None:
    outcome = replayer.run(example)
    assert not outcome.skipped
    found = differences(example.expected(), outcome.answer)
    explained = f" (kit's choice: {', '.join(example.because)})" if example.because else ""
    assert not found, (f"{example.id}{explained} differs from {example.url}:\n  " + "\n  ".join(found)
                       + f"\nanswer: {json.dumps(outcome.answer)[:1500]}")


def test_a_different_answer_is_reported() -> None:
    shape = {"errorCode": 0, "top": ["result"], "absent": ["debugInfo"], "result_keys": ["sessions"],
             "items": {"result.sessions": ["authToken"]}, "count": {"result.sessions": 1},
             "values": {"result.sessions[0].permanentSession": True}, "types": {"result.sessions[0].port": "str"},
             "warnings": [12031], "message_contains": ["x"]}
    answer = {"result": {"sessions": [{"permanentSession": 1, "port": 8080}, {}]}, "debugInfo": {"warnings": []},
              "errorCode": 12012, "errorMessage": ""}
    found = differences(shape, answer)
    assert len(found) == 8, found
    assert differences({"errorCode": 0}, "not an envelope")
    good = {"result": {"sessions": [{"authToken": "t", "permanentSession": True, "port": "8080"}]},
            "errorCode": 0, "errorMessage": "x", "debugInfo": {"warnings": [{"code": 12031}]}}
    assert differences({k: v for k, v in shape.items() if k != "absent"}, good) == []
