# A root module that builds its services with its own local modules. ecsfix evaluates each call
# as Terraform does (the child's variables take the call's arguments), so what the caller passes
# is judged where it lands: the findings name the argument that carries the value
# (`via module.api.container_definitions at main.tf:18`) and are fixed by hand in both places.
# Fake values only ("hunter2").

variable "db_password" {
  description = "Password of the shop database user"
  type        = string
  sensitive   = true
}

# (a) The caller renders the whole container definitions; the module only registers them.
module "api" {
  source = "./modules/service"

  name = "api"
  container_definitions = templatefile("${path.module}/api.json.tpl", {
    image       = "ghcr.io/acme/shop-api:3.2.0"
    db_password = var.db_password
  })
}

# (b) The caller passes single values; the module builds the environment from them.
module "worker" {
  source = "./modules/worker"

  name       = "worker"
  broker_url = "amqp://shop:hunter2@mq.internal:5672/shop"
  log_level  = "info"
}
