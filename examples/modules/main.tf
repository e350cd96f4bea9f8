# Container definitions written as inputs of the two most used ECS modules. ecsfix reads the
# module calls: findings point at the entry in the call, with the address `module.<name>`.
# Fake values only ("hunter2", AWS's documented example key).

variable "db_password" {
  description = "Password of the checkout database user"
  type        = string
  sensitive   = true
}

# cloudposse/ecs-container-definition: one container per call, its JSON used by the task definition.
module "checkout_container" {
  source  = "cloudposse/ecs-container-definition/aws"
  version = "0.61.1"

  container_name  = "checkout"
  container_image = "ghcr.io/acme/checkout:4.2.0"
  container_cpu   = 256

  map_environment = {
    DB_HOST           = "checkout-db.internal"
    DB_PASSWORD       = var.db_password
    AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
    TOKEN_TTL_SECONDS = "3600"
  }
}

resource "aws_iam_role" "checkout_exec" {
  name = "checkout-exec"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_ecs_task_definition" "checkout" {
  family                   = "checkout"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.checkout_exec.arn
  container_definitions    = module.checkout_container.json_map_encoded_list
}

# terraform-aws-modules/ecs service module: containers as a map, the execution role created by
# the module (create_task_exec_iam_role defaults to true).
module "payments" {
  source  = "terraform-aws-modules/ecs/aws//modules/service"
  version = "~> 6.0"

  name        = "payments"
  cluster_arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/shop"

  container_definitions = {
    payments = {
      image     = "ghcr.io/acme/payments:1.8.3"
      cpu       = 512
      memory    = 1024
      essential = true
      environment = [
        { name = "STRIPE_WEBHOOK_SECRET", value = "whsec-hunter2-example" },
        { name = "STRIPE_API_URL", value = "https://api.stripe.com" },
      ]
      secrets = [
        { name = "DB_PASSWORD", valueFrom = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/db-AbCdEf:password::" },
      ]
    }
  }

  task_exec_secret_arns = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/db-AbCdEf"]
}
