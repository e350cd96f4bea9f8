variable "name" {
  type = string
}

variable "container_definitions" {
  description = "The task's container definitions, as JSON"
  type        = string
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = "arn:aws:iam::123456789012:role/${var.name}-exec"
  container_definitions    = var.container_definitions
}
