# Redshift Serverless: billed per RPU-second only while queries run; storage billed per GB-month.
resource "aws_redshiftserverless_namespace" "cardlake" {
  namespace_name = var.redshift_namespace_name
  db_name        = var.redshift_database_name
  admin_username = var.redshift_admin_username

  # Redshift generates the admin password and keeps it in Secrets Manager: no password in code or state.
  manage_admin_password            = true
  admin_password_secret_kms_key_id = aws_kms_key.cardlake.arn
  kms_key_id                       = aws_kms_key.cardlake.arn

  iam_roles            = [aws_iam_role.redshift_copy.arn]
  default_iam_role_arn = aws_iam_role.redshift_copy.arn
  log_exports          = ["userlog", "connectionlog", "useractivitylog"]
}

resource "aws_redshiftserverless_workgroup" "cardlake" {
  namespace_name = aws_redshiftserverless_namespace.cardlake.namespace_name
  workgroup_name = var.redshift_workgroup_name

  base_capacity        = var.redshift_base_capacity
  max_capacity         = var.redshift_max_capacity
  publicly_accessible  = false
  enhanced_vpc_routing = true
  subnet_ids           = aws_subnet.private[*].id
  security_group_ids   = [aws_security_group.redshift.id]

  config_parameter {
    parameter_key   = "require_ssl"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "enable_user_activity_logging"
    parameter_value = "true"
  }
}

resource "aws_redshiftserverless_usage_limit" "compute" {
  resource_arn  = aws_redshiftserverless_workgroup.cardlake.arn
  usage_type    = "serverless-compute"
  amount        = var.redshift_daily_rpu_hours_limit
  period        = "daily"
  breach_action = var.redshift_usage_limit_breach_action
}

# Rules are separate resources: the Redshift and ECS groups refer to each other (inline rules would cycle).
resource "aws_security_group" "redshift" {
  name        = "cardlake-redshift"
  description = "Redshift Serverless workgroup: SQL from allowed private CIDRs and flow tasks, HTTPS to S3 only"
  vpc_id      = aws_vpc.cardlake.id

  tags = { Name = "cardlake-redshift" }
}

resource "aws_security_group_rule" "redshift_from_cidrs" {
  type              = "ingress"
  description       = "Redshift SQL from the VPC or the listed private CIDRs"
  security_group_id = aws_security_group.redshift.id
  from_port         = 5439
  to_port           = 5439
  protocol          = "tcp"
  cidr_blocks       = length(var.redshift_allowed_cidrs) > 0 ? var.redshift_allowed_cidrs : [var.vpc_cidr]
}

resource "aws_security_group_rule" "redshift_from_ecs_tasks" {
  type                     = "ingress"
  description              = "Redshift SQL from the cardlake flow tasks (load flow)"
  security_group_id        = aws_security_group.redshift.id
  from_port                = 5439
  to_port                  = 5439
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.ecs_tasks.id
}

resource "aws_security_group_rule" "redshift_to_s3" {
  type              = "egress"
  description       = "COPY reads exports from S3 through the gateway endpoint"
  security_group_id = aws_security_group.redshift.id
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  prefix_list_ids   = [aws_vpc_endpoint.s3.prefix_list_id]
}

# ------------------------------------------------------------------------------------------- COPY role
# Exports are read from exports/ and from lake/exports/: contracts section 3 places them under the lake root
# (<lake>/exports/<run_id>), section 5 names a top-level exports/ prefix; both hold only export Parquet.
resource "aws_iam_role" "redshift_copy" {
  name                 = var.redshift_copy_role_name
  description          = "Redshift COPY from s3://<lake bucket>/exports/ only"
  assume_role_policy   = data.aws_iam_policy_document.redshift_copy_trust.json
  max_session_duration = 3600
}

# No aws:SourceAccount condition here: Redshift does not document passing it when it assumes a COPY role, and
# a namespace can only associate roles of its own account (cross-account use needs explicit role chaining).
data "aws_iam_policy_document" "redshift_copy_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "redshift_copy" {
  name   = "cardlake-redshift-copy"
  role   = aws_iam_role.redshift_copy.id
  policy = data.aws_iam_policy_document.redshift_copy.json
}

data "aws_iam_policy_document" "redshift_copy" {
  statement {
    sid       = "ListExports"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.prefixes.exports}/*", "${local.prefixes.lake}/exports/*"]
    }
  }

  # GetBucketLocation carries no s3:prefix, so it cannot share the prefix condition above.
  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  statement {
    sid     = "ReadExports"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${local.prefixes.exports}/*",
      "${local.bucket_arn}/${local.prefixes.lake}/exports/*",
    ]
  }

  statement {
    sid       = "DecryptExports"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.cardlake.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via_service]
    }
  }
}
