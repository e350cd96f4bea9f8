# The Security Hub ECS.8 remediation done right: secrets come from Secrets Manager through the
# execution role; only non-sensitive values stay in `environment`. ecsfix reports nothing here.

variable "environment" {
  type = string
}

variable "database_url" {
  type      = string
  sensitive = true
}

resource "aws_secretsmanager_secret" "app_secrets" {
  name_prefix = "${var.environment}-app-secrets-"
}

resource "aws_secretsmanager_secret_version" "app_secrets" {
  secret_id     = aws_secretsmanager_secret.app_secrets.id
  secret_string = jsonencode({ DATABASE_URL = var.database_url })
}

resource "aws_iam_role" "ecs_task_execution_role" {
  name = "${var.environment}-ecs-task-execution-role"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy" "secrets_policy" {
  role = aws_iam_role.ecs_task_execution_role.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = [aws_secretsmanager_secret.app_secrets.arn]
    }]
  })
}

resource "aws_ecs_task_definition" "app" {
  family             = "${var.environment}-app"
  execution_role_arn = aws_iam_role.ecs_task_execution_role.arn
  container_definitions = jsonencode([
    {
      name  = "app"
      image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0.0"
      secrets = [
        { name = "DATABASE_URL", valueFrom = "${aws_secretsmanager_secret.app_secrets.arn}:DATABASE_URL::" },
      ]
      environment = [
        { name = "APP_ENV", value = var.environment },
        { name = "LOG_LEVEL", value = "info" },
        { name = "DB_SECRET_ARN", value = aws_secretsmanager_secret.app_secrets.arn },
      ]
    }
  ])
}
