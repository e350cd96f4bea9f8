# Heredoc JSON with interpolations: the classic pre-jsonencode style.
# DATABASE_URL is flagged by its value (a URL with a password), API_TOKEN by its name.

variable "image" {
  type    = string
  default = "public.ecr.aws/nginx/nginx:1.27"
}

variable "api_token" {
  type      = string
  sensitive = true
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "512"
  memory                   = "1024"
  execution_role_arn       = "arn:aws:iam::123456789012:role/service-role/worker-execution"

  container_definitions = <<-EOT
    [
      {
        "name": "worker",
        "image": "${var.image}",
        "cpu": 512,
        "memory": 1024,
        "essential": true,
        "environment": [
          {"name": "QUEUE_URL", "value": "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"},
          {"name": "DATABASE_URL", "value": "postgres://worker:hunter2@db.internal:5432/jobs"},
          {"name": "API_TOKEN", "value": "${var.api_token}"},
          {"name": "TOKEN_TTL_SECONDS", "value": "3600"}
        ]
      }
    ]
  EOT
}
