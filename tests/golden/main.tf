# The golden configuration: every AWS resource type DriftMgr supports, several instances of the
# common ones, count and for_each, and one module. Applied once per test session against a private
# moto server (tests/golden/conftest.py adds the provider block and the Lambda zip, fn.zip).
#
# moto quirks (DESIGN §6): aws_ecs_service needs network_configuration (+ security groups),
# aws_elasticache_cluster an explicit engine_version, aws_lambda_function a local zip.

locals {
  assume = { for svc in ["ec2", "lambda", "eks"] : svc => jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "${svc}.amazonaws.com" }
    }]
  }) }
  rsa_key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDBUePFOqFXvqy9enNPBbORmrfsfgzY//1eQgHbGZv7Vags6EXBbSBmPl42ULZq+ejdV8WTrHMpNMBQgnW+LFSPnM3Nva2ReBP8xJT/a12KYIyptODygEJlOVWsQt8nBfbGlMIOHDTn7+K4LUu4ceFxQhl211G1n5jM0Ut3BH50FcSGsPkWhqpvCSniXQd4wHdYh1Limaxj+D1bNneKxLVE4JIiyAjw1a/4mG4f/3bVH5qJbl/A/5KeMFNNbG7nR4mwdH8wjSNdqhzmeFCv8swjk9KHjJMSvoW32wLHkKqaSL3ZXAXeL4hrQm93qWT+8BOJiWlqL2zaiB3cByGs2hJb"
  ed_key  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIARPtsHpyze1U+XvT8/S2T9FnOyH6l0OelSiGbTyCg/k"
}

# --- network ----------------------------------------------------------------------------------
module "net" {
  source = "./modules/net"
  name   = "golden"
  cidr   = "10.60.0.0/16"
  subnets = {
    a = { cidr = "10.60.1.0/24", az = "us-east-1a" }
    b = { cidr = "10.60.2.0/24", az = "us-east-1b" }
  }
}

resource "aws_vpc" "apps" {
  cidr_block = "10.70.0.0/16"
  tags       = { Name = "apps" }
}
resource "aws_subnet" "apps" {
  count             = 2
  vpc_id            = aws_vpc.apps.id
  cidr_block        = "10.70.${count.index + 1}.0/24"
  availability_zone = count.index == 0 ? "us-east-1a" : "us-east-1b"
  tags              = { Name = "apps-${count.index}" }
}
resource "aws_internet_gateway" "detached" {
  tags = { Name = "detached" }
}
resource "aws_eip" "nat" {
  count  = 2
  domain = "vpc"
  tags   = { Name = "eip-${count.index}" }
}
resource "aws_nat_gateway" "public" {
  allocation_id = aws_eip.nat[0].id
  subnet_id     = module.net.subnet_ids["a"]
  tags          = { Name = "ngw" }
}
resource "aws_nat_gateway" "private" {
  connectivity_type = "private"
  subnet_id         = aws_subnet.apps[1].id
  tags              = { Name = "ngw-private" }
}
resource "aws_route_table" "private" {
  for_each = toset(["x", "y"])
  vpc_id   = aws_vpc.apps.id
  tags     = { Name = "private-${each.key}" }
}
resource "aws_route" "default_nat" {
  for_each               = aws_route_table.private
  route_table_id         = each.value.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.public.id
}
resource "aws_route" "peer" {
  route_table_id         = aws_route_table.private["x"].id
  destination_cidr_block = "172.16.0.0/12"
  nat_gateway_id         = aws_nat_gateway.public.id
}
resource "aws_route_table_association" "apps" {
  count          = 2
  subnet_id      = aws_subnet.apps[count.index].id
  route_table_id = aws_route_table.private[count.index == 0 ? "x" : "y"].id
}
resource "aws_network_acl" "apps" {
  vpc_id     = aws_vpc.apps.id
  subnet_ids = [aws_subnet.apps[1].id]
  ingress {
    protocol   = "tcp"
    rule_no    = 100
    action     = "allow"
    cidr_block = "10.0.0.0/8"
    from_port  = 443
    to_port    = 443
  }
  ingress {
    protocol   = "-1"
    rule_no    = 200
    action     = "deny"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }
  egress {
    protocol   = "udp"
    rule_no    = 110
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 53
    to_port    = 53
  }
  tags = { Name = "apps-acl" }
}
resource "aws_network_acl" "empty" {
  vpc_id = module.net.vpc_id
  tags   = { Name = "empty" }
}
resource "aws_vpc_endpoint" "s3" {
  vpc_id          = aws_vpc.apps.id
  service_name    = "com.amazonaws.us-east-1.s3"
  route_table_ids = [aws_route_table.private["x"].id]
  tags            = { Name = "s3" }
}
resource "aws_vpc_endpoint" "sqs" {
  vpc_id              = aws_vpc.apps.id
  service_name        = "com.amazonaws.us-east-1.sqs"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [aws_subnet.apps[0].id]
  security_group_ids  = [aws_security_group.app.id]
  private_dns_enabled = true
  tags                = { Name = "sqs" }
}

# --- security groups and their three rule spellings -------------------------------------------
resource "aws_security_group" "web" {
  name        = "web"
  description = "web tier"
  vpc_id      = module.net.vpc_id
  tags        = { Name = "web", tier = "frontend" }
  ingress {
    description      = "https"
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["10.0.0.0/8", "192.168.0.0/16"]
    ipv6_cidr_blocks = ["2001:db8::/32"]
  }
  ingress {
    description = "http"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
  ingress {
    from_port = 0
    to_port   = 0
    protocol  = "-1"
    self      = true
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group" "app" {
  name_prefix = "app-"
  description = "app tier"
  vpc_id      = module.net.vpc_id
  tags        = { Name = "app" }
}
resource "aws_security_group_rule" "app_in" {
  for_each          = { http = 80, alt = 8080 }
  type              = "ingress"
  from_port         = each.value
  to_port           = each.value
  protocol          = "tcp"
  cidr_blocks       = ["10.2.0.0/16"]
  security_group_id = aws_security_group.app.id
  description       = "from ${each.key}"
}
resource "aws_security_group_rule" "app_from_db" {
  type                     = "ingress"
  from_port                = 5432
  to_port                  = 5432
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.db.id
  security_group_id        = aws_security_group.app.id
}
resource "aws_security_group_rule" "app_out" {
  type              = "egress"
  from_port         = 0
  to_port           = 0
  protocol          = "-1"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.app.id
}
resource "aws_security_group" "db" {
  name   = "db"
  vpc_id = module.net.vpc_id
}
resource "aws_vpc_security_group_ingress_rule" "db_in" {
  count             = 2
  security_group_id = aws_security_group.db.id
  cidr_ipv4         = "10.${count.index + 3}.0.0/16"
  from_port         = 5432
  ip_protocol       = "tcp"
  to_port           = 5432
  description       = "pg ${count.index}"
  tags              = { Name = "db-in-${count.index}" }
}
resource "aws_vpc_security_group_ingress_rule" "db_from_app" {
  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = aws_security_group.app.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}
resource "aws_vpc_security_group_egress_rule" "db_out" {
  security_group_id = aws_security_group.db.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}
resource "aws_security_group" "svc" {
  name   = "svc"
  vpc_id = aws_vpc.apps.id
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

# --- compute ----------------------------------------------------------------------------------
resource "aws_key_pair" "k" {
  count      = 2
  key_name   = "key-${count.index}"
  public_key = count.index == 0 ? local.rsa_key : local.ed_key
  tags       = { idx = tostring(count.index) }
}
resource "aws_instance" "web" {
  count                  = 2
  ami                    = "ami-12c6146b"
  instance_type          = count.index == 0 ? "t3.micro" : "t3.small"
  subnet_id              = module.net.subnet_ids["a"]
  vpc_security_group_ids = [aws_security_group.web.id]
  key_name               = aws_key_pair.k[0].key_name
  user_data              = "#!/bin/sh\necho hi"
  tags                   = { Name = "web-${count.index}", env = "golden" }
}
resource "aws_instance" "worker" {
  ami                     = "ami-1e749f67"
  instance_type           = "m5.large"
  subnet_id               = aws_subnet.apps[0].id
  disable_api_termination = true
  root_block_device {
    volume_size = 20
    volume_type = "gp3"
  }
  metadata_options {
    http_tokens = "required"
  }
  tags = { Name = "worker" }
}
resource "aws_ebs_volume" "data" {
  for_each          = { a = 10, b = 20 }
  availability_zone = "us-east-1a"
  size              = each.value
  type              = each.key == "a" ? "gp3" : "gp2"
  tags              = { Name = "data-${each.key}" }
}
resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdh"
  volume_id   = aws_ebs_volume.data["a"].id
  instance_id = aws_instance.web[0].id
}
resource "aws_launch_template" "web" {
  name                   = "lt-web"
  image_id               = "ami-12c6146b"
  instance_type          = "t3.micro"
  description            = "web template"
  key_name               = aws_key_pair.k[1].key_name
  vpc_security_group_ids = [aws_security_group.web.id]
  tags                   = { team = "a" }
}
resource "aws_launch_template" "batch" {
  name          = "lt-batch"
  image_id      = "ami-12c6146b"
  instance_type = "t3.small"
  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
}
resource "aws_autoscaling_group" "web" {
  name                      = "web-asg"
  min_size                  = 1
  max_size                  = 3
  desired_capacity          = 1
  vpc_zone_identifier       = [module.net.subnet_ids["b"]]
  health_check_grace_period = 120
  launch_template {
    id      = aws_launch_template.web.id
    version = "$Latest"
  }
  tag {
    key                 = "role"
    value               = "web"
    propagate_at_launch = true
  }
}
resource "aws_autoscaling_group" "idle" {
  name                = "idle-asg"
  min_size            = 0
  max_size            = 1
  desired_capacity    = 0
  vpc_zone_identifier = [aws_subnet.apps[0].id]
  launch_template {
    name = aws_launch_template.batch.name
  }
}

# --- IAM --------------------------------------------------------------------------------------
resource "aws_iam_role" "svc" {
  for_each           = local.assume
  name               = "golden-${each.key}"
  assume_role_policy = each.value
  tags               = { svc = each.key }
}
resource "aws_iam_role" "app" {
  name                 = "golden-app"
  path                 = "/app/"
  description          = "application role"
  max_session_duration = 7200
  assume_role_policy   = local.assume["ec2"]
  permissions_boundary = aws_iam_policy.boundary.arn
}
resource "aws_iam_policy" "read" {
  count       = 2
  name        = "read-${count.index}"
  path        = "/app/"
  description = "read bucket ${count.index}"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "Read"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:ListBucket"]
      Resource = ["arn:aws:s3:::golden-${count.index}", "arn:aws:s3:::golden-${count.index}/*"]
    }]
  })
  tags = { idx = tostring(count.index) }
}
resource "aws_iam_policy" "boundary" {
  name = "boundary"
  policy = jsonencode({
    Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}
resource "aws_iam_role_policy_attachment" "app" {
  for_each   = { r0 = aws_iam_policy.read[0].arn, r1 = aws_iam_policy.read[1].arn }
  role       = aws_iam_role.app.name
  policy_arn = each.value
}
resource "aws_iam_role_policy_attachment" "lambda" {
  role       = aws_iam_role.svc["lambda"].name
  policy_arn = aws_iam_policy.read[0].arn
}
resource "aws_iam_role_policy" "inline" {
  for_each = toset(["logs", "sqs"])
  name     = "inline-${each.key}"
  role     = aws_iam_role.svc["lambda"].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["${each.key}:Get*", "${each.key}:List*"], Resource = "*" }]
  })
}
resource "aws_iam_user" "u" {
  for_each = toset(["alice", "bob", "carol"])
  name     = each.key
  path     = "/people/"
  tags     = { owner = each.key }
}
resource "aws_iam_group" "g" {
  count = 2
  name  = "group-${count.index}"
  path  = count.index == 0 ? "/teams/" : "/"
}
resource "aws_iam_instance_profile" "app" {
  name = "profile-app"
  role = aws_iam_role.app.name
}
resource "aws_iam_instance_profile" "empty" {
  name = "profile-empty"
}

# --- containers and functions ----------------------------------------------------------------
resource "aws_lambda_function" "fn" {
  for_each      = { api = 256, worker = 512 }
  function_name = "fn-${each.key}"
  role          = aws_iam_role.svc["lambda"].arn
  handler       = "index.handler"
  runtime       = "python3.12"
  filename      = "${path.module}/fn.zip"
  memory_size   = each.value
  timeout       = 30
  description   = "function ${each.key}"
  environment {
    variables = { STAGE = "golden", NAME = each.key }
  }
  tags = { fn = each.key }
}
resource "aws_ecs_cluster" "c" {
  count = 2
  name  = "cluster-${count.index}"
  setting {
    name  = "containerInsights"
    value = count.index == 0 ? "enabled" : "disabled"
  }
  tags = { idx = tostring(count.index) }
}
resource "aws_ecs_task_definition" "web" {
  family                   = "web"
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = "256"
  memory                   = "512"
  container_definitions = jsonencode([{
    name         = "web"
    image        = "nginx:1.25"
    essential    = true
    portMappings = [{ containerPort = 80, protocol = "tcp" }]
    environment  = [{ name = "B", value = "2" }, { name = "A", value = "1" }]
  }])
  tags = { app = "web" }
}
resource "aws_ecs_task_definition" "job" {
  family = "job"
  container_definitions = jsonencode([
    { name = "app", image = "busybox", memory = 128, command = ["sleep", "3600"] },
  ])
}
resource "aws_ecs_service" "svc" {
  for_each        = { web = 0, api = 1 }
  name            = each.key
  cluster         = aws_ecs_cluster.c[each.value].id
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = each.value + 1
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = [for s in aws_subnet.apps : s.id]
    security_groups  = [aws_security_group.svc.id]
    assign_public_ip = each.key == "web"
  }
  tags = { svc = each.key }
}
resource "aws_eks_cluster" "k" {
  name     = "golden-k8s"
  role_arn = aws_iam_role.svc["eks"].arn
  version  = "1.29"
  vpc_config {
    subnet_ids = [for s in aws_subnet.apps : s.id]
  }
  tags = { env = "golden" }
}
resource "aws_ecr_repository" "r" {
  for_each             = toset(["api", "worker"])
  name                 = "repo-${each.key}"
  image_tag_mutability = each.key == "api" ? "IMMUTABLE" : "MUTABLE"
  image_scanning_configuration {
    scan_on_push = each.key == "api"
  }
  tags = { repo = each.key }
}

# --- load balancing ---------------------------------------------------------------------------
resource "aws_security_group" "lb" {
  name   = "lb"
  vpc_id = module.net.vpc_id
}
resource "aws_lb" "alb" {
  name            = "golden-alb"
  internal        = true
  subnets         = values(module.net.subnet_ids)
  security_groups = [aws_security_group.lb.id]
  idle_timeout    = 120
  tags            = { lb = "alb" }
}
resource "aws_lb" "nlb" {
  name               = "golden-nlb"
  load_balancer_type = "network"
  subnets            = values(module.net.subnet_ids)
}
resource "aws_lb_target_group" "web" {
  for_each    = { blue = 8080, green = 8081 }
  name        = "tg-${each.key}"
  port        = each.value
  protocol    = "HTTP"
  vpc_id      = module.net.vpc_id
  target_type = "ip"
  health_check {
    path     = "/health"
    interval = 15
    matcher  = "200-299"
  }
  tags = { color = each.key }
}
resource "aws_lb_target_group" "tcp" {
  name                 = "tg-tcp"
  port                 = 443
  protocol             = "TCP"
  vpc_id               = module.net.vpc_id
  deregistration_delay = 30
}
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.alb.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web["blue"].arn
  }
  tags = { listener = "http" }
}
resource "aws_lb_listener" "fixed" {
  load_balancer_arn = aws_lb.alb.arn
  port              = 8080
  protocol          = "HTTP"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "nope"
      status_code  = "404"
    }
  }
}
resource "aws_lb_listener" "tcp" {
  load_balancer_arn = aws_lb.nlb.arn
  port              = 443
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.tcp.arn
  }
}

# --- S3 ---------------------------------------------------------------------------------------
resource "aws_s3_bucket" "data" {
  for_each = toset(["alpha", "beta"])
  bucket   = "golden-data-${each.key}"
  tags     = { env = "golden", name = each.key }
}
resource "aws_s3_bucket" "logs" {
  bucket        = "golden-logs"
  force_destroy = true
}
resource "aws_s3_bucket_versioning" "data" {
  for_each = aws_s3_bucket.data
  bucket   = each.value.id
  versioning_configuration {
    status = each.key == "alpha" ? "Enabled" : "Suspended"
  }
}
resource "aws_s3_bucket_policy" "alpha" {
  bucket = aws_s3_bucket.data["alpha"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecure"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.data["alpha"].arn, "${aws_s3_bucket.data["alpha"].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
resource "aws_s3_bucket_public_access_block" "data" {
  for_each                = aws_s3_bucket.data
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = each.key == "alpha"
  restrict_public_buckets = false
}
resource "aws_s3_bucket_server_side_encryption_configuration" "alpha" {
  bucket = aws_s3_bucket.data["alpha"].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.k["app"].arn
    }
    bucket_key_enabled = true
  }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default { sse_algorithm = "AES256" }
  }
}
resource "aws_s3_bucket_lifecycle_configuration" "alpha" {
  bucket = aws_s3_bucket.data["alpha"].id
  rule {
    id     = "logs"
    status = "Enabled"
    filter { prefix = "logs/" }
    expiration { days = 90 }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
  }
}
resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "all"
    status = "Enabled"
    filter {}
    expiration { days = 365 }
  }
}

# --- databases --------------------------------------------------------------------------------
resource "aws_db_subnet_group" "main" {
  name        = "golden-db"
  description = "golden subnets"
  subnet_ids  = [for s in aws_subnet.apps : s.id]
  tags        = { env = "golden" }
}
resource "aws_db_instance" "pg" {
  identifier              = "golden-pg"
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "db.t3.micro"
  allocated_storage       = 20
  db_name                 = "app"
  username                = "dbadmin"
  password                = "Sup3rSecret!"
  db_subnet_group_name    = aws_db_subnet_group.main.name
  vpc_security_group_ids  = [aws_security_group.svc.id]
  backup_retention_period = 7
  skip_final_snapshot     = true
  tags                    = { env = "golden" }
}
resource "aws_rds_cluster" "aurora" {
  count                   = 2
  cluster_identifier      = "golden-aurora-${count.index}"
  engine                  = "aurora-postgresql"
  engine_version          = "15.4"
  master_username         = "dbadmin"
  master_password         = "Sup3rSecret!"
  db_subnet_group_name    = aws_db_subnet_group.main.name
  backup_retention_period = 3 + count.index
  skip_final_snapshot     = true
  tags                    = { idx = tostring(count.index) }
}
resource "aws_dynamodb_table" "orders" {
  name         = "golden-orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"
  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  tags = { env = "golden" }
}
resource "aws_dynamodb_table" "counters" {
  name           = "golden-counters"
  billing_mode   = "PROVISIONED"
  read_capacity  = 5
  write_capacity = 3
  hash_key       = "id"
  attribute {
    name = "id"
    type = "N"
  }
}
resource "aws_elasticache_cluster" "redis" {
  cluster_id      = "golden-redis"
  engine          = "redis"
  engine_version  = "7.0"
  node_type       = "cache.t3.micro"
  num_cache_nodes = 1
  port            = 6379
  tags            = { env = "golden" }
}
resource "aws_elasticache_cluster" "memcached" {
  cluster_id      = "golden-memcached"
  engine          = "memcached"
  engine_version  = "1.6.17"
  node_type       = "cache.t3.small"
  num_cache_nodes = 2
  port            = 11211
}

# --- messaging --------------------------------------------------------------------------------
resource "aws_sqs_queue" "dlq" {
  name                      = "golden-dlq"
  message_retention_seconds = 1209600
  tags                      = { role = "dlq" }
}
resource "aws_sqs_queue" "work" {
  count                      = 2
  name                       = "golden-work-${count.index}"
  visibility_timeout_seconds = 45
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 4
  })
  tags = { Name = "work-${count.index}" }
}
resource "aws_sqs_queue" "events" {
  name = "golden-events"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FromSns"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = ["sqs:SendMessage", "sqs:GetQueueUrl"]
      Resource  = "*"
    }]
  })
}
resource "aws_sns_topic" "t" {
  for_each     = toset(["alerts", "audit"])
  name         = "golden-${each.key}"
  display_name = "Golden ${each.key}"
  tags         = { team = each.key }
}
resource "aws_sns_topic_subscription" "work" {
  count                = 2
  topic_arn            = aws_sns_topic.t["alerts"].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.work[count.index].arn
  raw_message_delivery = count.index == 0
}
resource "aws_sns_topic_subscription" "mail" {
  topic_arn = aws_sns_topic.t["audit"].arn
  protocol  = "email"
  endpoint  = "ops@example.com"
}

# --- keys, secrets, parameters ------------------------------------------------------------------
resource "aws_kms_key" "k" {
  for_each                = { app = 7, logs = 10 }
  description             = "key ${each.key}"
  deletion_window_in_days = each.value
  enable_key_rotation     = each.key == "app"
  tags                    = { Name = "key-${each.key}" }
}
resource "aws_kms_alias" "a" {
  for_each      = aws_kms_key.k
  name          = "alias/golden-${each.key}"
  target_key_id = each.value.key_id
}
resource "aws_secretsmanager_secret" "s" {
  count                   = 2
  name                    = "golden/secret-${count.index}"
  description             = "secret ${count.index}"
  recovery_window_in_days = 0
  kms_key_id              = count.index == 1 ? aws_kms_key.k["app"].arn : null
  tags                    = { idx = tostring(count.index) }
}
resource "aws_ssm_parameter" "p" {
  for_each    = { plain = "String", list = "StringList", secure = "SecureString" }
  name        = "/golden/${each.key}"
  type        = each.value
  value       = each.key == "list" ? "a,b,c" : "value-${each.key}"
  description = "param ${each.key}"
  tags        = { kind = each.key }
}

# --- monitoring and DNS -----------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "app" {
  count             = 2
  name              = "/golden/app-${count.index}"
  retention_in_days = count.index == 0 ? 14 : 0
  tags              = { idx = tostring(count.index) }
}
resource "aws_cloudwatch_log_group" "enc" {
  name       = "/golden/encrypted"
  kms_key_id = aws_kms_key.k["logs"].arn
}
resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "golden-cpu-high"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 2
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 120
  statistic           = "Average"
  threshold           = 80
  alarm_description   = "cpu"
  alarm_actions       = [aws_sns_topic.t["alerts"].arn]
  dimensions          = { InstanceId = aws_instance.web[0].id }
  tags                = { env = "golden" }
}
resource "aws_cloudwatch_metric_alarm" "queue" {
  alarm_name          = "golden-queue-depth"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "ApproximateNumberOfMessagesVisible"
  namespace           = "AWS/SQS"
  period              = 60
  statistic           = "Maximum"
  threshold           = 10
  dimensions          = { QueueName = aws_sqs_queue.work[0].name }
}
resource "aws_cloudwatch_metric_alarm" "error_rate" {
  alarm_name          = "golden-error-rate"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 3
  threshold           = 5
  metric_query {
    id          = "e1"
    expression  = "m1 * 100"
    label       = "rate"
    return_data = true
  }
  metric_query {
    id = "m1"
    metric {
      metric_name = "Errors"
      namespace   = "AWS/Lambda"
      period      = 300
      stat        = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.fn["api"].function_name }
    }
  }
}
resource "aws_route53_zone" "pub" {
  name    = "golden-example.com"
  comment = "public zone"
  tags    = { env = "golden" }
}
resource "aws_route53_zone" "internal" {
  name = "internal.golden"
}
resource "aws_route53_record" "www" {
  zone_id = aws_route53_zone.pub.zone_id
  name    = "www.golden-example.com"
  type    = "A"
  ttl     = 300
  records = ["192.0.2.10", "192.0.2.11"]
}
resource "aws_route53_record" "txt" {
  zone_id = aws_route53_zone.pub.zone_id
  name    = "golden-example.com"
  type    = "TXT"
  ttl     = 60
  records = ["v=spf1 -all"]
}
resource "aws_route53_record" "weighted" {
  for_each       = { blue = 80, green = 20 }
  zone_id        = aws_route53_zone.pub.zone_id
  name           = "api.golden-example.com"
  type           = "CNAME"
  ttl            = 30
  records        = ["${each.key}.golden-example.com"]
  set_identifier = each.key
  weighted_routing_policy {
    weight = each.value
  }
}
resource "aws_route53_record" "db" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "db.internal.golden"
  type    = "CNAME"
  ttl     = 300
  records = ["golden-pg.internal.golden"]
}
