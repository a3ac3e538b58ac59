locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # Contract (docs/contracts.md section 5): cardlake-<account_id>-<region> unless bucket_name is set.
  bucket_name      = coalesce(var.bucket_name, "cardlake-${local.account_id}-${local.region}")
  logs_bucket_name = "${local.bucket_name}-access-logs"

  # Key prefixes inside the lake bucket, without a trailing slash: a root URI is s3://<bucket>/<prefix>.
  prefixes = {
    landing = "landing"
    lake    = "lake"
    exports = "exports"
    code    = "code"
    logs    = "logs"
    results = "prefect-results"
  }

  bucket_arn      = aws_s3_bucket.lake.arn
  logs_bucket_arn = aws_s3_bucket.access_logs.arn

  emr_application_arn_pattern = "arn:${local.partition}:emr-serverless:${local.region}:${local.account_id}:/applications/*"
  s3_via_service              = "s3.${local.region}.amazonaws.com"
  secrets_via_service         = "secretsmanager.${local.region}.amazonaws.com"
  dynamodb_via_service        = "dynamodb.${local.region}.amazonaws.com"
}
