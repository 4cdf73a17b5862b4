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
``{items[0]}``, ``{total:.2f}``); a field the score lacks raises :class:`PromptTemplateError`
naming it and the fields that exist. Literal braces are written ``{{`` and ``}}``. A template
may not reach attributes whose names start with ``_`` (``{query.__class__}``): templates often
come from configuration, and ``str.format`` would otherwise walk from a score value to module
globals. Values are inserted as they are, never expanded again, so a score value holding
``{other}`` stays literal text.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import import_module
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, create_model, model_validator

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
# str.format's own field-name parser (what string.Formatter.get_field uses), so a placeholder
# splits into its root and its attribute/item path exactly as str.format will read it.
_split_field: Callable[[str], tuple[str | int, Iterator[tuple[bool, str | int]]]] = import_module(
    "_string"
).formatter_field_name_split


class PromptTemplateError(CadenceError):
    """A prompt template cannot be filled from the score.

    Code ``TEMPLATE_FIELD_MISSING``: a placeholder names a field the score does not have.
    Code ``TEMPLATE_FILL_FAILED``: the field exists, but a placeholder's attribute, item,
    conversion or format spec does not apply to its value (``{user.name}`` with ``user=None``).
    """

    default_code = "TEMPLATE_FIELD_MISSING"


_CONVERSIONS = (None, "r", "s", "a")


def _placeholders(template: str) -> list[tuple[str, str, str | None, str]]:
    """``(literal, field, conversion, spec)`` of each part, checked; ``field`` is "" after the
    last placeholder. Fields nested in a format spec (``{x:>{width}}``) are checked too."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise CadenceDefinitionError(
            f"invalid prompt template {template[:80]!r}: {exc}; write literal braces as {{{{ and }}}}"
        ) from exc
    parts: list[tuple[str, str, str | None, str]] = []
    for literal, field, spec, conversion in parsed:
        if field is None:
            parts.append((literal, "", None, ""))
            continue
        _check_field(template, field)
        if conversion not in _CONVERSIONS:
            raise CadenceDefinitionError(
                f"prompt template {template[:80]!r}: {{{field}!{conversion}}} has an unknown "
                "conversion; use !r, !s or !a"
            )
        for _, nested, nested_spec, nested_conversion in _FORMATTER.parse(spec or ""):
            if nested is not None:
                _check_field(template, nested)
                if "{" in (nested_spec or ""):
                    raise CadenceDefinitionError(
                        f"prompt template {template[:80]!r}: {{{field}:{spec}}} nests "
                        "placeholders twice in a format spec; str.format allows one level"
                    )
                if nested_conversion not in _CONVERSIONS:
                    raise CadenceDefinitionError(
                        f"prompt template {template[:80]!r}: {{{nested}!{nested_conversion}}} "
                        "has an unknown conversion; use !r, !s or !a"
                    )
        parts.append((literal, field, conversion, spec or ""))
    return parts


def _check_field(template: str, field: str) -> str:
    """The root of a placeholder, refusing positional ones and private attributes."""
    try:
        root, rest = _split_field(field)
        path = list(rest)
    except ValueError as exc:
        raise CadenceDefinitionError(
            f"invalid prompt template {template[:80]!r}: {{{field}}}: {exc}"
        ) from None
    if not isinstance(root, str) or not root:
        raise CadenceDefinitionError(
            f"prompt template {template[:80]!r}: placeholders must name score fields, like "
            "{query}; positional {} is not allowed"
        )
    private = root.startswith("__") or any(
        is_attr and str(key).startswith("_") for is_attr, key in path
    )
    if private:
        raise CadenceDefinitionError(
            f"prompt template {template[:80]!r}: {{{field}}} reaches a private or dunder "
            "attribute (a name starting with '_'); templates may read only public fields and "
            "attributes: put the value you need in a score field"
        )
    return root


def template_fields(template: str) -> tuple[str, ...]:
    """The score fields a template reads (the root of each placeholder), in order.

    Raises:
        CadenceDefinitionError: the template is malformed, has positional ``{}`` placeholders,
            an unknown ``!`` conversion, or reaches an attribute whose name starts with ``_``.
    """
    if not isinstance(template, str):
        raise CadenceDefinitionError(f"a prompt template must be a string, got {template!r}")
    roots: list[str] = []
    for _, field, _, spec in _placeholders(template):
        names = [field] if field else []
        names += [n for _, n, _, _ in _FORMATTER.parse(spec) if n is not None]
        for name in names:
            root = _check_field(template, name)
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
        CadenceDefinitionError: the template itself is invalid (see :func:`template_fields`).
        PromptTemplateError: the score lacks a field the template names, or a placeholder's
            attribute, item or format does not apply to the value.
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
    out: list[str] = []
    for literal, field, conversion, spec in _placeholders(template):
        out.append(literal)
        if field:
            out.append(_fill_one(field, conversion, spec, fields, where))
    return "".join(out)


def _fill_one(
    field: str, conversion: str | None, spec: str, fields: _ScoreFields, where: str
) -> str:
    """One placeholder's text; the value is inserted as is (never parsed as a template)."""
    shown = (
        "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    )
    try:
        if spec:
            spec = "".join(
                literal
                + (
                    ""
                    if nested is None
                    else format(
                        _FORMATTER.convert_field(
                            _FORMATTER.get_field(nested, (), fields)[0], nested_conversion
                        ),
                        nested_spec or "",
                    )
                )
                for literal, nested, nested_spec, nested_conversion in _FORMATTER.parse(spec)
            )
        value = _FORMATTER.convert_field(_FORMATTER.get_field(field, (), fields)[0], conversion)
        return format(value, spec)
    except Exception as exc:
        raise PromptTemplateError(
            f"{where}: cannot fill the placeholder {shown}: {type(exc).__name__}: {exc}",
            code="TEMPLATE_FILL_FAILED",
            details={"placeholder": shown},
        ) from exc


def _check_into(into: str | None, where: str) -> None:
    if into is not None and (not isinstance(into, str) or not into.isidentifier()):
        raise CadenceDefinitionError(f"{where}: into= must be a score field name, got {into!r}")


def _check_max_retries(max_retries: Any, where: str) -> None:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise CadenceDefinitionError(
            f"{where}: max_retries must be an int >= 0, got {max_retries!r}"
        )


def _declared_fields(score: Any) -> set[str] | None:
    """The fields a score can hold, or ``None`` when any name will do (dicts, plain objects)."""
    if isinstance(score, Mapping):
        return None
    if dataclasses.is_dataclass(score):
        names = {f.name for f in dataclasses.fields(score)}
    elif isinstance(score, BaseModel):
        if type(score).model_config.get("extra") == "allow":
            return None
        names = set(type(score).model_fields)
    else:
        return None
    # A property with a setter is a field too, as far as writing goes.
    return names | {n for n, v in vars(type(score)).items() if isinstance(v, property) and v.fset}


def _check_target(score: Any, field: str | None, where: str) -> None:
    """Refuse an ``into=`` the score has no field for, before the model is paid to answer.

    A plain dataclass would take the attribute silently and lose it from checkpoints, copies
    and ``asdict``; a pydantic model would refuse it only after the call.
    """
    if field is None:
        return
    known = _declared_fields(score)
    if known is not None and field not in known:
        raise CadenceDefinitionError(
            f"{where}: into={field!r} is not a field of {type(score).__name__} (fields: "
            f"{', '.join(sorted(known)) or '(none)'}); add `{field}` to the score or change into="
        )


def _is_frozen(score: Any) -> bool:
    params = getattr(type(score), "__dataclass_params__", None)
    if params is not None:
        return bool(params.frozen)
    return isinstance(score, BaseModel) and bool(type(score).model_config.get("frozen"))


def _write(score: Any, field: str, value: Any) -> Any:
    """Write ``value`` into the score; for a frozen score return the changed copy instead.

    A note that returns an instance of the score's class replaces the score, which is how
    ``ImmutableScore`` cadences advance.
    """
    if isinstance(score, dict):
        score[field] = value
    elif not _is_frozen(score):
        setattr(score, field, value)
    elif isinstance(score, BaseModel):
        return score.model_copy(update={field: value})
    else:
        return dataclasses.replace(score, **{field: value})
    return None


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
        if into is None:
            raise CadenceDefinitionError("llm_note: into= must be a score field name, got None")
        if response_model is not None and not (
            isinstance(response_model, type) and issubclass(response_model, BaseModel)
        ):
            raise CadenceDefinitionError(
                f"llm_note: response_model must be a pydantic model class, got {response_model!r}"
            )
        _check_max_retries(max_retries, "llm_note")
        self.model = model
        self.prompt = prompt
        self.system = system
        self.into = into
        self.response_model = response_model
        self.max_retries = max_retries
        self.note_name = name or f"llm:{into}"
        self.options = request_options(
            options,
            where=f"llm_note {self.note_name!r}",
            # with response_model, generate() sets the response format itself
            reserved=("messages",) if response_model is None else ("messages", "response_format"),
        )
        self.__name__ = self.note_name

    def __repr__(self) -> str:
        return f"llm_note({self.model.name!r}, into={self.into!r})"

    async def __call__(self, score: Any) -> Any:
        where = f"llm_note {self.note_name!r}"
        _check_target(score, self.into, where)
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
        return _write(score, self.into, value)


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
        into: The score field that receives the answer; checked before the model is called.
            A frozen score gets a changed copy, returned as the new score.
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


def _label_key(text: str) -> str:
    """What tells labels apart: case, surrounding spaces and quotes and a final '.' do not."""
    return text.strip().strip("\"'`").strip().rstrip(".").strip().casefold()


class _Classification(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _bare_label(cls, data: Any) -> Any:
        """A bare JSON string (``"billing"``) is taken as the label."""
        return {"label": data} if isinstance(data, str) else data


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
        if isinstance(labels, str) or not isinstance(labels, Iterable):
            raise CadenceDefinitionError(
                f"classify: labels must be a list of strings, got {labels!r}; "
                'e.g. labels=["billing", "technical"]'
            )
        items = list(labels)
        if len(items) < 2 or not all(isinstance(x, str) and _label_key(x) for x in items):
            raise CadenceDefinitionError(
                f"classify: labels must be two or more distinct non-empty strings, got {labels!r}"
            )
        by_key: dict[str, str] = {}
        for item in items:
            key = _label_key(item)
            if key not in by_key:
                by_key[key] = item
                continue
            other = by_key[key]
            if other == item:
                raise CadenceDefinitionError(f"classify: labels has {item!r} twice, got {labels!r}")
            raise CadenceDefinitionError(
                f"classify: labels {other!r} and {item!r} differ only in case, spaces, quotes "
                "or a final '.'; a model's answer could not tell them apart, so make them "
                "distinct words"
            )
        _check_max_retries(max_retries, "classify")
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

        def canonical(value: Any) -> Any:
            return by_key.get(_label_key(value), value) if isinstance(value, str) else value

        self._answer = create_model(
            "Classification",
            __base__=_Classification,
            label=(Annotated[Literal[self.labels], BeforeValidator(canonical)], ...),  # type: ignore[arg-type]
        )

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

    async def __call__(self, score: Any) -> Any:
        _check_target(score, self.into, f"classify {self.note_name!r}")
        value = await self.label(score)
        return None if self.into is None else _write(score, self.into, value)

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
                _check_target(score, self.into, f"classify {self.note_name!r}")
                current = await self.label(score)
                # A condition cannot replace a frozen score; it answers without storing.
                if self.into is not None and not _is_frozen(score):
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
        labels: The possible labels: two or more, told apart by more than case, surrounding
            spaces or quotes (an answer differing from a label only in those is that label).
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
