"""Discovery and solution workspaces: research, agenda, the question bank's answers, the
discovery summary, the capability map tied to confirmed pains, the demo plan and the buyer's
value confirmation."""
