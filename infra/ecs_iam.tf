# Roles for the Prefect `cardlake-ecs` work pool: the task role is what flow code may do, the execution
# role is what ECS may do to start the container (pull the image, ship its logs).

resource "aws_cloudwatch_log_group" "ecs_flows" {
  name              = var.ecs_log_group_name
  retention_in_days = var.log_group_retention_days
  kms_key_id        = aws_kms_key.cardlake.arn
}

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ----------------------------------------------------------------------------------------- execution role
resource "aws_iam_role" "ecs_execution" {
  name                 = var.ecs_execution_role_name
  description          = "ECS starts cardlake flow containers: pull from ECR, write the flow log group"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "cardlake-ecs-execution"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}

data "aws_iam_policy_document" "ecs_execution" {
  # GetAuthorizationToken has no resource-level permissions: AWS requires "*" for this one action.
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullFlowImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.flows.arn]
  }

  # The Prefect ECS worker sets awslogs-create-group; creating an existing group is then a no-op.
  statement {
    sid       = "CreateFlowLogGroupIfAsked"
    actions   = ["logs:CreateLogGroup"]
    resources = [aws_cloudwatch_log_group.ecs_flows.arn]
  }

  statement {
    sid       = "WriteFlowLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ecs_flows.arn}:log-stream:*"]
  }
}

# ---------------------------------------------------------------------------------------------- task role
resource "aws_iam_role" "ecs_task" {
  name                 = var.ecs_task_role_name
  description          = "cardlake flows: land raw pages, submit EMR jobs, load Redshift, read their secrets"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "ecs_task" {
  name   = "cardlake-ecs-task"
  role   = aws_iam_role.ecs_task.id
  policy = data.aws_iam_policy_document.ecs_task.json
}

data "aws_iam_policy_document" "ecs_task" {
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
        "${local.prefixes.logs}/*",
        "${local.prefixes.results}/*",
      ]
    }
  }

  # The landing zone is append-only for the flows: pages, manifests and the watermark are written, never deleted.
  statement {
    sid       = "WriteLanding"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${local.prefixes.landing}/*"]
  }

  # Job code is uploaded before a run; Prefect results are cached and replaced.
  statement {
    sid     = "ReadWriteCodeAndResults"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${local.bucket_arn}/${local.prefixes.code}/*",
      "${local.bucket_arn}/${local.prefixes.results}/*",
    ]
  }

  # The Redshift loader writes a COPY manifest beside each export (<export>/_redshift/<table>.manifest).
  statement {
    sid     = "WriteCopyManifests"
    actions = ["s3:PutObject"]
    resources = [
      "${local.bucket_arn}/${local.prefixes.exports}/*/_redshift/*",
      "${local.bucket_arn}/${local.prefixes.lake}/exports/*/_redshift/*",
    ]
  }

  # Job results (<lake>/_runs/...), export manifests and EMR logs (shown when a job fails).
  statement {
    sid     = "ReadLakeExportsLogs"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${local.prefixes.lake}/*",
      "${local.bucket_arn}/${local.prefixes.exports}/*",
      "${local.bucket_arn}/${local.prefixes.logs}/*",
    ]
  }

  statement {
    sid       = "UseKeyThroughS3AndSecretsManager"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.cardlake.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service, local.secrets_via_service]
    }
  }

  statement {
    sid     = "ReadOwnSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      aws_secretsmanager_secret.card_api.arn,
      aws_secretsmanager_secret.pan_token_key.arn,
      aws_redshiftserverless_namespace.cardlake.admin_password_secret_arn,
    ]
  }

  statement {
    sid       = "SubmitSparkJobs"
    actions   = ["emr-serverless:StartJobRun", "emr-serverless:GetApplication", "emr-serverless:ListJobRuns"]
    resources = [aws_emrserverless_application.spark.arn]
  }

  statement {
    sid       = "WatchAndCancelSparkJobs"
    actions   = ["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun", "emr-serverless:GetDashboardForJobRun"]
    resources = ["${aws_emrserverless_application.spark.arn}/jobruns/*"]
  }

  statement {
    sid       = "PassJobRoleToEmrOnly"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_job.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["emr-serverless.amazonaws.com"]
    }
  }

  statement {
    sid       = "WarehouseIamCredentials"
    actions   = ["redshift-serverless:GetCredentials", "redshift-serverless:GetWorkgroup"]
    resources = [aws_redshiftserverless_workgroup.cardlake.arn]
  }
}
