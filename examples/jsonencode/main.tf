# A gRPC service whose database credentials are still passed as plain environment variables.
# ecsfix flags DB_PASSWORD (by name) and AWS_SECRET_ACCESS_KEY (Security Hub ECS.8 name).
# The fake values below are the documented AWS example key and "hunter2".

resource "aws_iam_role" "ecs_task_execution" {
  name = "grpc-server-task-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "ecs_task_execution" {
  role       = aws_iam_role.ecs_task_execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_ecs_task_definition" "grpc_server" {
  family                   = "grpc-server-task"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.ecs_task_execution.arn

  container_definitions = jsonencode([
    {
      name              = "server"
      image             = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/grpc-server:1.4.2"
      cpu               = 0
      memoryReservation = 300
      essential         = true
      portMappings      = [{ containerPort = 50051, hostPort = 50051, protocol = "tcp" }]
      environment = [
        { name = "DB_HOST", value = "grpc-db.cluster-abc123.ap-northeast-1.rds.amazonaws.com" },
        { name = "DB_USER", value = "app" },
        { name = "DB_PASSWORD", value = var.db_password },
        { name = "AWS_ACCESS_KEY_ID", value = "AKIAIOSFODNN7EXAMPLE" },
        { name = "AWS_SECRET_ACCESS_KEY", value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        { name = "PASSWORD_MIN_LENGTH", value = "12" },
        { name = "LOG_LEVEL", value = "info" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = "/ecs/grpc-server-task"
          awslogs-region        = "ap-northeast-1"
          awslogs-stream-prefix = "ecs"
        }
      }
    }
  ])
}

variable "db_password" {
  type      = string
  sensitive = true
}
