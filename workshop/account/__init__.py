"""The participant's resources in an account: set-up, inventory, tags, policies, deployment."""
