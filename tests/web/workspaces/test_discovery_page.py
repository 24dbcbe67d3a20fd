"""The discovery workspace page and panel: the question bank by layer, and every form working
with and without htmx."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal
from dealcraft.discovery import services
from dealcraft.discovery.models import DiscoveryWorkspace, QuestionAnswer, QuestionNote

from .conftest import HTMX, element, text_of

pytestmark = pytest.mark.django_db


def url(deal: Deal, rest: str = "") -> str:
    return f"/deals/{deal.pk}/discovery/{rest}"


def test_the_page_shows_every_section_of_discovery(org: Any, make_deal: Any,
                                                   alice_client: Client) -> None:
    deal = make_deal(name="Acme rollout")

    response = alice_client.get(url(deal))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Discovery: Acme rollout</h1>" in html
    for heading in ("Pre-call research", "Agenda", "Question bank",
                    "Business impact and urgency", "Summary and next steps"):
        assert f">{heading}</h3>" in html
    assert "web/workspaces.css" in html


def test_the_question_bank_is_grouped_by_layer_in_the_seeds_order(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    html = alice_client.get(url(make_deal())).content.decode()

    bank = element(html, "discovery-questions")
    layers = [bank.index(f">{name}</h4>") for name in (
        "Current state", "Pain", "Impact and urgency", "Buying process")]
    assert layers == sorted(layers)
    pain = text_of(bank[layers[1]:layers[2]])
    assert "What's working - and what's breaking?" in pain.replace("&#x27;", "'")
    assert "Separate real pain from curiosity." in pain
    assert "How are you handling this today?" not in pain


def test_htmx_gets_just_the_panel_with_its_styles(org: Any, make_deal: Any,
                                                  alice_client: Client) -> None:
    response = alice_client.get(url(make_deal()), **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="discovery-workspace"')
    assert "<html" not in html and "<h1>" not in html
    assert '<link rel="stylesheet" href="/static/web/workspaces.css">' in html
    assert "HX-Request" in response["Vary"]


def test_the_panel_lists_the_exit_criteria_that_read_the_workspace(
        org: Any, make_deal: Any, alice_client: Client, workspace_criteria: None) -> None:
    deal = make_deal()
    services.save_research(acting_user=org.alice, deal=deal, company="Acme", role="VP Ops")

    status = text_of(element(alice_client.get(url(deal)).content.decode(), "discovery-status"))

    assert ("Not met Pre-call research written (Discovery: pre-call research written) Write "
            "the pre-call research on: trigger events, likely pains.") in status
    assert "Not met Every pain question answered" in status
    assert "Every recommendation tied to a pain" not in status  # a solution item


def test_research_is_saved_and_the_page_redirects_back(org: Any, make_deal: Any,
                                                       alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "research/"), {
        "research-company": "Acme, 900 staff", "research-role": "VP Operations",
        "research-trigger_events": "New customs rules", "research-likely_pains": "Hand-offs",
        "research-seen": ""})

    assert response.status_code == 302
    assert response["Location"] == url(deal) + "#discovery-research"
    ws = DiscoveryWorkspace.objects.get(deal=deal)
    assert (ws.research_company, ws.research_pains) == ("Acme, 900 staff", "Hand-offs")
    page = alice_client.get(response["Location"]).content.decode()
    assert "Research notes saved." in page
    assert "Acme, 900 staff" in element(page, "discovery-research")


def test_htmx_saves_answer_with_the_section_and_the_refreshed_status(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "questions/handling_today/answer/"), {
        "answer-handling_today-text": "Spreadsheets and email",
        "answer-handling_today-seen": ""}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "workspace-saved"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="question-handling_today"')
    assert "Answer saved." in element(html, "question-handling_today")
    status = element(html, "discovery-status")
    assert 'hx-swap-oob="true"' in status
    assert "1 of 14 answered" in text_of(status)
    assert QuestionAnswer.objects.get(deal=deal).text == "Spreadsheets and email"


def test_a_note_is_added_under_its_question(org: Any, make_deal: Any,
                                            alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "questions/pain_example/notes/"),
                                 {"note-pain_example-text": "Two days lost in Rotterdam"})

    assert response["Location"] == url(deal) + "#question-pain_example"
    assert QuestionNote.objects.get(deal=deal).question == "pain_example"
    page = alice_client.get(url(deal)).content.decode()
    assert "Two days lost in Rotterdam" in element(page, "question-pain_example")


def test_the_agenda_and_the_buyers_agreement(org: Any, make_deal: Any,
                                             alice_client: Client) -> None:
    deal = make_deal()
    alice_client.post(url(deal, "agenda/"), {"agenda-agenda": "1. Today\n2. Pains",
                                             "agenda-seen": ""})

    response = alice_client.post(url(deal, "agenda/agreement/"), {"agreement-agreed": "yes"},
                                 **HTMX)

    agenda = element(response.content.decode(), "discovery-agenda")
    assert "The buyer agreed to this agenda" in agenda
    assert "recorded by Alice" in text_of(agenda)
    assert "Withdraw the buyer's agreement" in agenda
    assert DiscoveryWorkspace.objects.get(deal=deal).agenda_agreed


def test_a_tampered_agreement_is_refused_with_a_message(org: Any, make_deal: Any,
                                                        alice_client: Client) -> None:
    deal = make_deal()
    services.save_agenda(acting_user=org.alice, deal=deal, agenda="1. Pains")

    response = alice_client.post(url(deal, "agenda/agreement/"), {"agreement-agreed": "maybe"})

    assert response.status_code == 400
    assert "Select a valid choice" in element(response.content.decode(), "discovery-agenda")
    assert not DiscoveryWorkspace.objects.get(deal=deal).agenda_agreed


def test_the_summary_and_next_steps(org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal()

    alice_client.post(url(deal, "summary/"), {
        "summary-confirmed_pains": "Slow approvals\nDouble entry",
        "summary-summary": "Approvals cost two days", "summary-next_steps": "Workshop",
        "summary-seen": ""})

    assert DiscoveryWorkspace.objects.get(deal=deal).pains == ["Slow approvals", "Double entry"]


def test_impact_and_urgency_update_the_deal(org: Any, make_deal: Any,
                                            alice_client: Client) -> None:
    deal = make_deal()
    html = alice_client.get(url(deal)).content.decode()
    impact = element(html, "discovery-impact")
    assert '<option value="high">high</option>' in impact
    assert f'name="impact-version" value="{deal.version}"' in impact

    response = alice_client.post(url(deal, "impact/"), {
        "impact-business_impact": "Two days a week", "impact-urgency": "high",
        "impact-version": str(deal.version)})

    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).fields == {"business_impact": "Two days a week",
                                                   "urgency": "high"}


def test_a_stale_impact_edit_shows_the_saved_version(org: Any, make_deal: Any,
                                                     alice_client: Client) -> None:
    deal = make_deal()
    services.set_impact_and_urgency(acting_user=org.mona, deal=deal, urgency="medium")

    response = alice_client.post(url(deal, "impact/"), {
        "impact-business_impact": "", "impact-urgency": "low",
        "impact-version": str(deal.version)})

    assert response.status_code == 409
    impact = element(response.content.decode(), "discovery-impact")
    assert "changed since you read it" in impact
    assert "The saved version" in impact and "medium" in text_of(impact)
    assert Deal.objects.get(pk=deal.pk).fields == {"urgency": "medium"}


def test_a_stale_research_edit_keeps_both_versions_on_screen(org: Any, make_deal: Any,
                                                             alice_client: Client) -> None:
    deal = make_deal()
    services.save_research(acting_user=org.mona, deal=deal, company="Mona's notes")

    response = alice_client.post(url(deal, "research/"), {
        "research-company": "Alice's notes", "research-seen": ""}, **HTMX)

    research = element(response.content.decode(), "discovery-research")
    assert "Mona changed the research notes" in research
    assert "Alice&#x27;s notes</textarea>" in research
    assert "Mona&#x27;s notes" in element(research, "discovery-research").split(
        "The saved version")[1]
    # Saving again, having seen Mona's version, replaces it on purpose.
    seen = research.split('name="research-seen" value="')[1].split('"')[0]
    assert seen
    alice_client.post(url(deal, "research/"), {"research-company": "Alice's notes",
                                               "research-seen": seen})
    assert DiscoveryWorkspace.objects.get(deal=deal).research_company == "Alice's notes"


def test_invalid_input_is_shown_beside_the_form(org: Any, make_deal: Any,
                                                alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "questions/pain_example/notes/"),
                                 {"note-pain_example-text": "   "})

    assert response.status_code == 400
    question = element(response.content.decode(), "question-pain_example")
    assert 'class="error"' in question
    assert not QuestionNote.objects.exists()


def test_a_question_the_process_does_not_ask_is_not_found(org: Any, make_deal: Any,
                                                          alice_client: Client) -> None:
    deal = make_deal()

    answer = alice_client.post(url(deal, "questions/favourite_colour/answer/"),
                               {"answer-favourite_colour-text": "Blue"})
    note = alice_client.post(url(deal, "questions/favourite_colour/notes/"),
                             {"note-favourite_colour-text": "Blue"})

    assert (answer.status_code, note.status_code) == (404, 404)
    assert not QuestionAnswer.objects.exists() and not QuestionNote.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "vera", "olivia"])
def test_who_may_only_read_the_deal_sees_the_workspace_without_forms(
        org: Any, make_deal: Any, signed_in: Any, persona: str) -> None:
    deal = make_deal()
    services.answer_question(acting_user=org.alice, deal=deal, question="who_else",
                             text="The CFO signs")

    html = signed_in(getattr(org, persona)).get(url(deal)).content.decode()

    assert "You can read this workspace but not change it." in html
    panel = element(html, "discovery-workspace")
    assert "<form" not in panel and "<textarea" not in panel
    assert "The CFO signs" in element(panel, "question-who_else")


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_who_may_only_read_cannot_post(org: Any, make_deal: Any, signed_in: Any,
                                       persona: str) -> None:
    deal = make_deal()

    response = signed_in(getattr(org, persona)).post(
        url(deal, "research/"), {"research-company": "Mine now", "research-seen": ""})

    assert response.status_code == 403
    assert not DiscoveryWorkspace.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="discovery.").exists()


def test_charlie_is_refused_norths_discovery(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name="North secret")
    charlie = signed_in(org.charlie)

    page = charlie.get(url(deal))
    panel = charlie.get(url(deal), **HTMX)
    post = charlie.post(url(deal, "agenda/"), {"agenda-agenda": "Mine", "agenda-seen": ""})

    assert (page.status_code, panel.status_code, post.status_code) == (403, 403, 403)
    assert "North secret" not in page.content.decode()
    assert not DiscoveryWorkspace.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    for response in (Client().get(url(deal)),
                     Client().post(url(deal, "agenda/"), {"agenda-agenda": "x"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    assert not DiscoveryWorkspace.objects.exists()


def test_a_missing_deal_is_not_found(org: Any, alice_client: Client) -> None:
    assert alice_client.get("/deals/999999/discovery/").status_code == 404


def test_the_page_only_reads(org: Any, make_deal: Any, alice_client: Client) -> None:
    assert alice_client.post(url(make_deal())).status_code == 405
    assert alice_client.get(url(make_deal(), "research/")).status_code == 405


def test_what_people_wrote_is_shown_as_text_never_as_markup(org: Any, make_deal: Any,
                                                            signed_in: Any) -> None:
    attack = "<img src=x onerror=alert(1)>"
    deal = make_deal(name=attack)
    services.save_research(acting_user=org.alice, deal=deal, company=attack, role=attack)
    services.save_agenda(acting_user=org.alice, deal=deal, agenda=attack)
    services.answer_question(acting_user=org.alice, deal=deal, question="pain_example",
                             text=attack)
    services.add_question_note(acting_user=org.alice, deal=deal, question="pain_example",
                               text=attack)
    services.save_summary(acting_user=org.alice, deal=deal, confirmed_pains=attack,
                          summary=attack, next_steps=attack)

    for persona in (org.alice, org.bob):  # with forms, and read-only
        html = signed_in(persona).get(url(deal)).content.decode()
        assert "<img" not in html
        assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
