"""EF105: a service runs tasks without a public IP and nothing routes them to Secrets Manager/SSM.

Tasks with `assign_public_ip = false` (the default) reach Secrets Manager and Parameter Store
only through a NAT gateway or an interface VPC endpoint (`com.amazonaws.<region>.secretsmanager`,
`...ssm`). When this configuration has neither, tasks time out at start. The network is often
managed in another configuration: the warning says how to suppress it then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..iam import IamModel, Sym, Text, identity, literal, secret_uses, show_ref
from ..model import Block, Bool, Expr, Finding, Lst, Obj, Str, TaskDefinition
from .base import RuleContext, pulls_nothing

VPC_MODULE = "terraform-aws-modules/vpc/aws"
VPC_MODULE_GIT = "terraform-aws-modules/terraform-aws-vpc"
VPC_ID_VAR = re.compile(r'^\s*variable\s+"?vpc_id"?\s*\{', re.M)


@dataclass
class Network:
    """What this module says about the way out of private subnets."""

    nat: str | None = None  # the NAT gateway (or route to one) found
    endpoints: set[str] = field(default_factory=set)  # interface endpoint services: "secretsmanager", "ssm"
    unknown: str | None = None  # something that may provide a path but cannot be read statically


def check(ctx: RuleContext) -> Iterator[Finding]:
    module = ctx.module
    if module is None or all(pulls_nothing(td) for td in ctx.task_definitions):
        return
    model = IamModel.of(module, ctx.resolver)
    if not any(secret_uses(td, model) for td in ctx.task_definitions):
        return  # nothing pulled at start: no need to parse the services
    network: Network | None = None
    for service in model.blocks("resource", "aws_ecs_service"):
        td = task_definition_of(model, service, ctx.task_definitions)
        if td is None:
            continue
        needs = sorted({"ssm" if u.value_from.service == "ssm" else "secretsmanager"
                        for u in secret_uses(td, model) if u.value_from.service or u.registry})
        if not needs:
            continue
        config = next((b for b in service.blocks if b.type == "network_configuration"), None)
        if config is None:
            continue  # bridge/host networking: the instance's network, not visible here
        if runs_on_ec2(model, service, td):
            continue  # the ECS agent on the instance pulls the secrets, over the instance's network
        public = config.attributes.get("assign_public_ip")
        if public is not None:
            value, _ = model.resolve(public.value)
            if not (isinstance(value, Bool) and not value.value or isinstance(value, Str) and value.value == "false"):
                continue  # true, or not known statically
        if network is None:
            network = network_of(model)
        if network.nat or network.unknown:
            continue
        missing = [n for n in needs if n not in network.endpoints]
        if not missing:
            continue
        yield ctx.finding("EF105", public.span if public is not None else config.span,
                          TaskDefinition(address=f"aws_ecs_service.{service.labels[1]}", kind="resource",
                                         form="service", span=service.span, block=service),
                          "*", message=message(model, td, config, public is not None, missing))


_FARGATE = ("FARGATE", "FARGATE_SPOT")


def runs_on_ec2(model: IamModel, service: Block, td: TaskDefinition) -> bool:
    """The service's tasks run on EC2 (or external) instances, known statically: `launch_type`,
    capacity providers that are not Fargate's (custom providers are Auto Scaling groups), or a
    task definition compatible with EC2 only. There `assign_public_ip` does not apply and the
    container agent fetches secrets through the instance's own network."""
    launch, _ = model.resolve(service.attr("launch_type"))
    if isinstance(launch, Str) and launch.value is not None:
        return launch.value in ("EC2", "EXTERNAL")
    providers = [b.attr("capacity_provider") for b in service.blocks if b.type == "capacity_provider_strategy"]
    if providers:
        def ec2(expr: Expr) -> bool:
            value, _ = model.resolve(expr)
            if isinstance(value, Str) and value.value is not None:
                return value.value not in _FARGATE
            source = getattr(value, "source", "")
            return isinstance(source, str) and source.startswith("aws_ecs_capacity_provider.")
        return all(p is not None and ec2(p) for p in providers)
    compat, _ = model.resolve(td.block.attr("requires_compatibilities") if td.block is not None else None)
    if isinstance(compat, Lst) and compat.items:
        values = [model.resolve(i)[0] for i in compat.items]
        return all(isinstance(v, Str) and v.value in ("EC2", "EXTERNAL") for v in values)
    return False


def task_definition_of(model: IamModel, service: Block, tds: list[TaskDefinition]) -> TaskDefinition | None:
    text = model.text(service.attr("task_definition"))
    first = text[0] if text else None
    if isinstance(first, Sym):
        ident = identity(first.source)
        if ident is None or ident.type != "aws_ecs_task_definition":
            return None
        return next((td for td in tds if td.address == ident.address), None)
    family = literal(text)
    if family:
        family = family.split(":", 1)[0].rsplit("/", 1)[-1]
        for td in tds:
            if td.block is not None and model.literal_attr(td.block, "family") == family:
                return td
    return None


def network_of(model: IamModel) -> Network:
    net = Network()
    module = model.module
    assert module is not None
    for b in model.blocks("resource", "aws_nat_gateway"):
        net.nat = net.nat or f"aws_nat_gateway.{b.labels[1]}"
    for rtype in ("aws_route", "aws_route_table"):
        for b in model.blocks("resource", rtype, hint="nat_gateway_id"):
            routes = [b, *(r for r in b.blocks if r.type == "route")]
            if any("nat_gateway_id" in r.attributes for r in routes):
                net.nat = net.nat or f"{rtype}.{b.labels[1]} (route to a NAT gateway)"
    for kind in ("resource", "data"):
        for b in model.blocks(kind, "aws_vpc_endpoint"):
            services = endpoint_services(model, b)
            if services is None:
                net.unknown = net.unknown or f"aws_vpc_endpoint.{b.labels[1]} has a service name not known statically"
            else:
                net.endpoints.update(services)
    for b in module.blocks("module", hint="terraform-aws-modules"):
        source = model.literal_attr(b, "source") or ""
        if VPC_MODULE not in source and VPC_MODULE_GIT not in source:
            continue
        if "vpc-endpoints" in source:
            endpoints, _ = model.resolve(b.attr("endpoints"))
            if not isinstance(endpoints, Obj):
                net.unknown = net.unknown or f"module.{b.labels[0]} endpoints are not known statically"
                continue
            for item in endpoints.items:
                value, _ = model.resolve(item.value)
                service = literal(model.text(value.get("service"))) if isinstance(value, Obj) else None
                service = service or item.key
                if service:
                    net.endpoints.add(service)
            continue
        if "enable_nat_gateway" in b.attributes:
            value, _ = model.resolve(b.attr("enable_nat_gateway"))
            if isinstance(value, Bool):
                if value.value:
                    net.nat = net.nat or f"module.{b.labels[0]} (enable_nat_gateway = true)"
            else:
                net.unknown = net.unknown or f"module.{b.labels[0]} enable_nat_gateway is not known statically"
    return net


def endpoint_services(model: IamModel, endpoint: Block) -> set[str] | None:
    """The services (`secretsmanager`, `ssm`, ...) an endpoint block serves; None when unknown."""
    text = model.written(endpoint.attr("service_name"))  # `com.amazonaws.${var.region}.secretsmanager`
    if text and not isinstance(text[-1], str):
        text = model.text(endpoint.attr("service_name"))
    tail = text[-1] if text else None
    if isinstance(tail, str):
        return {tail.rsplit(".", 1)[-1]}
    if isinstance(tail, Sym) and tail.source.startswith("each.") and "for_each" in endpoint.attributes:
        prefix = literal(text[-2:-1]) if len(text) >= 2 else "."
        if prefix is not None and not prefix.endswith("."):
            return None
        collection, _ = model.resolve(endpoint.attr("for_each"))
        path = tail.source.split(".")[1:]
        values: list[Text] = []
        if isinstance(collection, Obj):
            for item in collection.items:
                if path == ["key"] and item.key is not None:
                    values.append((item.key,))
                elif path[0] == "value":
                    value, _ = model.resolve(item.value)
                    for step in path[1:]:
                        value = model.resolve(value.get(step))[0] if isinstance(value, Obj) else None
                    values.append(model.text(value))
        elif isinstance(collection, Lst) and path in (["key"], ["value"]):
            values = [t for t, _ in model.texts(collection)]
        else:
            return None
        names = [literal(v) for v in values]
        if any(n is None for n in names):
            return None
        return {n.rsplit(".", 1)[-1] for n in names if n}
    return None


def message(model: IamModel, td: TaskDefinition, config: Block, explicit: bool, missing: list[str]) -> str:
    subnets = config.attr("subnets")
    subnet_text = model.written(subnets) if subnets is not None else ()
    subnet_expr = subnets.span.text if subnets is not None else "<private subnet ids>"
    declared = model.module is not None and any(VPC_ID_VAR.search(f.text) for f in model.module.hcl_files())
    vpc = "var.vpc_id" if declared else "<vpc id>"
    first = missing[0]
    names = " / ".join(f"com.amazonaws.<region>.{m}" for m in missing)
    via = ""
    if len(subnet_text) == 1 and isinstance(subnet_text[0], Sym) and subnet_text[0].source.startswith("var."):
        via = f" (the subnets come from {show_ref(subnet_text)})"
    return (f"tasks of {td.address} pull secrets at start but run without a public IP "
            f"(`assign_public_ip` {'= false' if explicit else 'is not set'}), and this configuration has neither a "
            f"{names} interface VPC endpoint nor a NAT gateway: tasks fail with ResourceInitializationError ... "
            f'i/o timeout. Add resource "aws_vpc_endpoint" "{first}" {{ vpc_id = {vpc}, service_name = '
            f'"com.amazonaws.${{data.aws_region.current.name}}.{first}", vpc_endpoint_type = "Interface", '
            f"subnet_ids = {subnet_expr}, private_dns_enabled = true }}{via}; if NAT or endpoints are managed "
            "elsewhere, suppress this warning with `# ecsfix:ignore EF105`")
