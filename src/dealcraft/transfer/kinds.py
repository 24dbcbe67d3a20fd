"""What can be exported, and how; known before Django is set up (the CLI's choices)."""

KINDS = ("deals", "history", "activities", "evidence")
FORMATS = ("csv", "xlsx")
