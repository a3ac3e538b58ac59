provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ project = "cardlake", managed-by = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}
