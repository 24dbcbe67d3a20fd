"""Who works the deals: users with their role, teams and the managers of teams, API tokens."""
