"""The one SDK stream class and the collaborators it delegates to."""
