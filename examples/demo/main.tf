terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
    ec2 = "http://127.0.0.1:5599"
    s3  = "http://127.0.0.1:5599"
    iam = "http://127.0.0.1:5599"
    sts = "http://127.0.0.1:5599"
  }
}
module "network" {
  source = "./network"
}
resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = module.network.vpc_id
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { env = "demo" }
}
data "aws_ami" "base" {
  most_recent = true
  owners      = ["amazon"]
}
resource "aws_instance" "web" {
  count                  = 2
  ami                    = data.aws_ami.base.id
  instance_type          = "t3.micro"
  subnet_id              = module.network.subnet_ids["a"]
  vpc_security_group_ids = [aws_security_group.web.id]
  tags                   = { Name = "web-${count.index}", env = "demo" }
}
resource "aws_s3_bucket" "logs" {
  bucket = "driftmgr-demo-logs"
  tags   = { env = "demo" }
}
resource "aws_iam_role" "app" {
  name = "demo-app"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}
output "web_ips" { value = aws_instance.web[*].private_ip }
output "db_password" {
  value     = "demo-not-a-secret"
  sensitive = true
}
