"""The web app: sign-in and the pages reps and managers use."""
