# Container definitions kept in a JSON file next to the module.

resource "aws_ecs_task_definition" "billing" {
  family                = "billing"
  execution_role_arn    = data.aws_iam_role.ecs_task_execution.arn
  container_definitions = file("${path.module}/containers.json")
}

data "aws_iam_role" "ecs_task_execution" {
  name = "ecsTaskExecutionRole"
}
