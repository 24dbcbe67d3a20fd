"""Word lists and text templates the demo company is written from.

Kept apart from the generator so that the generator reads as the sales story it tells; each
list is plain data. Weighted lists repeat an item to make it more likely.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------- the sales team

# (username, first name, last name). Reps are grouped by team; the usernames share the
# team's initial so that the demo logins are easy to remember.
TEAMS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("Enterprise", "enterprise", (
        ("erik", "Erik", "Lindqvist"),
        ("elena", "Elena", "Petrova"),
        ("ethan", "Ethan", "Brooks"),
        ("emma", "Emma", "Schultz"),
        ("evan", "Evan", "Okafor"),
    )),
    ("Mid-Market", "mid_market", (
        ("maya", "Maya", "Patel"),
        ("miguel", "Miguel", "Torres"),
        ("mila", "Mila", "Novak"),
        ("marcus", "Marcus", "Reed"),
        ("mia", "Mia", "Laurent"),
    )),
    ("SMB", "smb", (
        ("sofia", "Sofia", "Rossi"),
        ("simon", "Simon", "Hale"),
        ("sara", "Sara", "Nilsen"),
        ("sunil", "Sunil", "Mehta"),
        ("selin", "Selin", "Kaya"),
    )),
)
# (username, first, last, teams managed)
MANAGERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("mona", "Mona", "Whitfield", ("Enterprise", "Mid-Market")),
    ("stefan", "Stefan", "Berg", ("SMB",)),
)
OPS = ("olivia", "Olivia", "Grant")
ADMIN = ("ada", "Ada", "Moreau")

# ---------------------------------------------------------------------------- accounts

NAME_HEADS = (
    "North", "Blue", "Silver", "Iron", "Cedar", "Harbor", "Summit", "Bright", "Clear", "Stone",
    "Red", "Green", "Oak", "Pine", "River", "Lake", "Sun", "Star", "Gold", "Swift", "True",
    "Prime", "Key", "High", "West", "East", "Arc", "Nova", "Vertex", "Copper", "Maple", "Falcon",
    "Granite", "Willow", "Aspen", "Birch", "Coral", "Delta", "Ember", "Frost",
)
NAME_TAILS = (
    "wind", "peak", "field", "bridge", "gate", "line", "wave", "point", "path", "ridge", "works",
    "light", "forge", "well", "haven", "brook", "view", "mark", "side", "crest", "shore", "wood",
    "rock", "vale", "port", "hill", "spring", "lane", "grove", "stead", "ford", "moor", "bay",
    "dale", "cliff", "mont", "water", "star", "fall", "land",
)
# The ICP industries (see the default process's fit rules) are weighted up.
INDUSTRIES = (
    ("software", 18, ("Software", "Systems", "Labs", "Technologies", "Cloud", "Analytics")),
    ("financial_services", 16, ("Capital", "Financial", "Bank", "Insurance", "Asset Management",
                                "Payments")),
    ("professional_services", 14, ("Consulting", "Advisory", "Partners", "Group", "Associates",
                                   "Legal")),
    ("healthcare", 12, ("Health", "Medical", "Clinics", "Care", "Diagnostics", "Pharma")),
    ("manufacturing", 14, ("Manufacturing", "Industries", "Components", "Precision",
                           "Engineering", "Materials")),
    ("retail", 6, ("Retail", "Stores", "Brands", "Outfitters", "Market", "Home")),
    ("logistics", 6, ("Logistics", "Freight", "Shipping", "Transport", "Supply", "Cargo")),
    ("education", 4, ("Learning", "Academy", "Education", "Schools", "Institute", "Training")),
    ("energy", 5, ("Energy", "Power", "Renewables", "Utilities", "Grid", "Solar")),
    ("media", 5, ("Media", "Studios", "Publishing", "Digital", "Broadcasting", "Creative")),
)
# (country, weight, currency, web domain ending, legal-form suffixes, phone prefix)
COUNTRIES = (
    ("US", 55, "USD", ".com", ("", "", " Inc.", " LLC"), "+1 {a}{b}{c} 555 01{d}{e}"),
    ("CA", 5, "USD", ".ca", ("", " Inc.", " Ltd."), "+1 {a}{b}{c} 555 01{d}{e}"),
    ("GB", 15, "GBP", ".co.uk", ("", " Ltd", " plc"), "+44 20 7946 0{c}{d}{e}"),
    ("DE", 10, "EUR", ".de", ("", " GmbH", " AG"), "+49 30 {a}{b}{c}{d}{e}{a}"),
    ("FR", 5, "EUR", ".fr", ("", " SAS", " SA"), "+33 1 {a}{b} {c}{d} {e}{a} {b}{c}"),
    ("NL", 5, "EUR", ".nl", ("", " B.V."), "+31 20 {a}{b}{c} {d}{e}{a}{b}"),
    ("IE", 2, "EUR", ".ie", ("", " Ltd", " DAC"), "+353 1 {a}{b}{c} {d}{e}{a}{b}"),
    ("ES", 3, "EUR", ".es", ("", " S.L.", " S.A."), "+34 91 {a}{b}{c} {d}{e} {a}{b}"),
)

# ---------------------------------------------------------------------------- people

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Daniel", "Karen", "Priya", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Ahmed", "Fatima",
    "Carlos", "Lucia", "Sven", "Ingrid", "Pierre", "Camille", "Lukas", "Hannah", "Oliver",
    "Charlotte", "Noah", "Amelia", "Liam", "Sophie", "Mateo", "Isabella", "Kwame", "Amara",
    "Dmitri", "Anya", "Rahul", "Ananya", "Jonas", "Freya", "Marco", "Giulia", "Sean", "Aoife",
    "Omar", "Layla", "Ben", "Chloe", "Tom", "Grace", "Felix", "Nora", "Ivan", "Zara", "Leo",
    "Ruth", "Hugo", "Alice",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nguyen", "Chen", "Wang", "Kim", "Singh", "Kumar", "Sato", "Tanaka",
    "Muller", "Schmidt", "Fischer", "Weber", "Dubois", "Bernard", "Rossi", "Russo", "Fernandez",
    "Lopez", "Jansen", "de Vries", "Murphy", "Kelly", "O'Brien", "Byrne", "Andersson",
    "Johansson", "Novak", "Kowalski", "Ivanova", "Mensah", "Okoye", "Haddad", "Cohen", "Evans",
    "Hughes", "Price", "Bennett", "Wood", "Barnes", "Ross",
)
# Contact titles by slot; a deal's stakeholders are drawn from these slots by role.
TITLES_BY_SLOT = (
    ("Chief Financial Officer", "VP Operations", "Chief Operating Officer", "VP Finance",
     "Managing Director", "SVP Shared Services"),
    ("Head of Operations", "Director of Business Operations", "Operations Manager",
     "Director of Process Excellence", "Head of Finance Operations", "Programme Manager"),
    ("IT Director", "Head of IT Security", "Enterprise Architect", "Head of Business Systems",
     "Solutions Architect", "CTO"),
    ("Procurement Manager", "Team Lead, Finance Operations", "Customer Service Manager",
     "Senior Buyer", "Legal Counsel", "Office Manager"),
)
SMB_TOP_TITLES = ("CEO", "Founder & CEO", "COO", "Managing Director", "General Manager")
ROLE_SLOT = {
    "economic_buyer": 0, "decision_maker": 0, "champion": 1, "influencer": 1,
    "technical_evaluator": 2, "procurement": 3, "legal": 3, "end_user": 3,
}
ROLE_INFLUENCE_SUPPORT = {
    "economic_buyer": (3, 0), "decision_maker": (3, 0), "champion": (2, 1),
    "influencer": (2, 0), "technical_evaluator": (2, 0), "procurement": (1, 0),
    "legal": (1, 0), "end_user": (1, 1),
}

# ---------------------------------------------------------------------------- deals

INITIATIVES = (
    "Workflow automation rollout", "Finance operations platform", "Audit readiness programme",
    "Reporting consolidation", "Onboarding workflow", "Procurement approvals", "Shared services "
    "pilot", "Compliance tracking", "Ops visibility dashboards", "Integration hub",
    "Contract lifecycle workflow", "Service desk modernisation", "Partner onboarding",
    "Quality management workflow", "Vendor management", "Expansion: second business unit",
    "Renewal and upsell", "SSO and access control", "Data residency upgrade", "Team licences",
)
LEAD_SOURCES = ("inbound",) * 35 + ("outbound",) * 35 + ("referral",) * 12 + ("event",) * 10 \
    + ("partner",) * 8
URGENCY = ("high",) * 3 + ("medium",) * 5 + ("low",) * 2
TRIGGERS = (
    "New SOX compliance deadline next fiscal year",
    "New COO started in the spring and is reviewing operations",
    "Reorganisation merged two operations teams",
    "Headcount growth of 40% this year",
    "Failed internal audit last quarter",
    "Acquisition closing; systems to consolidate",
    "ERP migration scheduled for next year",
    "Customer complaints about slow onboarding",
)
PROBLEMS = (
    "Cross-team approvals run on email and spreadsheets; nobody sees where requests are stuck.",
    "Weekly status reports are assembled by hand from four systems and still disagree.",
    "Audit preparation takes weeks because there is no record of who approved what.",
    "Onboarding a new client needs 30+ manual hand-offs between sales, finance and ops.",
    "Data is re-keyed between the CRM and the ERP, causing billing errors every month.",
    "Managers cannot see bottlenecks until a customer escalates.",
)
IMPACTS = (
    "About {n} hours a week of manual reporting across {m} teams.",
    "Onboarding takes {m} weeks; the target is under {k}.",
    "Billing errors cost roughly {n}k a year in credits and rework.",
    "Audit prep ties up {m} people for {k} weeks every year.",
    "{n}% of requests miss their SLA; two key accounts escalated last quarter.",
)
SUCCESS_CRITERIA = (
    "Cycle time of the approval workflow down by a third within two quarters.",
    "Weekly reporting produced automatically; zero manual spreadsheets by Q4.",
    "Audit evidence exported in hours, not weeks, at the next audit.",
    "Live in production within 60 days for the first team, with 80% weekly active users.",
    "Billing errors from re-keying reduced to near zero within six months.",
)
DECISION_PROCESSES = (
    "Champion builds the case; CFO approves budget; procurement runs vendor onboarding; "
    "legal reviews the MSA; decision targeted before quarter end.",
    "Steering committee (COO, IT, Finance) decides; security review first; then procurement "
    "and legal in parallel.",
    "Owner signs up to 50k; above that the board approves at its monthly meeting.",
    "IT validates SSO and integrations; VP Operations signs off; purchase order via Coupa.",
)
NEXT_STEPS = (
    ("Intro call with {who}", "Send tailored case study to {who}",
     "Book a first meeting with {who}"),
    ("Qualification call with {who}: pain, priority and budget process",
     "Confirm who approves budget with {who}", "Book the discovery session with {who}"),
    ("Discovery session with {who}: current workflow and impact",
     "Get success criteria in writing from {who}", "Meet the economic buyer with {who}"),
    ("Tailored demo for {who} and the operations team", "Value confirmation call with {who}",
     "Technical deep-dive with IT"),
    ("Proposal walk-through with {who} and finance", "Agree the mutual action plan with {who}",
     "Send business case summary to {who}"),
    ("Redlines review with {who}'s legal team", "Confirm signature date with {who}",
     "Procurement onboarding call with {who}"),
)
OVERRIDE_REASONS = {
    "checklist": (
        "Confirmed verbally on the call; written confirmation follows this week. Moving ahead "
        "to keep the quarter-end timeline.",
        "Buyer confirmed in the steering meeting; notes are with the champion. Pushing forward "
        "so the proposal lands before their budget freeze.",
    ),
    "field_set": (
        "The buyer is still finalising this internally; the deal is strategic and the champion "
        "has committed to a date. Proceed.",
        "Details are in the shared doc, not yet in the record; approved to keep momentum.",
    ),
    "stakeholder": (
        "Economic buyer is on leave until next week; the CFO confirmed budget by email. "
        "Approved to proceed.",
        "Champion is running the internal process; the economic buyer meeting is booked.",
    ),
    "qualification_score": (
        "Score is low on paper but this is a renewal-adjacent expansion with a known buyer. "
        "Approved.",
        "Referral from an existing customer with a confirmed project; qualification is being "
        "completed in parallel.",
    ),
    "next_step": (
        "Next meeting is being rescheduled by the buyer's assistant; approved to keep the "
        "deal moving.",
    ),
    "activity": (
        "Demo was run by the partner last week; recording shared. Approved.",
        "Meeting happened at the buyer's offsite and was not logged. Approved.",
    ),
}
OVERRIDE_DEFAULT = ("Approved by the manager to keep the deal on its committed timeline.",)

# Loss reasons by category key (the default process's `outcomes.lost.reasons`).
LOSS_REASONS = {
    "price": (
        "Budget approved at roughly 60% of our quote; they went with a cheaper point solution.",
        "Finance would not accept the three-year term at this price.",
    ),
    "no_decision": (
        "Project parked after the reorganisation; no decision this year.",
        "Went quiet after the demo; three follow-ups unanswered.",
    ),
    "competitor": (
        "Chose the legacy suite vendor because it was bundled with their ERP renewal.",
        "Picked the point-solution startup for one team instead of a cross-team rollout.",
    ),
    "timing": (
        "Priorities shifted to the ERP migration; revisit next fiscal year.",
        "Hiring freeze; they asked us to come back after the next planning cycle.",
    ),
    "no_budget": (
        "No budget process for this; finance would not fund it this fiscal year.",
        "Budget was reallocated to a security programme.",
    ),
    "bad_fit": (
        "Qualified out: no cross-team workflow, only one small team with a simple checklist.",
        "Qualified out: they need an on-premises deployment we do not offer.",
    ),
    "champion_left": (
        "Our champion left the company; the new head of operations restarted the evaluation.",
    ),
    "other": (
        "Acquired by a group that mandates its own tooling.",
    ),
}
# Loss categories early in the pipeline (first half of the stages) and late.
LOSS_EARLY = ("bad_fit",) * 4 + ("no_decision",) * 4 + ("timing",) * 3 + ("no_budget",) * 3 \
    + ("other",)
LOSS_LATE = ("competitor",) * 5 + ("price",) * 4 + ("no_decision",) * 3 + ("timing",) * 2 \
    + ("champion_left",) * 2 + ("no_budget",)

# Evidence a rep records against a checklist criterion, citing what the buyer said.
EVIDENCE_TEXT = {
    "problem_confirmed": (
        "{who} on the {day} call: \"Approvals sit in inboxes for days and we only find out "
        "when a customer complains.\" Confirmed this is the main problem, not curiosity.",
        "{who} confirmed the problem in writing on {day}: reporting is rebuilt by hand every "
        "week from four systems and the numbers still disagree.",
    ),
    "business_impact_discussed": (
        "{who} estimated {n} hours a week lost to manual hand-offs; a missed SLA cost them a "
        "key account last quarter. Needs fixing this quarter ({day}).",
        "On {day}, {who} said audit preparation ties up {k} people for weeks; the board wants "
        "it solved before the next audit.",
    ),
    "pain_points_identified": (
        "Discovery on {day} with {who}: pains are slow approvals, re-keying between CRM and "
        "ERP, and no audit trail. Ranked by the buyer in that order.",
        "{who} walked us through the last escalation ({day}): request stuck {k} days waiting "
        "for a sign-off nobody could see.",
    ),
    "value_confirmed": (
        "Value checkpoint on {day}: \"Based on what we covered, yes, this solves the approval "
        "and reporting issues.\" ({who})",
        "{who} confirmed on {day} that the proposed workflow and dashboards address the top "
        "three priorities from discovery.",
    ),
    "demo_tied_to_pains": (
        "Demo on {day} showed only workflow automation (slow approvals), dashboards (manual "
        "reporting) and audit trail (audit prep). {who} agreed each maps to a confirmed pain.",
        "Guided tour for {who} on {day}: three capabilities, each tied to a pain from "
        "discovery; no feature tour.",
    ),
    "buyer_reviewed_proposal": (
        "{who} reviewed the proposal with finance on {day} and asked for a phased option and "
        "quarterly billing.",
        "Finance review on {day}: {who} requested a revised scope for the first team and a "
        "reference call.",
    ),
    "mutual_next_steps": (
        "Mutual plan agreed with {who} on {day}: security review, legal redlines, procurement "
        "onboarding, signature by the CFO.",
        "{who} confirmed the signature path on {day}: VP sign-off, procurement PO, then legal.",
    ),
    "legal_review_started": (
        "{who}'s legal team started the MSA review on {day}; first redlines expected next week.",
        "Legal review opened on {day}; {who} shared the counsel's contact.",
    ),
    "handoff_goals": (
        "Goals: cut approval cycle time by a third within two quarters; first team live in 60 "
        "days. Kickoff agreed with {who} for {day}.",
    ),
    "handoff_stakeholders": (
        "{who} is the executive sponsor; the operations lead owns rollout; IT owns SSO and "
        "integrations.",
    ),
    "handoff_risks": (
        "Risk: IT capacity during the ERP migration. Mitigation: phased rollout and partner "
        "support, agreed with {who}.",
    ),
    "handoff_promised_outcomes": (
        "Promised: audit evidence export, weekly dashboards replacing manual reports, live in "
        "60 days ({who}).",
    ),
    "handoff_what_sold_and_why": (
        "Sold: platform licences for {k} teams, SSO add-on, fixed-scope implementation. Why: "
        "cross-team workflows and audit trail ({who}).",
    ),
}
EVIDENCE_DEFAULT = ("Confirmed with {who} on {day}.",)
EVIDENCE_LINKS = {
    "buyer_reviewed_proposal": "https://docs.example.com/proposals/{deal}/review",
    "mutual_next_steps": "https://docs.example.com/mutual-plans/{deal}",
    "value_confirmed": "https://calls.example.com/recordings/{deal}-value",
}
QUALIFICATION_EVIDENCE = {
    "metrics": "Buyer quantified the cost: hours of manual reporting and missed SLAs.",
    "economic_buyer": "Met the budget owner; priorities confirmed.",
    "decision_criteria": "Criteria in writing: integrations, audit trail, time to value.",
    "decision_process": "Steps and approvers to signature mapped with the champion.",
    "identify_pain": "Pain confirmed in the buyer's words, with a recent example.",
    "champion": "Champion introduced us to the economic buyer and shared internal notes.",
    "competition": "Also evaluating the legacy suite vendor and an in-house build.",
    "budget": "Budget line confirmed by finance.",
    "authority": "Approver identified and engaged.",
    "need": "Problem confirmed with a concrete example.",
    "timeline": "Date driven by the audit next quarter.",
}
ACTIVITY_SUBJECTS = {
    "call": ("Intro call with {who}", "Follow-up call with {who}", "Check-in call with {who}"),
    "email": ("Recap and next steps", "Sent case study", "Shared agenda for next meeting",
              "Follow-up: questions from the call"),
    "meeting": ("Meeting with {who}",),
    "note": ("Notes: internal deal review", "Notes: org chart and stakeholders",
             "Notes: competitor mentioned"),
    "task": ("Send business case draft to {who}", "Prepare tailored demo",
             "Chase procurement paperwork", "Book next meeting with {who}"),
}
MEETING_SUBJECTS = (
    "Qualification meeting with {who}",
    "Discovery session with {who}: current workflow and pains",
    "Tailored demo for {who} and team",
    "Proposal walk-through with {who}",
    "Negotiation call with {who} and procurement",
)
