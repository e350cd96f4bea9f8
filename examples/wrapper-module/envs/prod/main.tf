# A root module that builds its service with the team's own module (../../modules/ecs-service).
# The database password is written in the call's environment: `ecsfix rewrite` moves it into the
# module's `secrets` input, generates the secret next to the call and grants the execution role
# passed to the module. Fake values only ("hunter2").

resource "aws_iam_role" "exec" {
  name = "shop-api-exec"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "exec" {
  role       = aws_iam_role.exec.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

module "api" {
  source             = "../../modules/ecs-service"
  name               = "shop-api"
  image              = "ghcr.io/acme/shop-api:3.2.0"
  execution_role_arn = aws_iam_role.exec.arn

  environment = [
    { name = "LOG_LEVEL", value = "info" },
    { name = "DB_PASSWORD", value = "hunter2" },
  ]
}
