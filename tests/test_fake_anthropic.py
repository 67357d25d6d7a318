"""The fake Anthropic API (tests/fake_anthropic.py) driven by the real ``anthropic`` SDK."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pydantic
import pytest

anthropic = pytest.importorskip("anthropic")

from anthropic.types import TextBlock, ToolUseBlock  # noqa: E402

from tests.fake_anthropic import FakeAnthropic, FakeError  # noqa: E402

MODEL = "claude-test-1"
PRODUCT_TOOL: dict[str, Any] = {
    "name": "record_product",
    "description": "Record the product shown on the page.",
    "input_schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
        "required": ["name", "price"],
    },
}
OTHER_TOOL: dict[str, Any] = {
    "name": "report_no_product",
    "description": "Say the page shows no product.",
    "input_schema": {"type": "object", "properties": {"reason": {"type": "string"}}},
}
PAGE = "<h1>Blue Widget</h1><span class=price>9.99 EUR</span> " * 10


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def extract(client: Any, text: str = PAGE, **kwargs: Any) -> Any:
    return client.messages.create(
        model=MODEL,
        max_tokens=512,
        system="You extract products from HTML.",
        tools=kwargs.pop("tools", [PRODUCT_TOOL]),
        messages=user(text),
        **kwargs,
    )


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def client_for(fake: FakeAnthropic, max_retries: int = 2, **kwargs: Any) -> Any:
    return anthropic.Anthropic(
        api_key="test-key", base_url=fake.url, max_retries=max_retries, **kwargs
    )


# -- single messages ----------------------------------------------------------------------


def test_tool_use_round_trips_into_tool_use_block(fake: FakeAnthropic) -> None:
    answer = {"name": "Blue Widget", "price": 9.99, "tags": ["a", "b"], "stock": None}
    fake.script(answer)
    message = extract(client_for(fake))

    block = message.content[0]
    assert isinstance(block, ToolUseBlock)
    assert block.input == answer
    assert block.name == "record_product"
    assert block.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"
    assert message.stop_sequence is None
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert message.role == "assistant"
    assert message.usage.input_tokens >= len(PAGE) // 4 > 0
    assert message.usage.output_tokens == len(json.dumps(answer)) // 4
    assert message.usage.cache_read_input_tokens == 0
    assert message._request_id is not None and message._request_id.startswith("req_")

    assert fake.message_calls == 1
    [request] = fake.requests
    assert (request["method"], request["path"]) == ("POST", "/v1/messages")
    assert request["headers"]["x-api-key"] == "test-key"
    assert request["headers"]["anthropic-version"]
    assert request["json"]["tools"][0]["name"] == "record_product"
    assert fake.message_requests == [request["json"]]


def test_responder_sees_the_request_and_tool_choice_picks_the_tool(fake: FakeAnthropic) -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return {"reason": f"{len(body['messages'][0]['content'])} chars"}

    fake.responder = responder
    message = extract(
        client_for(fake),
        "empty page",
        tools=[PRODUCT_TOOL, OTHER_TOOL],
        tool_choice={"type": "tool", "name": "report_no_product"},
    )
    assert message.content[0].name == "report_no_product"
    assert message.content[0].input == {"reason": "10 chars"}
    assert seen[0]["system"] == "You extract products from HTML."
    assert seen[0]["tool_choice"] == {"type": "tool", "name": "report_no_product"}


def test_default_responder_answers_empty_tool_input(fake: FakeAnthropic) -> None:
    message = extract(client_for(fake))
    assert message.content[0].input == {}
    assert message.usage.output_tokens >= 1


def test_script_is_consumed_before_the_responder(fake: FakeAnthropic) -> None:
    fake.responder = lambda body: {"from": "responder"}
    fake.script({"from": "script 1"}, "not a tool call")
    client = client_for(fake)
    assert extract(client).content[0].input == {"from": "script 1"}
    assert extract(client).content[0].text == "not a tool call"
    assert extract(client).content[0].input == {"from": "responder"}
    assert fake.scripted == 0


def test_text_answer_is_a_text_block_with_end_turn(fake: FakeAnthropic) -> None:
    fake.script("I cannot find a product here.")
    message = extract(client_for(fake))
    [block] = message.content
    assert isinstance(block, TextBlock)
    assert block.text == "I cannot find a product here."
    assert message.stop_reason == "end_turn"


def test_dict_answer_without_tools_is_json_text_that_parse_reads(fake: FakeAnthropic) -> None:
    class Product(pydantic.BaseModel):
        name: str
        price: float

    fake.script({"name": "Blue Widget", "price": 9.99})
    parsed = client_for(fake).messages.parse(
        model=MODEL, max_tokens=256, messages=user(PAGE), output_format=Product
    )
    assert parsed.parsed_output == Product(name="Blue Widget", price=9.99)
    assert parsed.stop_reason == "end_turn"


def test_streaming_gives_the_same_message(fake: FakeAnthropic) -> None:
    answer = {"name": "Blue Widget", "price": 9.99, "notes": "x" * 50}
    fake.script(answer, "plain streamed text")
    client = client_for(fake)
    with client.messages.stream(
        model=MODEL, max_tokens=256, tools=[PRODUCT_TOOL], messages=user(PAGE)
    ) as stream:
        message = stream.get_final_message()
    assert message.content[0].input == answer
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == len(json.dumps(answer)) // 4

    with client.messages.stream(model=MODEL, max_tokens=256, messages=user("hi")) as stream:
        assert "".join(stream.text_stream) == "plain streamed text"


def test_count_tokens(fake: FakeAnthropic) -> None:
    count = client_for(fake).messages.count_tokens(model=MODEL, messages=user("x" * 400))
    assert count.input_tokens == 100
    assert fake.message_calls == 0


# -- errors and retries -------------------------------------------------------------------


def test_529_is_retried_by_the_sdk_quickly(fake: FakeAnthropic) -> None:
    fake.script(FakeError(status=529, type="overloaded_error", message="Overloaded"), {"ok": 1})
    message = extract(client_for(fake, max_retries=2))
    assert message.content[0].input == {"ok": 1}
    assert fake.message_calls == 2
    retries = [r["headers"].get("x-stainless-retry-count") for r in fake.requests]
    assert retries == ["0", "1"]


def test_retry_after_ms_makes_retries_fast(fake: FakeAnthropic) -> None:
    # Without retry-after-ms the SDK would back off 0.375-0.5 s, 0.75-1 s, 1.5-2 s: >= 2.6 s.
    fake.script(FakeError.overloaded(), FakeError.server_error(), FakeError.overloaded(), {})
    started = time.monotonic()
    extract(client_for(fake, max_retries=3))
    assert time.monotonic() - started < 1.5
    assert fake.message_calls == 4


def test_529_without_retries_raises_status_error(fake: FakeAnthropic) -> None:
    fake.script(FakeError.overloaded("Overloaded"))
    with pytest.raises(anthropic.APIStatusError) as caught:
        extract(client_for(fake, max_retries=0))
    error = caught.value
    assert isinstance(error, anthropic.OverloadedError)
    assert error.status_code == 529
    assert error.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": error.request_id,
    }
    assert error.request_id is not None and error.request_id.startswith("req_")
    assert error.response.headers["retry-after-ms"] == "10"
    assert fake.message_calls == 1


def test_500_raises_internal_server_error(fake: FakeAnthropic) -> None:
    fake.script(FakeError.server_error("boom"))
    with pytest.raises(anthropic.InternalServerError) as caught:
        extract(client_for(fake, max_retries=0))
    assert caught.value.status_code == 500
    assert caught.value.body["error"] == {"type": "api_error", "message": "boom"}


def test_429_raises_rate_limit_error_with_retry_after(fake: FakeAnthropic) -> None:
    fake.script(FakeError.rate_limited("slow down", retry_after=7))
    with pytest.raises(anthropic.RateLimitError) as caught:
        extract(client_for(fake, max_retries=0))
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert "retry-after-ms" not in caught.value.response.headers
    assert caught.value.body["error"] == {"type": "rate_limit_error", "message": "slow down"}


def test_429_retry_after_seconds_is_honoured(fake: FakeAnthropic) -> None:
    fake.script(FakeError.rate_limited(retry_after=0.05), {"ok": 1})
    started = time.monotonic()
    assert extract(client_for(fake, max_retries=1)).content[0].input == {"ok": 1}
    assert time.monotonic() - started < 0.3  # SDK backoff would be >= 0.375 s
    assert fake.message_calls == 2


def test_should_retry_false_stops_sdk_retries(fake: FakeAnthropic) -> None:
    fake.script(FakeError(529, should_retry=False), {"never": "reached"})
    with pytest.raises(anthropic.OverloadedError):
        extract(client_for(fake, max_retries=2))
    assert fake.message_calls == 1
    assert fake.scripted == 1


def test_missing_api_key_is_authentication_error(fake: FakeAnthropic) -> None:
    no_key = {"X-Api-Key": anthropic.Omit()}  # the SDK's way to send no key at all
    with pytest.raises(anthropic.AuthenticationError) as caught:
        extract(client_for(fake, max_retries=0), extra_headers=no_key)
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert "x-api-key" not in fake.requests[0]["headers"]
    assert fake.message_calls == 1


def test_configured_api_key_rejects_others() -> None:
    with FakeAnthropic(api_key="right") as fake:
        with pytest.raises(anthropic.AuthenticationError):
            extract(client_for(fake, max_retries=0))
        client = anthropic.Anthropic(api_key="right", base_url=fake.url, max_retries=0)
        assert extract(client).stop_reason == "tool_use"


def test_invalid_requests_are_400(fake: FakeAnthropic) -> None:
    client = client_for(fake, max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        client.messages.create(model=MODEL, max_tokens=10, messages=[])
    with pytest.raises(anthropic.BadRequestError, match="tool_choice"):
        extract(client, tool_choice={"type": "tool", "name": "missing_tool"})

    key = {"x-api-key": "k"}
    version = {"anthropic-version": "2023-06-01"}
    body = {"model": MODEL, "max_tokens": 10, "messages": user("hi")}
    with httpx.Client(base_url=fake.url) as http:
        for headers, payload, status, error_type in [
            ({}, body, 401, "authentication_error"),
            ({"x-api-key": "", **version}, body, 401, "authentication_error"),
            (key, body, 400, "invalid_request_error"),
            ({**key, **version}, {**body, "max_tokens": None}, 400, "invalid_request_error"),
            ({**key, **version}, {"model": MODEL, "max_tokens": 5}, 400, "invalid_request_error"),
        ]:
            response = http.post("/v1/messages", json=payload, headers=headers)
            assert response.status_code == status, (headers, payload)
            assert response.json()["error"]["type"] == error_type
            assert response.headers["request-id"].startswith("req_")
        response = http.get("/v1/nope", headers={**key, **version})
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found_error"
    assert fake.message_calls == 7  # every POST /v1/messages counts, errors included
    assert fake.scripted == 0 and fake.errors == []


def test_a_failing_responder_is_a_500_the_sdk_does_not_retry(fake: FakeAnthropic) -> None:
    def broken(body: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("price")

    fake.responder = broken
    with pytest.raises(anthropic.InternalServerError, match="responder raised KeyError"):
        extract(client_for(fake, max_retries=2))
    assert fake.message_calls == 1
    assert isinstance(fake.errors[0], KeyError)


# -- async, concurrency, keep-alive -------------------------------------------------------


def test_async_client_with_concurrent_calls(fake: FakeAnthropic) -> None:
    inside = 0
    peak = 0
    lock = threading.Lock()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
        return {"echo": body["messages"][0]["content"]}

    fake.responder = responder

    async def main() -> list[Any]:
        async with anthropic.AsyncAnthropic(
            api_key="test-key", base_url=fake.url, max_retries=0
        ) as client:
            return await asyncio.gather(
                *(
                    client.messages.create(
                        model=MODEL, max_tokens=64, tools=[PRODUCT_TOOL], messages=user(f"page {i}")
                    )
                    for i in range(8)
                )
            )

    messages = asyncio.run(main())
    assert [m.content[0].input for m in messages] == [{"echo": f"page {i}"} for i in range(8)]
    assert fake.message_calls == 8
    assert peak > 1  # served concurrently


def test_async_client_retries_and_raises(fake: FakeAnthropic) -> None:
    fake.script(FakeError.overloaded(), {"ok": 1}, FakeError.rate_limited())

    async def main() -> None:
        client = anthropic.AsyncAnthropic(api_key="test-key", base_url=fake.url, max_retries=1)
        message = await client.messages.create(
            model=MODEL, max_tokens=64, tools=[PRODUCT_TOOL], messages=user("x")
        )
        assert message.content[0].input == {"ok": 1}
        with pytest.raises(anthropic.RateLimitError):
            await client.with_options(max_retries=0).messages.create(
                model=MODEL, max_tokens=64, messages=user("x")
            )
        await client.close()

    asyncio.run(main())
    assert fake.message_calls == 3


def test_keep_alive_reuses_one_connection(fake: FakeAnthropic) -> None:
    fake.script(FakeError.overloaded())
    client = client_for(fake)
    for _ in range(5):
        extract(client)
    assert fake.message_calls == 6
    assert fake.connections == 1
    client.close()


# -- message batches ----------------------------------------------------------------------


def batch_requests(n: int) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"page-{i}",
            "params": {
                "model": MODEL,
                "max_tokens": 256,
                "tools": [PRODUCT_TOOL],
                "messages": user(f"product {i}"),
            },
        }
        for i in range(n)
    ]


def wait_until_ended(client: Any, batch_id: str) -> Any:
    for _ in range(10):
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
    raise AssertionError("batch never ended")


def test_batch_create_retrieve_results(fake: FakeAnthropic) -> None:
    fake.responder = lambda body: {"name": body["messages"][0]["content"].upper()}
    client = client_for(fake)

    batch = client.messages.batches.create(requests=batch_requests(3))
    assert batch.id.startswith("msgbatch_")
    assert batch.type == "message_batch"
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 3
    assert batch.results_url is None and batch.ended_at is None
    assert batch.expires_at > batch.created_at
    assert fake.batch_items == 0

    first = client.messages.batches.retrieve(batch.id)
    assert first.processing_status == "in_progress"  # batch_delay_polls = 1
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.ended_at is not None
    assert ended.results_url == f"{fake.url}/v1/messages/batches/{batch.id}/results"
    assert ended.request_counts.succeeded == 3 and ended.request_counts.processing == 0

    results = list(client.messages.batches.results(batch.id))
    assert [r.custom_id for r in results] == ["page-0", "page-1", "page-2"]
    for i, entry in enumerate(results):
        assert entry.result.type == "succeeded"
        assert entry.result.message.content[0].input == {"name": f"PRODUCT {i}"}
        assert entry.result.message.usage.service_tier == "batch"
    assert fake.batch_items == 3
    assert fake.message_calls == 0
    paths = [(r["method"], r["path"]) for r in fake.requests]
    assert ("GET", f"/v1/messages/batches/{batch.id}/results") in paths


def test_batch_with_an_errored_entry(fake: FakeAnthropic) -> None:
    fake.batch_delay_polls = 0
    fake.script({"name": "a"}, FakeError.invalid_request("prompt is too long"), {"name": "c"})
    client = client_for(fake)
    batch = client.messages.batches.create(requests=batch_requests(3))
    ended = wait_until_ended(client, batch.id)
    assert ended.request_counts.succeeded == 2 and ended.request_counts.errored == 1

    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["page-0"].message.content[0].input == {"name": "a"}
    assert results["page-2"].message.content[0].input == {"name": "c"}
    errored = results["page-1"]
    assert errored.type == "errored"
    assert errored.error.type == "error"
    assert errored.error.error.type == "invalid_request_error"
    assert errored.error.error.message == "prompt is too long"


def test_async_batches(fake: FakeAnthropic) -> None:
    fake.responder = lambda body: {"n": len(body["messages"][0]["content"])}

    async def main() -> list[Any]:
        client = anthropic.AsyncAnthropic(api_key="test-key", base_url=fake.url)
        batch = await client.messages.batches.create(requests=batch_requests(2))
        while (await client.messages.batches.retrieve(batch.id)).processing_status != "ended":
            pass
        results = [r async for r in await client.messages.batches.results(batch.id)]
        await client.close()
        return results

    results = asyncio.run(main())
    assert [r.result.message.content[0].input for r in results] == [{"n": 9}, {"n": 9}]


def test_batch_cancel_list_delete(fake: FakeAnthropic) -> None:
    client = client_for(fake, max_retries=0)
    older = client.messages.batches.create(requests=batch_requests(1))
    newer = client.messages.batches.create(requests=batch_requests(2))

    assert [b.id for b in client.messages.batches.list()] == [newer.id, older.id]
    page = client.messages.batches.list(limit=1)
    assert [b.id for b in page.data] == [newer.id] and page.has_more
    assert [b.id for b in page] == [newer.id, older.id]  # auto-pagination follows after_id
    assert [b.id for b in client.messages.batches.list(limit=1, after_id=newer.id)] == [older.id]

    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.delete(newer.id)  # still processing
    canceling = client.messages.batches.cancel(newer.id)
    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    ended = client.messages.batches.retrieve(newer.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.canceled == 2
    assert [r.result.type for r in client.messages.batches.results(newer.id)] == ["canceled"] * 2
    assert fake.batch_items == 0

    deleted = client.messages.batches.delete(newer.id)
    assert (deleted.id, deleted.type) == (newer.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(newer.id)


def test_batch_rejects_bad_requests(fake: FakeAnthropic) -> None:
    client = client_for(fake, max_retries=0)
    bad = batch_requests(2)
    bad[1]["params"].pop("max_tokens")
    with pytest.raises(anthropic.BadRequestError, match=r"requests\.1\.params\.max_tokens"):
        client.messages.batches.create(requests=bad)
    dup = batch_requests(2)
    dup[1]["custom_id"] = dup[0]["custom_id"]
    with pytest.raises(anthropic.BadRequestError, match="duplicate"):
        client.messages.batches.create(requests=dup)


# -- lifecycle ----------------------------------------------------------------------------


def test_reset_and_restart() -> None:
    fake = FakeAnthropic().start()
    try:
        fake.responder = lambda body: "custom"
        fake.script({"x": 1})
        extract(client_for(fake))
        fake.reset()
        assert (fake.requests, fake.message_calls, fake.scripted) == ([], 0, 0)
        assert extract(client_for(fake)).content[0].input == {}  # default responder again
    finally:
        fake.stop()
    with pytest.raises(RuntimeError):
        _ = fake.url
    fake.stop()  # idempotent


def test_two_servers_get_different_ports() -> None:
    with FakeAnthropic() as a, FakeAnthropic() as b:
        assert a.url != b.url
        assert a.url.startswith("http://127.0.0.1:")
