"""The EF001 planners, one per way container definitions are written.

* `task_definition`: the planner for `aws_ecs_task_definition` resources; it picks the form of
  `container_definitions` from `FORMS` and runs the shared steps (containers, values, the
  generated secret and its grant);
* `inline` (`jsonencode([...])`), `local` (`jsonencode(local.x)`), `heredoc` (`<<EOF` JSON),
  `file` (`file("x.json")`), `templatefile` (`templatefile("x.tpl", { ... })`): what differs per
  form, as a `ResourceForm` (see `base`);
* `module_inputs`: ECS module calls (cloudposse, terraform-aws-modules), whose entries move into
  the module's own `secrets` inputs.

Every planner takes a `ModuleRewrite` and returns a `Plan`; nothing here writes a file.
"""
