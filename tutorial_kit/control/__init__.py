"""The lessons' server: start it, find it again, restart it, stop it, and edits of services.json.

A background process per home (local), a remote server (remote), the browser (tutorial_kit.browser).
"""
