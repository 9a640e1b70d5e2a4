"""What the notebooks call besides boto3: teaching switches, webhooks, HTTP calls, data, the capstone."""
