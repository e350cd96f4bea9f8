# Two services built from one local module: the container definitions only exist once Terraform
# has evaluated the module inputs. A scan of this directory evaluates ./modules/service with this
# call's arguments and sees that DB_PASSWORD reaches its task definition through `environment`,
# but not its value (a variable without default). Scan the plan too:
#
#   terraform plan -out plan.out && terraform show -json plan.out > plan.json
#   ecsfix scan plan.json
#
# plan.json here was produced that way, offline, by tests/fixtures/plan/make_plans.py (the task
# definitions are planned as terraform_data resources, then renamed); the password is fake.

variable "db_password" {
  description = "Password of the shop database user"
  type        = string
  sensitive   = true
}

module "service" {
  source   = "./modules/service"
  for_each = { web = "ghcr.io/acme/shop-web:3.2.0", worker = "ghcr.io/acme/shop-worker:3.2.0" }

  name  = each.key
  image = each.value
  environment = {
    DB_HOST           = "shop-db.internal"
    DB_PASSWORD       = var.db_password
    SESSION_TTL_HOURS = "12"
  }
}
