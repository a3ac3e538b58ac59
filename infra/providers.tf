provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ project = "cardlake", managed-by = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

# Pinned by zone ID (checkov CKV_AWS_394): an unfiltered list grows when AWS opens a zone, and
# names[count.index] could then move a subnet, that is, replace it with everything in it.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-id"
    values = var.availability_zone_ids
  }

  lifecycle {
    postcondition {
      condition     = length(self.zone_ids) == length(var.availability_zone_ids)
      error_message = "Some of var.availability_zone_ids are not available zones of var.region."
    }
  }
}
