"""Names vulture (`make lint`) reports as unused that are used, each with the reason; vulture reads this file, nothing imports it.

Dead code is deleted, not listed here. An entry names who uses the name where vulture cannot see it:
a library reading it by name, a setting read through its contract's `setting=` string, a test.
"""
# ruff: noqa
_ = object()

# Settings of the stack file: dataclass fields filled by name (model/loading.py) and read by the contract
# parameters that name them (`setting="..."` in blueprints/interfaces.py, a string vulture cannot follow).
_.target_cpu
_.cpu
_.memory
_.log_retention_days
_.retry_seconds  # model/jobs.py, read by blueprints/job_contract.py's RetrySeconds row (setting=)
_.deployment_minimum_healthy_percent
_.deployment_maximum_percent
_.circuit_breaker
_.nat_instance_type
_.logs_expiration_enabled
_.logs_expiration_days
_.log_bucket_name
_.bastion_root_volume_size
_.allow_container_imds
_.ecs_instance_ebs_optimized
_.ecs_root_volume_size
_.ecs_docker_volume_size
_.extra_cloud_config_type
_.cpu_high  # model/alarms.py thresholds, read by name like the settings above
_.memory_high
_.http_5xx
_.unhealthy_targets
_.tasks_missing_minutes

# Contract parameters: class attributes the contract machinery collects by iterating the class (blueprints/contract.py).
_.EcsDockerAuthType
_.ExtraCloudConfigType
_.ExtraCloudConfigContent

# troposphere: resource attributes set on the object, serialized by to_dict().
_.DependsOn
_.Metadata
_.Actions  # blueprints/deployment.py: a shared ALB's host rule made the production rule (both target groups)
_.Priority
_.Alarms  # blueprints/deployment.py: the service's DeploymentConfiguration.Alarms

# The standard library and rich read these attributes of objects we configure.
_.maxstring  # reprlib.Repr (model/rules.py quote())
_.maxother
_.maxdict
_.maxlist
_.maxtuple
_.maxlevel
_.writable  # io.TextIOBase API (ship/report.py GuardedStream)
_.no_color  # rich.console.Console (ship/report.py)
_.exc_type  # context manager protocol: __exit__(exc_type, exc, tb) (ship/local.py LocalAws)
_.tb

# moto: the CloudFormation model of the local AWS (ship/local.py, ship/strict_local.py) is called by moto by name.
_.CfnCapacityProvider  # registered in moto's model map by subclassing CloudFormationModel
_.cloudformation_name_type
_.cloudformation_type
_.physical_resource_id
_.new_resource_name  # an argument of moto's update_from_cloudformation_json signature
_.delete_from_cloudformation_json
_.is_created
_._output_json_map  # moto's Stack attribute, reset so outputs are recomputed

# Used by the tests only: API the suite drives directly.
_.parse_config  # model/loading.py: tests build configs from YAML text
_.lint_findings  # ship/lint.py: tests/test_compile.py, test_security_gate.py read the findings without raising
_.cli_flag  # ship/capabilities.py: tests/test_deploy_faults.py
_.CAPACITY_PROVIDER_NAME_MAX  # blueprints/cluster.py: tests/test_real_aws_compute.py checks the rule
_.ALL  # blueprints/suppressions.py: tests/test_security.py
_.REFUSED_PROVIDER_PREFIXES  # blueprints/cluster.py: tests/test_real_aws_compute.py checks the generated name against it

# AWS naming rules (model/aws_facts.py) written with their sources but applied to no derived name yet: the derived
# names (model/names.py) do not all go through aws_checks.derived_names. Wire them there, then drop these lines.
_.IAM_ROLE_NAME
_.TARGET_GROUP_NAME
_.LOAD_BALANCER_NAME
_.DB_IDENTIFIER
_.ECS_SERVICE_NAME
_.LOG_GROUP_NAME

# The registry's hook for a module's variants (blueprints/registry.py), for the service variants landing this session
# (wp-fargate registers the first); drop this line if nothing calls it once they are in.
_.variant_rows
