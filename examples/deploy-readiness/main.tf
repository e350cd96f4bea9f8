# A gRPC server whose secrets were moved to Secrets Manager by hand, following a blog post. It
# applies cleanly, and every task then dies at start with ResourceInitializationError. ecsfix
# finds each cause before apply:
#
#   EF102  GetSecretValue was granted to the task role, not the execution role
#   EF103  DB_PORT selects the JSON key `port` without both trailing colons
#   EF104  the secret's customer managed KMS key cannot be used by the execution role
#   EF105  private subnets without a public IP, and neither a NAT gateway nor a VPC endpoint
#
# `ecsfix explain EF102` (and so on) shows how each is fixed.

variable "environment" {
  type    = string
  default = "prod"
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "cluster_arn" {
  type = string
}

data "aws_region" "current" {}

resource "aws_kms_key" "app" {
  description         = "grpc-server application secrets"
  enable_key_rotation = true
}

resource "aws_secretsmanager_secret" "db" {
  name_prefix = "${var.environment}/project/db-"
  kms_key_id  = aws_kms_key.app.arn
}

resource "aws_iam_role" "execution" {
  name = "${var.environment}-grpc-server-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role" "task" {
  name = "${var.environment}-grpc-server-task"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

# "Give the task role access to Secrets Manager and KMS" -- but ECS pulls secrets with the
# execution role.
resource "aws_iam_role_policy" "task_secrets" {
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue", "kms:Decrypt"]
      Resource = [aws_secretsmanager_secret.db.arn, aws_kms_key.app.arn]
    }]
  })
}

resource "aws_ecs_task_definition" "grpc_server" {
  family                   = "grpc-server-task"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([
    {
      name         = "server"
      image        = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/grpc-server:1.4.2"
      essential    = true
      portMappings = [{ containerPort = 50051, hostPort = 50051, protocol = "tcp" }]
      secrets = [
        { name = "DB_HOST", valueFrom = "${aws_secretsmanager_secret.db.arn}:host::" },
        { name = "DB_PASS", valueFrom = "${aws_secretsmanager_secret.db.arn}:password::" },
        { name = "DB_PORT", valueFrom = "${aws_secretsmanager_secret.db.arn}:port" },
        { name = "DB_USER", valueFrom = "${aws_secretsmanager_secret.db.arn}:username::" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = "/ecs/grpc-server-task"
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "ecs"
        }
      }
    }
  ])
}

resource "aws_security_group" "tasks" {
  name   = "grpc-server-tasks"
  vpc_id = var.vpc_id
}

resource "aws_ecs_service" "grpc_server" {
  name            = "grpc-server"
  cluster         = var.cluster_arn
  task_definition = aws_ecs_task_definition.grpc_server.arn
  desired_count   = 2
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
}
