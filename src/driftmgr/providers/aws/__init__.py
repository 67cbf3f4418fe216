"""The AWS provider: boto3 discovery normalized to hashicorp/aws resource attributes."""
