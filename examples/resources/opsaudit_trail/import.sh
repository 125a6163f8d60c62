# By trail ARN (the resource id):
terraform import opsaudit_trail.audit arn:aws:cloudtrail:us-east-1:123456789012:trail/opsworks-cm-audit

# Or by name, looked up in the provider's region:
terraform import opsaudit_trail.audit opsworks-cm-audit
