# Names are fixed by docs/contracts.md section 5 (a test compares them); infra/README.md maps each one
# to the Prefect block field it fills.

output "region" {
  description = "AWS region of every resource."
  value       = local.region
}

output "lake_bucket" {
  description = "Lake bucket name."
  value       = aws_s3_bucket.lake.bucket
}

output "landing_prefix" {
  description = "Key prefix (no trailing slash) of the raw landing zone."
  value       = local.prefixes.landing
}

output "lake_prefix" {
  description = "Key prefix of the Delta lake (silver, gold, _runs)."
  value       = local.prefixes.lake
}

output "exports_prefix" {
  description = "Key prefix of the Parquet exports Redshift COPY reads."
  value       = local.prefixes.exports
}

output "code_prefix" {
  description = "Key prefix where job code (spark_jobs/main.py, the packed environment) is uploaded."
  value       = local.prefixes.code
}

output "logs_prefix" {
  description = "Key prefix of EMR Serverless job logs."
  value       = local.prefixes.logs
}

output "results_prefix" {
  description = "Key prefix of Prefect result storage."
  value       = local.prefixes.results
}

output "delta_log_table" {
  description = "DynamoDB table of the S3DynamoDBLogStore (the cardlake-emr block's delta_log_table)."
  value       = aws_dynamodb_table.delta_log.name
}

output "emr_application_id" {
  description = "EMR Serverless application id."
  value       = aws_emrserverless_application.spark.id
}

output "emr_execution_role_arn" {
  description = "Role the Spark jobs run as."
  value       = aws_iam_role.emr_job.arn
}

output "emr_release_label" {
  description = "EMR release of the application."
  value       = aws_emrserverless_application.spark.release_label
}

output "redshift_workgroup" {
  description = "Redshift Serverless workgroup name."
  value       = aws_redshiftserverless_workgroup.cardlake.workgroup_name
}

output "redshift_database" {
  description = "Database holding the star schema."
  value       = aws_redshiftserverless_namespace.cardlake.db_name
}

output "redshift_endpoint" {
  description = "Private host name of the workgroup (port 5439), for redshift-connector inside the VPC."
  value       = aws_redshiftserverless_workgroup.cardlake.endpoint[0].address
}

output "redshift_copy_role_arn" {
  description = "Role for COPY ... IAM_ROLE."
  value       = aws_iam_role.redshift_copy.arn
}

output "redshift_admin_secret_arn" {
  description = "Secret (managed by Redshift) with the admin user name and password."
  value       = aws_redshiftserverless_namespace.cardlake.admin_password_secret_arn
}

output "ecr_repository_url" {
  description = "Repository URL of the flow image (and emr-* tags of the EMR image)."
  value       = aws_ecr_repository.flows.repository_url
}

output "card_api_secret_arn" {
  description = "Secret with the card API credentials (value put by the operator)."
  value       = aws_secretsmanager_secret.card_api.arn
}

output "pan_token_key_secret_arn" {
  description = "Secret with the PAN tokenisation key (value put by the operator)."
  value       = aws_secretsmanager_secret.pan_token_key.arn
}

output "ecs_task_role_arn" {
  description = "Task role of the cardlake-ecs work pool."
  value       = aws_iam_role.ecs_task.arn
}

output "ecs_execution_role_arn" {
  description = "Execution role of the cardlake-ecs work pool."
  value       = aws_iam_role.ecs_execution.arn
}

output "ecs_subnet_ids" {
  description = "Subnets of the cardlake-ecs work pool's flow tasks (public ones with an internet gateway when ecs_public_subnets, else the private ones)."
  value       = var.ecs_public_subnets ? aws_subnet.ecs_public[*].id : aws_subnet.private[*].id
}

output "ecs_security_group_id" {
  description = "Security group of the cardlake-ecs work pool's flow tasks (the one Redshift admits)."
  value       = aws_security_group.ecs_tasks.id
}

output "ecs_cluster_name" {
  description = "ECS cluster of the cardlake-ecs work pool (its `cluster` job variable)."
  value       = aws_ecs_cluster.cardlake.name
}
