"""Talking to any jsonAction server.

KitClient and its answers, the request linter, FairCom's placeholders, a request as plain HTTP,
FairCom's documented examples and `tutorial-kit doctor`.
"""
