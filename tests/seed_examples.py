"""FairCom's own example requests from the seed tutorial, as written there (mistakes included)."""

SEED_CREATE = """{
  "api": "admin",
  "action": "createSession",
  "params": {
    "username": "CHANGE",
    "username": "CHANGE",
    "permanentSession": true
  }
}
"""

SEED_DESCRIBE = """{
  "api": "admin",
  "action": "describeSessions",
  "params": {
    "authTokens": [
      "replaceWithTheAuthTokensYouWantToCheck"
    ]
  },
  "authToken": "replaceWithAuthTokenFromCreateSession"
}
"""
