"""Shipping: files, cfn-lint, S3, CloudFormation, the local AWS and the terminal."""
