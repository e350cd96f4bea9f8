variable "name" {
  type = string
}

variable "image" {
  type = string
}

variable "environment" {
  description = "Environment variables of the container, as a map"
  type        = map(string)
  default     = {}
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
      name         = var.name
      image        = var.image
      cpu          = 256
      memory       = 512
      essential    = true
      portMappings = [{ containerPort = 8080, protocol = "tcp" }]
      # A `for` expression: not statically analysable, but the plan has the result.
      environment = [for k, v in var.environment : { name = k, value = v }]
    },
  ])
}
