variable "name" {
  type = string
}

variable "broker_url" {
  description = "URL of the message broker"
  type        = string
}

variable "log_level" {
  type    = string
  default = "warn"
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = "arn:aws:iam::123456789012:role/${var.name}-exec"
  container_definitions = jsonencode([
    {
      name      = var.name
      image     = "ghcr.io/acme/shop-worker:3.2.0"
      essential = true
      environment = [
        { name = "BROKER_URL", value = var.broker_url },
        { name = "LOG_LEVEL", value = var.log_level },
      ]
    },
  ])
}
