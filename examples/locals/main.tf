# The environment list lives in a local; ecsfix follows the reference inside the module.

locals {
  app_env = [
    { name = "RAILS_ENV", value = "production" },
    { name = "SECRET_KEY_BASE", value = var.secret_key_base },
    { name = "SLACK_WEBHOOK_URL", value = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX" },
    { name = "SENTRY_DSN_SECRET_ARN", value = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sentry-AbCdEf" },
  ]
}

variable "secret_key_base" {
  type      = string
  sensitive = true
}

resource "aws_ecs_task_definition" "web" {
  family             = "web"
  execution_role_arn = aws_iam_role.web_execution.arn
  container_definitions = jsonencode([
    {
      name        = "web"
      image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:7.0.1"
      essential   = true
      environment = local.app_env
    },
  ])
}

resource "aws_iam_role" "web_execution" {
  name = "web-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}
