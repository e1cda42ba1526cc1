"""The `tutorial-kit` command: thin shells over the package (serve, accounts, room, restart, status, doctor)."""
