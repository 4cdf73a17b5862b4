"""cadence_tool at its edges: a score field named ``score`` is an argument like any other."""

from __future__ import annotations

from dataclasses import dataclass

from cadence import Cadence, Score
from cadence_llm import ToolBox, ToolCall, cadence_tool


@dataclass
class Exam(Score):
    """Grade an exam."""

    student: str = ""
    score: int = 0
    grade: str = ""


def grade(exam: Exam) -> None:
    exam.grade = "A" if exam.score >= 90 else "B"


exams = Cadence("exam", Exam()).then("grade", grade)


async def test_a_score_field_named_score_is_a_parameter_the_model_sends() -> None:
    """The field shows in the schema and reaches the cadence, not the caller's score."""
    t = cadence_tool(exams, inputs=["student", "score"], output="grade")
    assert set(t.parameters["properties"]) == {"student", "score"}
    assert t.parameters["properties"]["score"]["type"] == "integer"
    [high, low] = await ToolBox([t]).run(
        [
            ToolCall(id="1", name="exam", arguments='{"student": "Ada", "score": 95}'),
            ToolCall(id="2", name="exam", arguments='{"student": "Bob"}'),
        ]
    )
    assert (high.ok, high.value) == (True, "A")
    assert (low.ok, low.value) == (True, "B")
    [bad] = await ToolBox([t]).run([ToolCall(id="3", name="exam", arguments='{"score": "lots"}')])
    assert not bad.ok and "score" in bad.message.content
