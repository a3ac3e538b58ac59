# ---------------------------------------------------------------- general
variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "eu-west-2"
}

variable "tags" {
  description = "Extra tags added to every resource (the provider also adds project and managed-by)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------- storage
variable "bucket_name" {
  description = "Lake bucket name; null means cardlake-<account_id>-<region> (docs/contracts.md section 5)."
  type        = string
  default     = null
}

variable "raw_transition_ia_days" {
  description = "Days after which raw landing pages move to STANDARD_IA."
  type        = number
  default     = 30
}

variable "raw_expiration_days" {
  description = "Days after which raw landing pages (which hold full card numbers) are deleted."
  type        = number
  default     = 400
}

variable "logs_expiration_days" {
  description = "Days to keep EMR job logs (logs/ prefix) and S3 access / VPC flow logs."
  type        = number
  default     = 90
}

variable "exports_expiration_days" {
  description = "Days to keep warehouse exports (exports/ prefix) after the load."
  type        = number
  default     = 30
}

variable "results_expiration_days" {
  description = "Days to keep Prefect task results (prefect-results/ prefix)."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep overwritten or deleted object versions (Delta VACUUM leftovers) before removal."
  type        = number
  default     = 30
}

variable "log_group_retention_days" {
  description = "Retention of the CloudWatch log group of the ECS flow runs."
  type        = number
  default     = 365
}

# ---------------------------------------------------------------- EMR Serverless
variable "emr_application_name" {
  description = "EMR Serverless application name."
  type        = string
  default     = "cardlake-spark"
}

variable "emr_release_label" {
  description = "EMR release (Spark 3.5.5 / Delta 3.3 on emr-7.9.0, pinned in pyproject.toml)."
  type        = string
  default     = "emr-7.9.0"
}

variable "emr_architecture" {
  description = "ARM64 (about 20% cheaper, the cardlake-emr block default) or X86_64; a custom image must match."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.emr_architecture)
    error_message = "emr_architecture must be X86_64 or ARM64."
  }
}

variable "emr_max_vcpu" {
  description = "Maximum vCPU across all workers of the application at any time."
  type        = number
  default     = 16
}

variable "emr_max_memory_gb" {
  description = "Maximum memory (GB) across all workers of the application at any time."
  type        = number
  default     = 64
}

variable "emr_max_disk_gb" {
  description = "Maximum disk (GB) across all workers of the application at any time."
  type        = number
  default     = 200
}

variable "emr_idle_timeout_minutes" {
  description = "Minutes of idleness after which the application stops (and stops billing)."
  type        = number
  default     = 5
}

variable "emr_image_uri" {
  description = "Optional custom EMR Serverless image (infra/emr-image) in the flows ECR repository; null = stock image."
  type        = string
  default     = null
}

variable "emr_job_role_name" {
  description = "IAM role the Spark jobs run as."
  type        = string
  default     = "cardlake-emr-job-execution"
}

# ---------------------------------------------------------------- network
variable "vpc_cidr" {
  description = "CIDR of the private VPC that holds the Redshift Serverless workgroup."
  type        = string
  default     = "10.42.0.0/16"
}

variable "availability_zone_ids" {
  description = <<-EOT
    Zone IDs (not names) of the subnets' availability zones, at least three (Redshift Serverless needs subnets in
    3 AZs). IDs name the same physical zone in every account; the defaults are eu-west-2's. Another region needs
    its own IDs: `aws ec2 describe-availability-zones --region REGION --query 'AvailabilityZones[].ZoneId'`.
  EOT
  type        = list(string)
  default     = ["euw2-az1", "euw2-az2", "euw2-az3"]

  validation {
    condition     = length(var.availability_zone_ids) >= 3 && length(distinct(var.availability_zone_ids)) == length(var.availability_zone_ids)
    error_message = "Redshift Serverless needs subnets in at least three distinct availability zones."
  }
}

variable "ecs_public_subnets" {
  description = "Create public subnets and an internet gateway for the Prefect ECS flow tasks (no NAT cost)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------- Redshift Serverless
variable "redshift_namespace_name" {
  description = "Redshift Serverless namespace."
  type        = string
  default     = "cardlake"
}

variable "redshift_workgroup_name" {
  description = "Redshift Serverless workgroup."
  type        = string
  default     = "cardlake"
}

variable "redshift_database_name" {
  description = "First database of the namespace (holds the star schema)."
  type        = string
  default     = "cardlake"
}

variable "redshift_admin_username" {
  description = "Admin user; its password is generated and kept in Secrets Manager by Redshift."
  type        = string
  default     = "cardlake_admin"
}

variable "redshift_base_capacity" {
  description = "Base RPUs (8 is the smallest for most regions); billed only while queries run."
  type        = number
  default     = 8
}

variable "redshift_max_capacity" {
  description = "Upper bound on RPUs the workgroup may scale to."
  type        = number
  default     = 32
}

variable "redshift_daily_rpu_hours_limit" {
  description = "Daily compute usage limit in RPU-hours (a cost guard)."
  type        = number
  default     = 24
}

variable "redshift_usage_limit_breach_action" {
  description = "What happens past the daily limit: log, emit-metric or deactivate."
  type        = string
  default     = "emit-metric"

  validation {
    condition     = contains(["log", "emit-metric", "deactivate"], var.redshift_usage_limit_breach_action)
    error_message = "redshift_usage_limit_breach_action must be log, emit-metric or deactivate."
  }
}

variable "redshift_allowed_cidrs" {
  description = "CIDRs allowed to connect to Redshift on 5439 (empty = the VPC CIDR only). Never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.redshift_allowed_cidrs : !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "Redshift must not be reachable from anywhere: remove 0.0.0.0/0 and ::/0."
  }
}

variable "redshift_copy_role_name" {
  description = "IAM role Redshift assumes for COPY from the exports prefix."
  type        = string
  default     = "cardlake-redshift-copy"
}

# ---------------------------------------------------------------- ECR, secrets, ECS
variable "ecr_repository_name" {
  description = "ECR repository of the flow runtime image (and the optional EMR image, tagged emr-*)."
  type        = string
  default     = "cardlake-flows"
}

variable "ecr_keep_images" {
  description = "Number of images kept per tag family by the lifecycle policy."
  type        = number
  default     = 20
}

variable "card_api_secret_name" {
  description = "Secrets Manager secret holding the card API credentials (JSON)."
  type        = string
  default     = "cardlake/card-api"
}

variable "pan_token_key_secret_name" {
  description = "Secrets Manager secret holding the HMAC key that tokenises card numbers."
  type        = string
  default     = "cardlake/pan-token-key"
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be restored."
  type        = number
  default     = 7
}

variable "ecs_task_role_name" {
  description = "Role the flow containers run as."
  type        = string
  default     = "cardlake-ecs-task"
}

variable "ecs_execution_role_name" {
  description = "Role ECS uses to pull the image and ship container logs."
  type        = string
  default     = "cardlake-ecs-execution"
}

variable "ecs_log_group_name" {
  description = "CloudWatch log group of the flow containers (set it in the cardlake-ecs work pool)."
  type        = string
  default     = "/cardlake/ecs/flows"
}
