terraform {
  required_version = "~> 1.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x: manage_admin_password / admin_password_secret_arn on Redshift Serverless namespaces and
      # max_capacity on workgroups need a recent 5.x release.
      version = "~> 5.80"
    }
  }
}
