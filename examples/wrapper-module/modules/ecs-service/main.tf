# The team's own ECS service module: plain environment variables and secrets are two inputs, and
# the execution role is the caller's. Fake values only.

variable "name" {
  type = string
}

variable "image" {
  type = string
}

variable "environment" {
  description = "Plain environment variables: { name, value } items"
  type        = list(object({ name = string, value = string }))
  default     = []
}

variable "secrets" {
  description = "Secrets: { name, valueFrom } items, valueFrom a Secrets Manager or SSM ARN"
  type        = list(object({ name = string, valueFrom = string }))
  default     = []
}

variable "execution_role_arn" {
  type = string
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = var.execution_role_arn
  container_definitions = jsonencode([
    {
      name        = var.name
      image       = var.image
      essential   = true
      environment = var.environment
      secrets     = var.secrets
    },
  ])
}
