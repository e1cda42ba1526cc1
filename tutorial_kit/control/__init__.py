"""The lessons' server: start it, find it again, restart it, stop it (a background process per home: local; a remote server: remote; the browser: tutorial_kit.browser), and edits of services.json."""
