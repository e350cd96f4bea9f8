# One task definition per tenant with for_each: findings name the resource; values come from each.value.

variable "tenants" {
  type = map(object({ image = string, api_key = string }))
}

resource "aws_ecs_task_definition" "tenant" {
  for_each           = var.tenants
  family             = "tenant-${each.key}"
  execution_role_arn = aws_iam_role.tenant_execution.arn
  container_definitions = jsonencode([
    {
      name  = "app"
      image = each.value.image
      environment = [
        { name = "TENANT", value = each.key },
        { name = "TENANT_API_KEY", value = each.value.api_key },
      ]
    }
  ])
}

resource "aws_iam_role" "tenant_execution" {
  name = "tenant-execution"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Action = "sts:AssumeRole", Effect = "Allow", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}
