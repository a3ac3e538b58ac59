resource "aws_ecr_repository" "flows" {
  name                 = var.ecr_repository_name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.cardlake.arn
  }
}

# Keep the newest images of each family (flow runtime, EMR image) and drop untagged layers quickly.
resource "aws_ecr_lifecycle_policy" "flows" {
  repository = aws_ecr_repository.flows.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Drop untagged images after 7 days"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest EMR images"
        selection    = { tagStatus = "tagged", tagPrefixList = ["emr-"], countType = "imageCountMoreThan", countNumber = var.ecr_keep_images }
        action       = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest flow images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.ecr_keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

# EMR Serverless pulls the optional custom image (tag emr-*) with its service principal.
resource "aws_ecr_repository_policy" "flows" {
  repository = aws_ecr_repository.flows.name
  policy     = data.aws_iam_policy_document.ecr_emr_pull.json
}

data "aws_iam_policy_document" "ecr_emr_pull" {
  statement {
    sid     = "EmrServerlessCustomImagePull"
    actions = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]

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
