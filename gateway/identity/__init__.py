"""Who calls and where they sit: organisations, users, API keys, tokens, scopes, the first manufacturer."""
