"""A room of learners: accounts from a roster and the room view."""
