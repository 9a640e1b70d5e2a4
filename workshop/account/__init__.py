"""The participant's resources in an account: set-up, inventory, tags, policies, deployment."""

__all__ = ["deploy", "environment", "inventory", "participant_keys", "policies", "tagging"]
