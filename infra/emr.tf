# Spark on EMR Serverless: no pre-initialised capacity, so an idle application costs nothing.
resource "aws_emrserverless_application" "spark" {
  name          = var.emr_application_name
  release_label = var.emr_release_label
  type          = "spark"
  architecture  = var.emr_architecture

  auto_start_configuration {
    enabled = true
  }

  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = var.emr_idle_timeout_minutes
  }

  maximum_capacity {
    cpu    = "${var.emr_max_vcpu} vCPU"
    memory = "${var.emr_max_memory_gb} GB"
    disk   = "${var.emr_max_disk_gb} GB"
  }

  monitoring_configuration {
    s3_monitoring_configuration {
      log_uri            = "s3://${local.bucket_name}/${local.prefixes.logs}/"
      encryption_key_arn = aws_kms_key.cardlake.arn
    }
  }

  dynamic "image_configuration" {
    for_each = var.emr_image_uri == null ? [] : [var.emr_image_uri]
    content {
      image_uri = image_configuration.value
    }
  }
}

# ------------------------------------------------------------------------------------ job execution role
resource "aws_iam_role" "emr_job" {
  name                 = var.emr_job_role_name
  description          = "cardlake Spark jobs on EMR Serverless: landing/code read, lake/exports read-write, logs write"
  assume_role_policy   = data.aws_iam_policy_document.emr_job_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "emr_job_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.emr_application_arn_pattern]
    }
  }
}

resource "aws_iam_role_policy" "emr_job" {
  name   = "cardlake-emr-job"
  role   = aws_iam_role.emr_job.id
  policy = data.aws_iam_policy_document.emr_job.json
}

data "aws_iam_policy_document" "emr_job" {
  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "${local.prefixes.landing}/*",
        "${local.prefixes.lake}/*",
        "${local.prefixes.exports}/*",
        "${local.prefixes.code}/*",
      ]
    }
  }

  statement {
    sid     = "ReadLandingAndCode"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${local.prefixes.landing}/*",
      "${local.bucket_arn}/${local.prefixes.code}/*",
    ]
  }

  # Delta writes new files, overwrites _delta_log checkpoints and VACUUM deletes old files.
  statement {
    sid     = "ReadWriteLakeAndExports"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${local.bucket_arn}/${local.prefixes.lake}/*",
      "${local.bucket_arn}/${local.prefixes.exports}/*",
    ]
  }

  statement {
    sid       = "WriteJobLogs"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/${local.prefixes.logs}/*"]
  }

  statement {
    sid       = "ReadPanTokenKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.pan_token_key.arn]
  }

  # S3DynamoDBLogStore: a conditional PutItem per commit, GetItem / Query to find the latest entry of a table,
  # UpdateItem to mark an entry complete and set its expireTime. The table exists already (delta_log.tf).
  statement {
    sid       = "CommitThroughDeltaLogTable"
    actions   = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.delta_log.arn]
  }

  statement {
    sid       = "UseKeyThroughS3SecretsManagerAndDynamoDB"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.cardlake.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service, local.secrets_via_service, local.dynamodb_via_service]
    }
  }
}

# EMR Serverless pulls a custom image (var.emr_image_uri) with its service principal: the repository
# policy in ecr.tf grants it; nothing is needed on the job role.
