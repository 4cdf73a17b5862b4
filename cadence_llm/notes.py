"""Note factories: LLM steps that read like the rest of the DSL.

``llm_note`` fills a prompt template from score fields, calls a model and writes the answer into
a field; ``classify`` picks one of a fixed set of labels, for ``.split`` intent routing::

    route = classify(model, labels=["billing", "technical", "other"], text="{query}", into="intent")
    flow = (
        Cadence("support", Ticket(query="My invoice is wrong"))
        .then("classify", route)
        .split("is_billing", route.is_("billing"), if_true=[refund_desk], if_false=[helpdesk])
        .then("answer", llm_note(model, prompt="Answer briefly: {query}", into="answer"))
    )

Templates use ``str.format`` syntax over the score's fields (``{query}``, ``{user.name}``,
``{items[0]}``); a field the score lacks raises :class:`PromptTemplateError` naming it and the
fields that exist. Literal braces are written ``{{`` and ``}}``.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, create_model

from cadence.exceptions import CadenceDefinitionError, CadenceError

from ._options import request_options
from .messages import ModelRequest
from .models.base import Model
from .structured import generate

__all__ = [
    "Classifier",
    "LLMNote",
    "PromptTemplateError",
    "classify",
    "fill_template",
    "llm_note",
    "template_fields",
]

_FORMATTER = string.Formatter()


class PromptTemplateError(CadenceError):
    """A prompt template names a field the score does not have."""

    default_code = "TEMPLATE_FIELD_MISSING"


def template_fields(template: str) -> tuple[str, ...]:
    """The score fields a template reads (the root of each placeholder), in order.

    Raises:
        CadenceDefinitionError: the template is malformed or has positional ``{}`` placeholders.
    """
    if not isinstance(template, str):
        raise CadenceDefinitionError(f"a prompt template must be a string, got {template!r}")
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise CadenceDefinitionError(
            f"invalid prompt template {template[:80]!r}: {exc}; write literal braces as {{{{ and }}}}"
        ) from exc
    roots: list[str] = []
    for _, field, _, _ in parsed:
        if field is None:
            continue
        root = field.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise CadenceDefinitionError(
                f"prompt template {template[:80]!r}: placeholders must name score fields, like "
                "{query}; positional {} is not allowed"
            )
        if root not in roots:
            roots.append(root)
    return tuple(roots)


def _field_names(score: Any) -> list[str]:
    if isinstance(score, Mapping):
        return [str(k) for k in score]
    if dataclasses.is_dataclass(score):
        return [f.name for f in dataclasses.fields(score)]
    if isinstance(score, BaseModel):
        return list(type(score).model_fields)
    return (
        sorted(k for k in vars(score) if not k.startswith("_"))
        if hasattr(score, "__dict__")
        else []
    )


class _ScoreFields(Mapping[str, Any]):
    """The score seen as a mapping of its fields, for ``str.format_map``."""

    def __init__(self, score: Any) -> None:
        self._score = score

    def __getitem__(self, key: str) -> Any:
        if isinstance(self._score, Mapping):
            return self._score[key]
        try:
            return getattr(self._score, key)
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self) -> Any:
        return iter(_field_names(self._score))

    def __len__(self) -> int:
        return len(_field_names(self._score))


def fill_template(template: str, score: Any, *, where: str = "prompt") -> str:
    """Fill ``template`` from the score's fields.

    Raises:
        PromptTemplateError: the score lacks a field the template names.
    """
    fields = _ScoreFields(score)
    for root in template_fields(template):
        try:
            fields[root]
        except KeyError:
            known = ", ".join(_field_names(score)) or "(none)"
            raise PromptTemplateError(
                f"{where}: the template needs score field {root!r}, but "
                f"{type(score).__name__} has no such field (fields: {known}); add the field "
                f"to the score or fix the placeholder {{{root}}}",
                details={"field": root, "score": type(score).__name__},
            ) from None
    return template.format_map(fields)


def _check_into(into: str | None, where: str) -> None:
    if into is not None and (not isinstance(into, str) or not into.isidentifier()):
        raise CadenceDefinitionError(f"{where}: into= must be a score field name, got {into!r}")


def _write(score: Any, field: str, value: Any) -> None:
    if isinstance(score, dict):
        score[field] = value
    else:
        setattr(score, field, value)


class LLMNote:
    """A note that prompts a model with a filled template and writes the answer into a field.

    Built by :func:`llm_note`; the attributes mirror its arguments.
    """

    _cadence_is_async = True

    def __init__(
        self,
        model: Model,
        *,
        prompt: str,
        into: str,
        system: str | None = None,
        response_model: type[BaseModel] | None = None,
        max_retries: int = 2,
        name: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(getattr(model, "complete", None)):
            raise CadenceDefinitionError(
                f"llm_note: expected a model with complete(), got {model!r}"
            )
        template_fields(prompt)
        if system is not None:
            template_fields(system)
        _check_into(into, "llm_note")
        self.model = model
        self.prompt = prompt
        self.system = system
        self.into = into
        self.response_model = response_model
        self.max_retries = max_retries
        self.note_name = name or f"llm:{into}"
        self.options = request_options(options, where=f"llm_note {self.note_name!r}")
        self.__name__ = self.note_name

    def __repr__(self) -> str:
        return f"llm_note({self.model.name!r}, into={self.into!r})"

    async def __call__(self, score: Any) -> None:
        where = f"llm_note {self.note_name!r}"
        prompt = fill_template(self.prompt, score, where=where)
        system = None if self.system is None else fill_template(self.system, score, where=where)
        if self.response_model is not None:
            value: Any = await generate(
                self.model,
                prompt,
                response_model=self.response_model,
                system=system,
                max_retries=self.max_retries,
                options=self.options,
            )
        else:
            response = await self.model.complete(
                ModelRequest.of(prompt, system=system, **self.options)
            )
            value = response.text
        _write(score, self.into, value)


def llm_note(
    model: Model,
    *,
    prompt: str,
    into: str,
    system: str | None = None,
    response_model: type[BaseModel] | None = None,
    max_retries: int = 2,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> LLMNote:
    """A note: fill ``prompt`` from the score, ask ``model``, write the answer to ``score.<into>``.

    Args:
        model: Any model (an adapter, a fallback chain, a scripted model).
        prompt: A template over score fields, e.g. ``"Answer: {query}"``.
        into: The score field that receives the answer.
        system: An optional system prompt template.
        response_model: Write a validated pydantic object instead of text (see ``generate``).
        max_retries: Re-asks allowed when ``response_model`` validation fails.
        name: The note's name in hooks and diagrams (default ``"llm:<into>"``).
        options: Extra ``ModelRequest`` fields (``temperature``, ``max_tokens``...).
    """
    return LLMNote(
        model,
        prompt=prompt,
        into=into,
        system=system,
        response_model=response_model,
        max_retries=max_retries,
        name=name,
        options=options,
    )


class Classifier:
    """A note that labels the score, and conditions for ``.split`` built from its labels.

    Built by :func:`classify`. Calling it classifies and writes the label into ``into``;
    ``is_(label)`` returns a ``.split`` condition that reuses that label when it is already
    set, so a classify step followed by several splits calls the model once.
    """

    _cadence_is_async = True

    def __init__(
        self,
        model: Model,
        *,
        labels: Sequence[str],
        text: str,
        into: str | None,
        instructions: str | None,
        max_retries: int,
        name: str,
    ) -> None:
        if not callable(getattr(model, "complete", None)):
            raise CadenceDefinitionError(
                f"classify: expected a model with complete(), got {model!r}"
            )
        items = list(labels)
        if (
            len(items) < 2
            or not all(isinstance(x, str) and x for x in items)
            or len(set(items)) != len(items)
        ):
            raise CadenceDefinitionError(
                f"classify: labels must be two or more distinct non-empty strings, got {labels!r}"
            )
        template_fields(text)
        _check_into(into, "classify")
        self.model = model
        self.labels = tuple(items)
        self.text = text
        self.into = into
        self.instructions = instructions
        self.max_retries = max_retries
        self.note_name = name
        self.__name__ = name
        self._answer = create_model("Classification", label=(Literal[self.labels], ...))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"classify({self.model.name!r}, labels={list(self.labels)!r})"

    async def label(self, score: Any) -> str:
        """Ask the model for the score's label (always one of ``labels``)."""
        where = f"classify {self.note_name!r}"
        text = fill_template(self.text, score, where=where)
        task = self.instructions or "Classify the text into exactly one of the labels."
        prompt = (
            f"{task}\nLabels: {', '.join(self.labels)}\nText: {text}\n"
            'Answer with JSON: {"label": "<one of the labels>"}'
        )
        answer = await generate(
            self.model, prompt, response_model=self._answer, max_retries=self.max_retries
        )
        return str(answer.label)  # type: ignore[attr-defined]

    async def __call__(self, score: Any) -> None:
        value = await self.label(score)
        if self.into is not None:
            _write(score, self.into, value)

    def is_(self, label: str) -> Any:
        """A ``.split`` condition: true when the score's label is ``label``."""
        if label not in self.labels:
            raise CadenceDefinitionError(
                f"classify {self.note_name!r}: {label!r} is not one of its labels {list(self.labels)!r}"
            )

        async def condition(score: Any) -> bool:
            current = None
            if self.into is not None:
                current = (
                    score.get(self.into)
                    if isinstance(score, dict)
                    else getattr(score, self.into, None)
                )
            if current not in self.labels:
                current = await self.label(score)
                if self.into is not None:
                    _write(score, self.into, current)
            return current == label

        condition.__name__ = f"{self.note_name}_is_{label}"
        return condition


def classify(
    model: Model,
    *,
    labels: Sequence[str],
    text: str = "{query}",
    into: str | None = "intent",
    instructions: str | None = None,
    max_retries: int = 2,
    name: str = "classify",
) -> Classifier:
    """A classifier note for intent routing with ``.split``.

    The model answers under a JSON schema whose ``label`` is an enum of ``labels`` (constrained
    decoding where the provider supports it), validated and re-asked like ``generate``.

    Args:
        model: Any model.
        labels: The possible labels (two or more).
        text: A template over score fields giving the text to classify.
        into: The score field that receives the label (``None``: do not store it).
        instructions: Replaces the default task sentence of the prompt.
        max_retries: Re-asks allowed when the answer is not one of the labels.
        name: The note's name.
    """
    return Classifier(
        model,
        labels=labels,
        text=text,
        into=into,
        instructions=instructions,
        max_retries=max_retries,
        name=name,
    )
