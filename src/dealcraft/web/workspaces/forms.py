"""Forms of the discovery and solution workspaces: they parse what the browser sends; the
services in `dealcraft.discovery.services` decide what is valid and write it.

Every form has a prefix, so the many forms of one page (and of both panels on the deal page)
never share an element id.
"""

from __future__ import annotations

from typing import Any

from django import forms

from dealcraft.discovery.models import ValueAnswer
from dealcraft.discovery.services import LONG_TEXT_LIMIT, PAIN_LIMIT, TEXT_LIMIT
from dealcraft.domain.process import CustomField


def _text(label: str, *, rows: int = 3, limit: int = TEXT_LIMIT, required: bool = False,
          help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=limit, strip=False,
                           help_text=help_text, widget=forms.Textarea(attrs={"rows": rows}))


class WorkspaceForm(forms.Form):
    def top_errors(self) -> list[str]:
        """Errors shown above the form: its own, and those of fields the reader cannot see."""
        hidden = [str(e) for field in self.hidden_fields() for e in field.errors]
        return [*(str(e) for e in self.non_field_errors()), *hidden]


class _Seen(WorkspaceForm):
    # When the editor read the section (see `discovery.services`): "" for a never-saved one.
    seen = forms.CharField(required=False, widget=forms.HiddenInput)


class ResearchForm(_Seen):
    prefix = "research"
    company = _text("Company", help_text="What they do, size, recent news.")
    role = _text("Role", help_text="The buyer's role, responsibilities and what they answer for.")
    trigger_events = _text("Trigger events",
                           help_text="Why now: a new regulation, reorganisation, leader, growth.")
    likely_pains = _text("Likely pains",
                         help_text="What is probably breaking, to test on the call.")


class AgendaForm(_Seen):
    prefix = "agenda"
    agenda = _text("Agenda", rows=4, help_text="Changing the agenda clears the buyer's agreement.")


class AgreementForm(WorkspaceForm):
    prefix = "agreement"
    # Sent by the button pressed, never typed: errors show with the form's own.
    agreed = forms.TypedChoiceField(choices=[("yes", "Agreed"), ("no", "Not agreed")],
                                    coerce=lambda v: v == "yes", widget=forms.HiddenInput)


class AnswerForm(_Seen):
    text = _text("Answer", rows=2, limit=TEXT_LIMIT)


class NoteForm(WorkspaceForm):
    text = forms.CharField(label="Add a note", max_length=TEXT_LIMIT, strip=False)


class SummaryForm(_Seen):
    prefix = "summary"
    confirmed_pains = _text("Pains the buyer confirmed", rows=4,
                            help_text="One pain a line, in the buyer's words. The capability map "
                                      "links recommendations to these.")
    summary = _text("Summary", rows=5, limit=LONG_TEXT_LIMIT,
                    help_text="What you played back to the buyer at the end of the call.")
    next_steps = _text("Next steps", help_text="What was agreed to happen next, by whom.")


def _custom_field(spec: CustomField, initial: Any) -> forms.Field:
    """A form field for one of the process's custom deal fields (the service checks values)."""
    if spec.type == "choice":
        return forms.ChoiceField(label=spec.label, required=False, help_text=spec.help,
                                 choices=[("", "Not set"), *((c, c) for c in spec.choices)],
                                 initial=initial)
    if spec.type == "bool":
        return forms.TypedChoiceField(label=spec.label, required=False, help_text=spec.help,
                                      choices=[("", "Not set"), ("true", "Yes"), ("false", "No")],
                                      coerce=lambda v: v == "true", empty_value="",
                                      initial={True: "true", False: "false"}.get(initial, ""))
    if spec.type == "date":
        return forms.CharField(label=spec.label, required=False, help_text=spec.help,
                               initial=initial,
                               widget=forms.DateInput(attrs={"type": "date"}))
    if spec.type == "number":
        return forms.CharField(label=spec.label, required=False, help_text=spec.help,
                               initial=initial,
                               widget=forms.NumberInput(attrs={"step": "any"}))
    return forms.CharField(label=spec.label, required=False, help_text=spec.help,
                           max_length=TEXT_LIMIT, initial=initial,
                           widget=forms.Textarea(attrs={"rows": 3}))


class ImpactForm(WorkspaceForm):
    """Business impact and urgency: the deal's own fields, as the process defines them."""

    prefix = "impact"
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, impact: CustomField | None, urgency: CustomField | None,
                 values: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, spec in (("business_impact", impact), ("urgency", urgency)):
            if spec is not None:
                self.fields[name] = _custom_field(spec, values.get(spec.key))


class RecommendForm(WorkspaceForm):
    """Recommend a capability (or change the pain an existing recommendation answers)."""

    capability = forms.ChoiceField(label="Capability")
    pain = forms.CharField(label="Confirmed pain it answers", required=False,
                           max_length=PAIN_LIMIT,
                           help_text="Pick a pain the buyer confirmed, or type it. Without one, "
                                     "the recommendation is feature dumping.")

    def __init__(self, *args: Any, capabilities: list[tuple[str, str]], fixed: bool = False,
                 datalist: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        capability = self.fields["capability"]
        assert isinstance(capability, forms.ChoiceField)
        capability.choices = capabilities
        if fixed:
            capability.widget = forms.HiddenInput()
            self.fields["pain"].help_text = ""
        if datalist:
            # The confirmed pains are offered as suggestions; typing another is allowed.
            self.fields["pain"].widget.attrs["list"] = datalist


class DemoForm(_Seen):
    prefix = "demo"
    plan = _text("Agenda and scenarios", rows=5, limit=LONG_TEXT_LIMIT,
                 help_text="A guided tour: the scenarios that show each confirmed pain solved.")
    demo_date = forms.DateField(label="Demo date", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))


class ValueForm(WorkspaceForm):
    prefix = "value"
    answer = forms.ChoiceField(label="The buyer's answer", choices=ValueAnswer.choices,
                               widget=forms.RadioSelect)
    buyer_words = _text("The buyer's words", help_text="What they said, as they said it. "
                                                       "Needed when the answer is not yes.")
