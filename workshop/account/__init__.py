"""The participant's resources in an account: set-up, inventory, tags, policies, deployment."""

__all__ = ["deploy", "environment", "inventory", "policies", "tagging"]
