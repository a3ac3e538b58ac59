# The cluster the `cardlake-ecs` work pool starts flow runs in (Fargate only: nothing to patch or scale).
resource "aws_ecs_cluster" "cardlake" {
  name = "cardlake"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "cardlake" {
  cluster_name       = aws_ecs_cluster.cardlake.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}
