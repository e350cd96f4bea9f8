# templatefile(): ecsfix maps each ${placeholder} back to the expression that feeds it.

variable "github_token" {
  type      = string
  sensitive = true
}

resource "aws_ecs_task_definition" "ci_runner" {
  family             = "ci-runner"
  execution_role_arn = aws_iam_role.runner_execution.arn
  container_definitions = templatefile("${path.module}/containers.json.tpl", {
    image        = "ghcr.io/example/runner:3.1.0"
    github_token = var.github_token
    oauth_client = "0oa1example2client3id"
    log_group    = "/ecs/ci-runner"
  })
}

resource "aws_iam_role" "runner_execution" {
  name               = "ci-runner-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}
