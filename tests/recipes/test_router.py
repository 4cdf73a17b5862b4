"""recipes.router: constrained labels feeding .split."""

from __future__ import annotations

import pytest

from cadence_llm import FunctionModel, ScriptedModel
from recipes import router


async def test_each_ticket_reaches_its_desk(fake_model: FunctionModel) -> None:
    """Billing, technical and sales tickets end at the matching desk."""
    tickets = await router.main(model=fake_model)
    assert [t.intent for t in tickets] == ["billing", "technical", "sales"]
    assert [t.desk for t in tickets] == ["billing", "technical", "sales"]


async def test_model_is_asked_once_per_ticket() -> None:
    """The splits reuse the stored label instead of classifying again."""
    model = ScriptedModel(['{"label": "sales"}'])
    ticket = await router.build(model).run(router.Ticket(message="How much for 50 seats?"))
    assert (model.calls, ticket.desk) == (1, "sales")


async def test_labels_are_constrained_by_a_schema_enum() -> None:
    """The request's JSON schema only allows the three labels."""
    model = ScriptedModel(['{"label": "billing"}'])
    await router.build(model).run(router.Ticket(message="refund please"))
    schema = model.requests[0].response_format.schema_  # type: ignore[union-attr]
    assert set(schema["properties"]["label"]["enum"]) == set(router.LABELS)


async def test_a_label_outside_the_set_is_re_asked() -> None:
    """An invalid label is sent back with the validation error, then accepted."""
    model = ScriptedModel(['{"label": "legal"}', '{"label": "technical"}'])
    ticket = await router.build(model).run(router.Ticket(message="It crashes"))
    assert (model.calls, ticket.desk) == (2, "technical")


@pytest.mark.parametrize("label", router.LABELS)
async def test_exactly_one_desk_runs(label: str) -> None:
    """Only the branch of the chosen label runs."""
    ticket = await router.build(ScriptedModel([f'{{"label": "{label}"}}'])).run(
        router.Ticket(message="x")
    )
    assert ticket.desk == label and ticket.reply
