# The DynamoDB table of delta-spark's S3DynamoDBLogStore (docs/adr/0015): every commit to a Delta table of the
# S3 lake is first put here with a condition (one entry per table path and log file), so two EMR job runs (daily,
# alerts, backfill) cannot both write version N of a table. The key schema and the TTL attribute are the ones
# Delta's log store reads and writes; cardlake creates the table here, so the job role needs no CreateTable.
resource "aws_dynamodb_table" "delta_log" {
  name         = "cardlake-delta-log"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "tablePath"
  range_key    = "fileName"

  attribute {
    name = "tablePath"
    type = "S"
  }

  attribute {
    name = "fileName"
    type = "S"
  }

  # Delta sets expireTime (epoch seconds) once an entry is safely in S3; DynamoDB then deletes it.
  ttl {
    attribute_name = "expireTime"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.cardlake.arn
  }

  deletion_protection_enabled = true
}
