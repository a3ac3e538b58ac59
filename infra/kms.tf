# One customer-managed key for the lake bucket, secrets, ECR, Redshift and the ECS log group.
resource "aws_kms_key" "cardlake" {
  description             = "cardlake: lake bucket, secrets, ECR, Redshift Serverless, logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "cardlake" {
  name          = "alias/cardlake"
  target_key_id = aws_kms_key.cardlake.key_id
}

# In a key policy "Resource": "*" means "this key"; the account statement hands access control to IAM
# policies (the least-privilege role policies in this folder), as the AWS default key policy does.
data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsFlowLogGroup"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.ecs_log_group_name}"]
    }
  }

  # EMR Serverless pulls a custom image from the KMS-encrypted ECR repository with its service principal.
  statement {
    sid       = "EmrServerlessPullsCustomImage"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.emr_application_arn_pattern]
    }
  }
}
