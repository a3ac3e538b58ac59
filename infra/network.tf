# Redshift Serverless sits in private subnets (no route out; S3 through a gateway endpoint). Optional public
# subnets (var.ecs_public_subnets) host the Prefect ECS flow tasks, which need HTTPS to Prefect Cloud and the
# card API and SQL to Redshift. An internet gateway has no hourly charge, unlike a NAT gateway (~32 USD/month).
resource "aws_vpc" "cardlake" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = "cardlake" }
}

resource "aws_subnet" "private" {
  count = length(var.availability_zone_ids)

  vpc_id     = aws_vpc.cardlake.id
  cidr_block = cidrsubnet(var.vpc_cidr, 4, count.index)
  # By zone ID: the same physical zone whatever AWS opens later (providers.tf checks the IDs exist).
  availability_zone_id    = var.availability_zone_ids[count.index]
  map_public_ip_on_launch = false

  tags = { Name = "cardlake-private-${var.availability_zone_ids[count.index]}" }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.cardlake.id
  tags   = { Name = "cardlake-private" }
}

resource "aws_route_table_association" "private" {
  count = length(var.availability_zone_ids)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

# ------------------------------------------------------------------------------- public subnets for ECS tasks
resource "aws_internet_gateway" "cardlake" {
  count  = var.ecs_public_subnets ? 1 : 0
  vpc_id = aws_vpc.cardlake.id
  tags   = { Name = "cardlake" }
}

resource "aws_subnet" "ecs_public" {
  count = var.ecs_public_subnets ? length(var.availability_zone_ids) : 0

  vpc_id               = aws_vpc.cardlake.id
  cidr_block           = cidrsubnet(var.vpc_cidr, 4, count.index + 8)
  availability_zone_id = var.availability_zone_ids[count.index]
  # The work pool asks for a public IP per task (assignPublicIp); nothing else launched here gets one.
  map_public_ip_on_launch = false

  tags = { Name = "cardlake-ecs-public-${var.availability_zone_ids[count.index]}" }
}

resource "aws_route_table" "ecs_public" {
  count  = var.ecs_public_subnets ? 1 : 0
  vpc_id = aws_vpc.cardlake.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.cardlake[0].id
  }

  tags = { Name = "cardlake-ecs-public" }
}

resource "aws_route_table_association" "ecs_public" {
  count = var.ecs_public_subnets ? length(var.availability_zone_ids) : 0

  subnet_id      = aws_subnet.ecs_public[count.index].id
  route_table_id = aws_route_table.ecs_public[0].id
}

# Flow tasks: no inbound traffic at all; out only HTTPS and Redshift SQL.
resource "aws_security_group" "ecs_tasks" {
  name        = "cardlake-ecs-tasks"
  description = "cardlake Prefect flow tasks: no ingress; HTTPS out and SQL to Redshift"
  vpc_id      = aws_vpc.cardlake.id

  tags = { Name = "cardlake-ecs-tasks" }
}

resource "aws_security_group_rule" "ecs_tasks_https" {
  type              = "egress"
  description       = "HTTPS to Prefect Cloud, the card API, ECR and AWS APIs"
  security_group_id = aws_security_group.ecs_tasks.id
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "ecs_tasks_to_redshift" {
  type                     = "egress"
  description              = "Load flow to the Redshift Serverless workgroup"
  security_group_id        = aws_security_group.ecs_tasks.id
  from_port                = 5439
  to_port                  = 5439
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.redshift.id
}

# The default security group of a VPC allows all traffic between its members: strip every rule.
resource "aws_default_security_group" "cardlake" {
  vpc_id = aws_vpc.cardlake.id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.cardlake.id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
  policy            = data.aws_iam_policy_document.s3_endpoint.json

  tags = { Name = "cardlake-s3" }
}

# Only the lake bucket is reachable through the endpoint (Redshift COPY reads exports from it).
data "aws_iam_policy_document" "s3_endpoint" {
  statement {
    sid     = "LakeBucketOnly"
    actions = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = [
      local.bucket_arn,
      "${local.bucket_arn}/*",
    ]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_flow_log" "cardlake" {
  vpc_id               = aws_vpc.cardlake.id
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = "${local.logs_bucket_arn}/vpc-flow-logs/"

  depends_on = [aws_s3_bucket_policy.access_logs]
}
