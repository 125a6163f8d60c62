# The policy opsaudit_log_bucket writes, for a bucket kept in hashicorp/aws.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

resource "aws_s3_bucket_policy" "trail" {
  bucket = aws_s3_bucket.logs.id
  policy = provider::opsaudit::cloudtrail_bucket_policy(
    aws_s3_bucket.logs.id,
    data.aws_caller_identity.current.account_id,
    ["arn:${data.aws_partition.current.partition}:cloudtrail:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:trail/opsaudit"],
    { s3_key_prefix = "audit" },
  )
}
